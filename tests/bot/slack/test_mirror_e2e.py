"""Customer messages become a card + thread replies; staff replies in the thread go out
after the undo window; notes never leave Slack."""

import json
from datetime import timedelta

import pytest

from core.model import DeliveryStatus, MessageKind
from tests.bot.slack.harness import ANA, INBOX
from threadline.integrations._sending import send_handlers

pytestmark = pytest.mark.usefixtures("h")


@pytest.fixture
def sent(h):
    """A recording channel bridge for WhatsApp sends, through the standard send path."""
    out = []

    async def send(ctx):
        out.append(ctx.message.body)
        return f"wamid.out{len(out)}"

    handle, failed = send_handlers(h.inbox, "whatsapp_cloud", send)
    h.runtime.dispatcher.register("send:whatsapp_cloud", handle, failed)
    return out


def text_of(message) -> str:
    import json

    return json.dumps(message.blocks or []) + (message.text or "")


async def staff_says(h, thread_ts: str, text: str, user: str = ANA, **kw):
    event = h.req.message_event(INBOX, text, user=user, thread_ts=thread_ts, **kw)
    response = await h.post(h.req.event(event))
    assert response.status_code == 200, response.text
    return event


async def test_inbound_message_posts_a_card_and_a_thread_reply(h):
    r = await h.customer_writes("Hola <!channel> <@U123> ¿mi pedido?")
    card = h.card(r.conversation_id)
    assert "Lucía" in text_of(card) and "+34600111222" in text_of(card)
    (reply,) = h.slack.thread_replies(INBOX, card.ts)
    assert reply.username == "Lucía"
    assert "<!channel>" not in text_of(reply) and "<@U123>" not in text_of(reply)
    assert "&lt;!channel&gt;" in text_of(reply)  # escaped: shown, never pings anyone
    await h.customer_writes("otra cosa")
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 2
    assert len(h.slack.parents_in(INBOX)) == 1  # one card per conversation


async def test_thread_reply_is_sent_only_after_the_undo_window(h, sent):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    event = await staff_says(h, card.ts, "Sale mañana, <https://track.example/1|sigue el envío>")

    async def queued():
        thread = await h.inbox.thread(r.conversation_id)
        return len(thread) == 2 and thread[-1]

    reply = await h.wait(queued)
    assert reply.body == "Sale mañana, sigue el envío (https://track.example/1)"
    await h.drain()
    assert sent == []  # still inside the undo window
    status = [m for m in h.slack.thread_replies(INBOX, card.ts)
              if "To the customer in" in text_of(m)]
    assert len(status) == 1 and "tl_undo_send" in text_of(status[0])
    h.advance(10)
    await h.drain()
    assert sent == ["Sale mañana, sigue el envío (https://track.example/1)"]
    assert (await h.inbox.message(reply.id)).delivery_status is DeliveryStatus.SENT
    assert "Sent" in text_of(h.slack.message(INBOX, status[0].ts))
    assert "outbox_tray" in h.slack.reactions_on(INBOX, event["ts"])
    # a redelivery of the same event never sends twice
    await h.post(h.req.event(event))
    h.advance(20)
    await h.drain()
    assert len(sent) == 1


async def test_undo_and_make_it_a_note(h, sent):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    for text, action in (("oops", "tl_undo_send"), ("keep this", "tl_make_note")):
        await staff_says(h, card.ts, text)
        reply = await h.wait(lambda t=text: _last_out(h, r.conversation_id, t))
        await h.drain()
        click = h.req.block_actions(h.req.action(action, value=str(reply.id)), user=ANA,
                                    channel=INBOX, message_ts=card.ts, thread_ts=card.ts)
        assert (await h.post(click)).status_code == 200
        await h.wait(lambda r=reply: _is_note(h, r.id))
    h.advance(30)
    await h.drain()
    assert sent == []
    thread = {m.body: m for m in await h.inbox.thread(r.conversation_id)}
    assert thread["oops"].meta.get("withdrawn") is True
    assert thread["keep this"].kind is MessageKind.NOTE
    lines = [text_of(m) for m in h.slack.thread_replies(INBOX, card.ts)]
    assert any("Withdrawn" in t for t in lines) and any("Internal note" in t for t in lines)


async def test_edit_during_the_window_changes_what_is_sent(h, sent):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    event = await staff_says(h, card.ts, "precio 10€")
    await h.wait(lambda: _last_out(h, r.conversation_id, "precio 10€"))
    edit = h.req.message_changed_event(INBOX, event["ts"], "precio 12€", user=ANA,
                                       thread_ts=card.ts)
    await h.post(h.req.event(edit))
    await h.wait(lambda: _last_out(h, r.conversation_id, "precio 12€"))
    h.advance(11)
    await h.drain()
    assert sent == ["precio 12€"]


async def test_note_prefix_stays_in_slack(h, sent):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    await staff_says(h, card.ts, "note: VIP, call them back")
    note = await h.wait(lambda: _last_out(h, r.conversation_id, "VIP, call them back"))
    assert note.kind is MessageKind.NOTE
    h.advance(60)
    await h.drain()
    assert sent == []


async def test_outside_the_whatsapp_window_the_thread_explains_and_offers_templates(h, sent):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    h.clock.advance(timedelta(hours=25))
    await staff_says(h, card.ts, "¿sigues ahí?")
    await h.wait(lambda: any("24" in text_of(m) and "tl_template_open" in text_of(m)
                             for m in h.slack.thread_replies(INBOX, card.ts)))
    assert len(await h.inbox.thread(r.conversation_id)) == 1  # nothing queued


async def test_top_level_and_unknown_thread_messages_are_ignored(h):
    r = await h.customer_writes()
    await staff_says(h, "1700000000.999999", "not a conversation")
    await h.post(h.req.event(h.req.message_event(INBOX, "channel chatter", user=ANA)))
    await h.post(h.req.event(h.req.bot_message_event(INBOX, "echo", thread_ts=h.card(
        r.conversation_id).ts)))
    await h.drain()
    assert len(await h.inbox.thread(r.conversation_id)) == 1


async def _last_out(h, conv_id, body):
    thread = await h.inbox.thread(conv_id)
    return next((m for m in reversed(thread) if m.body == body), None)


async def _is_note(h, message_id):
    return (await h.inbox.message(message_id)).kind is MessageKind.NOTE


async def test_a_burst_is_coalesced_in_order_and_each_message_mapped(h):
    h.slack.set_down(True)
    first = await h.customer_writes("m0")
    for n in range(1, 7):
        await h.customer_writes(f"m{n}")
    h.slack.set_down(False)
    for _ in range(10):
        h.advance(60)
        await h.drain()
    card = h.card(first.conversation_id)
    replies = h.slack.thread_replies(INBOX, card.ts)
    assert len(replies) == 2  # at most 5 customer messages per post
    text = " ".join(text_of(m) for m in replies)
    positions = [text.find(f"m{n}") for n in range(7)]
    assert -1 not in positions and positions == sorted(positions)
    links = await h.inbox.links_of(first.conversation_id, "slack:msg")
    assert len({link.message_id for link in links}) == 7


async def test_customer_reactions_show_on_the_mirrored_messages(h, sent):
    r = await h.customer_writes("gracias")
    card = h.card(r.conversation_id)
    await h.inbox.react("whatsapp_cloud", "wamid.t1", "👍", "+34600111222")
    await h.drain()
    (reply,) = h.slack.thread_replies(INBOX, card.ts)
    assert "Customer reacted 👍" in json.dumps(h.slack.message(INBOX, reply.ts).blocks,
                                               ensure_ascii=False)
    await staff_says(h, card.ts, "¡De nada!")
    out = await h.wait(lambda: _last_out(h, r.conversation_id, "¡De nada!"))
    h.advance(11)
    await h.drain()  # sent as wamid.out1
    await h.inbox.react("whatsapp_cloud", "wamid.out1", "❤️", "+34600111222")
    await h.drain()
    status = [m for m in h.slack.thread_replies(INBOX, card.ts) if "Sent" in text_of(m)]
    assert len(status) == 1 and "Customer reacted ❤️" in json.dumps(status[0].blocks,
                                                                    ensure_ascii=False)
    assert out.id
