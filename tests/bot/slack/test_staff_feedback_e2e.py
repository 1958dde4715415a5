"""Staff always see what became of what they wrote, also when it could not be sent."""

import json

from core.inbound import InboundMessage
from core.model import Channel
from tests.bot.slack.harness import ANA, INBOX


def told(h, words: str) -> bool:
    return any(words in json.dumps(e["args"], ensure_ascii=False)
               for e in h.slack.ephemerals_for(ANA))


async def test_a_file_slack_will_not_hand_over_is_said_and_nothing_is_sent(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    shared = h.slack.add_file(b"%PDF quote", "quote.pdf", mimetype="application/pdf", user=ANA)
    h.slack.fail_next("download", status=500)
    event = h.req.message_event(INBOX, "here is your quote", user=ANA, thread_ts=card.ts,
                                files=[shared.to_api()])
    assert (await h.post(h.req.event(event))).status_code == 200
    await h.wait(lambda: told(h, "could not take your file"))
    h.advance(60)
    await h.drain()
    assert h.outgoing == [] and len(await h.inbox.thread(r.conversation_id)) == 1


async def test_a_file_from_elsewhere_is_refused_not_dropped(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    foreign = {"id": "F1", "name": "x.png", "url_private": "https://evil.example/x.png",
               "mimetype": "image/png", "size": 3}
    event = h.req.message_event(INBOX, "mira", user=ANA, thread_ts=card.ts, files=[foreign])
    await h.post(h.req.event(event))
    await h.wait(lambda: told(h, "not on Slack's file servers"))
    assert h.outgoing == []


async def test_a_reply_on_an_account_that_cannot_send_is_refused_with_the_reason(h):
    h.runtime.dispatcher.unregister(["send:email"])  # the mailbox is not configured
    r = await h.runtime.receive(InboundMessage(
        channel=Channel.EMAIL, account="mail", provider="email", provider_message_id="<a@x>",
        sender="ana@example.com", body="hello", subject="Quote", received_at=h.clock.now()))
    await h.drain()
    card = h.card(r.conversation_id)
    event = h.req.message_event(INBOX, "Your quote is attached", user=ANA, thread_ts=card.ts)
    await h.post(h.req.event(event))
    await h.wait(lambda: told(h, "cannot send"))
    assert len(await h.inbox.thread(r.conversation_id)) == 1  # nothing waits forever


async def test_a_failed_reply_can_be_sent_again_from_its_marker(hw, graph):
    from tests.fakes.graph_api import graph_error

    r = await hw.customer_writes()
    card = hw.card(r.conversation_id)
    graph.fail(graph_error(131026, "Message undeliverable"), "/messages")
    event = hw.req.message_event(INBOX, "¿Sigue ahí?", user=ANA, thread_ts=card.ts)
    await hw.post(hw.req.event(event))

    async def reply():
        return next((m for m in await hw.inbox.thread(r.conversation_id)
                     if m.body == "¿Sigue ahí?"), None)
    message = await hw.wait(reply)
    hw.advance(11)
    await hw.drain()
    assert (await hw.inbox.message(message.id)).delivery_status.value == "failed"
    marker = next(m for m in hw.slack.thread_replies(INBOX, card.ts)
                  if "tl_retry_send" in json.dumps(m.blocks or []))
    click = hw.req.block_actions(hw.req.action("tl_retry_send", value=str(message.id)),
                                 user=ANA, channel=INBOX, message_ts=marker.ts,
                                 thread_ts=card.ts)
    assert (await hw.post(click)).status_code == 200

    async def sent():
        await hw.drain()
        return (await hw.inbox.message(message.id)).delivery_status.value == "sent"
    await hw.wait(sent)
    bodies = [rec.json().get("text", {}).get("body") for rec in graph.of("POST", "/messages")]
    assert bodies == ["¿Sigue ahí?", "¿Sigue ahí?"]  # refused once, then delivered
    assert "Sent" in json.dumps(hw.slack.message(INBOX, marker.ts).blocks)
