"""Every way internal text used to reach a customer, tried end to end: signed Slack events
into the app, the real Meta bridge sending to a fake Graph API on a socket. The fake Graph
API's record of POST /messages is what the customer would have received."""

import json

import pytest

from core.model import DeliveryStatus, MessageKind
from tests.bot.slack.harness import ANA, BOB, INBOX

SECRET_NOTE = "customer is a known fraudster"


def delivered(graph) -> list[str]:
    """Texts the customer received (each POST /messages body)."""
    out = []
    for rec in graph.of("POST", "/messages"):
        body = rec.json()
        out.append((body.get("text") or {}).get("body") or json.dumps(body))
    return out


def text_of(message) -> str:
    return json.dumps(message.blocks or [], ensure_ascii=False) + (message.text or "")


async def conversation(h):
    r = await h.customer_writes()
    return r.conversation_id, h.card(r.conversation_id)


async def say(h, card, text, user=ANA, **kw):
    event = h.req.message_event(INBOX, text, user=user, thread_ts=card.ts, **kw)
    assert (await h.post(h.req.event(event))).status_code == 200
    return event


async def edit(h, card, event, new_text, old_text):
    changed = h.req.message_changed_event(INBOX, event["ts"], new_text, user=ANA,
                                          previous_text=old_text, thread_ts=card.ts)
    assert (await h.post(h.req.event(changed))).status_code == 200


async def stored(h, conv_id, body):
    async def find():
        return next((m for m in await h.inbox.thread(conv_id) if m.body == body), None)
    return await h.wait(find)


async def after_the_window(h):
    await h.drain()
    h.advance(60)
    await h.drain()


def marker(h, card, message_id):
    """The bot's line under a staff message ("→ to customer…" or "🔒 internal")."""
    for m in h.slack.thread_replies(INBOX, card.ts):
        if any(b.get("block_id") == f"send:{message_id}" for b in m.blocks or []):
            return text_of(m)
    raise AssertionError(f"no marker under message {message_id}")


async def test_a_plain_reply_reaches_the_customer(hw, graph):
    conv_id, card = await conversation(hw)
    await say(hw, card, "Tu pedido sale mañana")
    reply = await stored(hw, conv_id, "Tu pedido sale mañana")
    await hw.drain()
    assert "To the customer in 10 s" in marker(hw, card, reply.id)
    await after_the_window(hw)
    assert delivered(graph) == ["Tu pedido sale mañana"]


async def test_mentioning_the_bot_runs_the_command_and_sends_nothing(hw, graph):
    conv_id, card = await conversation(hw)
    text = f"{hw.req.mention()} note {SECRET_NOTE}"
    # Slack sends both events for one message: a message and an app_mention.
    event = await say(hw, card, text)
    mention = hw.req.app_mention_event(INBOX, text, user=ANA, ts=event["ts"],
                                       thread_ts=card.ts)
    assert (await hw.post(hw.req.event(mention))).status_code == 200
    note = await stored(hw, conv_id, SECRET_NOTE)
    assert note.kind is MessageKind.NOTE
    await hw.wait(lambda: "white_check_mark" in hw.slack.reactions_on(INBOX, event["ts"]))
    await after_the_window(hw)
    assert delivered(graph) == []
    assert [m.body for m in await hw.inbox.thread(conv_id) if m.author.type == "agent"] == [
        SECRET_NOTE]
    assert "Internal note" in marker(hw, card, note.id)


async def test_colleague_chatter_is_held_until_someone_sends_it_on_purpose(hw, graph):
    conv_id, card = await conversation(hw)
    await say(hw, card, f"<@{BOB}> can you check the refund policy?")
    held = await stored(hw, conv_id, "@Bob Builder can you check the refund policy?")
    await after_the_window(hw)
    assert delivered(graph) == [] and held.kind is MessageKind.NOTE
    line = marker(hw, card, held.id)
    assert "mentions a colleague" in line and "tl_send_held" in line
    click = hw.req.block_actions(hw.req.action("tl_send_held", value=str(held.id)), user=ANA,
                                 channel=INBOX, message_ts=card.ts, thread_ts=card.ts)
    assert (await hw.post(click)).status_code == 200

    async def queued():
        return (await hw.inbox.message(held.id)).delivery_status is DeliveryStatus.QUEUED
    await hw.wait(queued)
    await after_the_window(hw)
    assert delivered(graph) == ["@Bob Builder can you check the refund policy?"]


@pytest.mark.parametrize("text", [
    "*note:* refund denied", "_note:_ refund denied", "*note: refund denied*",
    "&gt; note: refund denied", "NOTE: refund denied", "nota: refund denied",
])
async def test_a_formatted_note_prefix_is_still_a_note(hw, graph, text):
    conv_id, card = await conversation(hw)
    await say(hw, card, text)
    note = await stored(hw, conv_id, "refund denied")
    await after_the_window(hw)
    assert note.kind is MessageKind.NOTE and delivered(graph) == []
    assert "Internal note" in marker(hw, card, note.id)


async def test_editing_a_queued_reply_into_a_note_sends_nothing(hw, graph):
    conv_id, card = await conversation(hw)
    event = await say(hw, card, "Refund approved")
    reply = await stored(hw, conv_id, "Refund approved")
    await hw.drain()
    await edit(hw, card, event, "note: refund denied, he is lying", "Refund approved")
    await stored(hw, conv_id, "refund denied, he is lying")
    await after_the_window(hw)
    assert delivered(graph) == []
    assert (await hw.inbox.message(reply.id)).kind is MessageKind.NOTE
    assert "To the customer" not in marker(hw, card, reply.id)


async def test_editing_a_note_edits_the_note(hw, graph):
    conv_id, card = await conversation(hw)
    event = await say(hw, card, "note: check stock")
    note = await stored(hw, conv_id, "check stock")
    await edit(hw, card, event, "note: check stock in Madrid", "note: check stock")
    await stored(hw, conv_id, "check stock in Madrid")
    # editing it again so that it reads like a reply keeps it a note
    await edit(hw, card, event, "Hola, ya está en stock", "note: check stock in Madrid")
    await stored(hw, conv_id, "Hola, ya está en stock")
    await after_the_window(hw)
    assert delivered(graph) == []
    assert (await hw.inbox.message(note.id)).kind is MessageKind.NOTE
    assert not any("original text" in (e.get("text") or "")
                   for e in hw.slack.ephemerals_for(ANA))


async def test_a_file_shared_with_a_note_caption_stays_internal(hw, graph):
    conv_id, card = await conversation(hw)
    shared = hw.slack.add_file(b"\x89PNG damage", "damage.png", mimetype="image/png", user=ANA)
    await say(hw, card, "note: photo of the damage, do not share", files=[shared.to_api()])
    note = await stored(hw, conv_id, "photo of the damage, do not share")
    await after_the_window(hw)
    assert note.kind is MessageKind.NOTE and [a.filename for a in note.attachments] == [
        "damage.png"]
    assert delivered(graph) == [] and graph.of("POST", "/media") == []


async def test_a_thread_broadcast_is_for_the_team(hw, graph):
    conv_id, card = await conversation(hw)
    await say(hw, card, "Heads up: this one is escalated", subtype="thread_broadcast")
    held = await stored(hw, conv_id, "Heads up: this one is escalated")
    await after_the_window(hw)
    assert held.kind is MessageKind.NOTE and delivered(graph) == []
    assert "also sent to the channel" in marker(hw, card, held.id)


async def test_redelivered_events_are_answered_200_and_change_nothing(hw, graph):
    conv_id, card = await conversation(hw)
    event = hw.req.message_event(INBOX, "una vez", user=ANA, thread_ts=card.ts)
    first = hw.req.event(event, event_id="Ev0REDELIVER")
    assert (await hw.post(first)).status_code == 200
    await stored(hw, conv_id, "una vez")
    retry = hw.req.event(event, event_id="Ev0REDELIVER", retry_num=1)
    response = await hw.post(retry)
    assert response.status_code == 200, response.text
    await after_the_window(hw)
    assert delivered(graph) == ["una vez"]
