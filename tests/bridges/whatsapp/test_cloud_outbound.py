"""Sending through the fake Graph API: bodies recorded, bearer checked, errors mapped."""

from __future__ import annotations

import logging

import pytest

from core.delivery import PermanentError, RetryAfter, TransientError
from core.model import Actor, Attachment, Channel, DeliveryStatus, Template
from tests.bridges.whatsapp.conftest import bridge
from tests.bridges.whatsapp.helpers import Parts
from tests.bridges.whatsapp.payloads import PHONE_ID, T0
from tests.fakes.graph_api import Scripted, graph_error

AGENT = Actor.agent(1)


async def _conversation(runtime, account="wa", sender="+16505551234"):
    from core.inbound import InboundMessage

    result = await runtime.receive(InboundMessage(
        Channel.WHATSAPP, account, "whatsapp_cloud", f"wamid.in.{account}", sender, "hi", T0,
        sender_name="Sheena"))
    return result.conversation_id


async def _dispatch(runtime) -> None:
    await runtime.dispatcher.drain()


async def test_text_reply_is_sent_and_its_wamid_recorded(runtime, graph):
    conv = await _conversation(runtime)
    out = await runtime.inbox.reply(conv, "Yes, it comes in blue", AGENT)
    await _dispatch(runtime)
    [sent] = graph.of("POST", f"/{PHONE_ID}/messages")
    assert sent.headers["authorization"] == "Bearer EAAG-test-token"
    assert sent.json() == {"messaging_product": "whatsapp", "to": "16505551234",
                           "type": "text",
                           "text": {"body": "Yes, it comes in blue", "preview_url": False}}
    link = await runtime.inbox.find_link("whatsapp_cloud", "wamid.OUT0001")
    assert link.message_id == out.id
    [_, msg] = await runtime.inbox.thread(conv)
    assert msg.delivery_status is DeliveryStatus.SENT


async def test_media_is_uploaded_then_sent_with_caption(runtime, graph):
    conv = await _conversation(runtime)
    key = await runtime.files.put(b"%PDF-1.7 quote", "quote.pdf", "application/pdf")
    img = await runtime.files.put(b"\x89PNG...", "shot.png", "image/png")
    await runtime.inbox.reply(conv, "Here is the quote", AGENT, attachments=[
        Attachment("quote.pdf", "application/pdf", 14, key),
        Attachment("shot.png", "image/png", 7, img)])
    await _dispatch(runtime)
    uploads = graph.of("POST", f"/{PHONE_ID}/media")
    assert len(uploads) == 2
    fields = uploads[0].multipart()
    assert fields["file"] == ("quote.pdf", b"%PDF-1.7 quote")
    assert fields["messaging_product"][1] == b"whatsapp"
    assert fields["type"][1] == b"application/pdf"
    doc, image = [r.json() for r in graph.of("POST", f"/{PHONE_ID}/messages")]
    assert doc["type"] == "document"
    assert doc["document"] == {"id": "up1", "filename": "quote.pdf", "caption": "Here is the quote"}
    assert image["type"] == "image" and image["image"] == {"id": "up2"}
    # both parts are linked to the message: a status for the second part is applied too
    links = await runtime.inbox.links_of(conv, "whatsapp_cloud")
    sent_ids = [link.external_id for link in links if link.message_id is not None][-2:]
    assert len(set(sent_ids)) == 2
    from core.model import DeliveryStatus

    assert await runtime.inbox.record_delivery_by_provider_id(
        "whatsapp_cloud", sent_ids[1], DeliveryStatus.DELIVERED)


async def test_audio_goes_after_the_text(runtime, graph):
    conv = await _conversation(runtime)
    key = await runtime.files.put(b"OggS", "note.ogg", "audio/ogg")
    await runtime.inbox.reply(conv, "Listen", AGENT,
                              attachments=[Attachment("note.ogg", "audio/ogg", 4, key)])
    await _dispatch(runtime)
    text, audio = [r.json() for r in graph.of("POST", "/messages")]
    assert text["type"] == "text" and audio["type"] == "audio"
    assert audio["audio"] == {"id": "up1"}


async def test_template_send_orders_parameters(runtime, graph):
    await runtime.inbox.upsert_template(Template(
        "order_update (en_US)", Channel.WHATSAPP, "*Order {{header_1}}*\nHi {{1}}, order {{2}} "
        "ships today.\n[Track: https://shop.test/t/{{button_0_1}}]", ["1", "2", "header_1",
                                                                      "button_0_1"],
        provider_name="order_update", language="en_US", account="wa"), AGENT)
    conv, _ = await runtime.inbox.start_conversation(
        "wa", "+16505551234", AGENT, template_name="order_update (en_US)",
        values={"1": "Ana", "2": "A-42", "header_1": "A-42", "button_0_1": "A42"})
    await _dispatch(runtime)
    [sent] = graph.of("POST", "/messages")
    assert sent.json()["template"] == {
        "name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                            {"type": "text", "text": "A-42"}]},
            {"type": "button", "sub_type": "url", "index": "0",
             "parameters": [{"type": "text", "text": "A42"}]}]}


async def test_second_number_uses_its_own_token_and_graph(runtime, graph, graph2):
    conv = await _conversation(runtime, account="wa2")
    await runtime.inbox.reply(conv, "from number two", AGENT)
    await _dispatch(runtime)
    assert not graph.of("POST", "/messages")
    [sent] = graph2.of("POST", "/206540352242923/messages")
    assert sent.headers["authorization"] == "Bearer EAAG-second-number-token"


async def _context(runtime, body="hello"):
    conv = await _conversation(runtime)
    msg = await runtime.inbox.reply(conv, body, AGENT)
    return await runtime.inbox.outbound_context(msg.id)


async def test_error_mapping(runtime, graph, caplog):
    cloud = bridge(runtime, "whatsapp_cloud")
    ctx = await _context(runtime)
    graph.fail(graph_error(131047, "Re-engagement message", "more than 24 hours"))
    with pytest.raises(PermanentError) as window:
        await cloud.send(ctx, Parts())
    assert window.value.code == "131047" and "outside the 24 h window" in window.value.text

    graph.fail(Scripted(400, graph_error(130429, "Rate limit hit").body, {"Retry-After": "7"}))
    with pytest.raises(RetryAfter) as limited:
        await cloud.send(ctx, Parts())
    assert limited.value.seconds == 7 and limited.value.code == "130429"

    graph.fail(graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"))
    with pytest.raises(RetryAfter) as pair:
        await cloud.send(ctx, Parts())
    assert pair.value.seconds == 60

    graph.fail(Scripted(429, {"error": {"message": "too many", "code": 4}}, {"Retry-After": "3"}))
    with pytest.raises(RetryAfter) as http429:
        await cloud.send(ctx, Parts())
    assert http429.value.seconds == 3

    caplog.set_level(logging.ERROR)
    graph.fail(graph_error(190, "Error validating access token: Session has expired",
                           status=401))
    with pytest.raises(PermanentError) as expired:
        await cloud.send(ctx, Parts())
    assert "access token expired" in expired.value.text and expired.value.code == "190"
    assert "WHATSAPP_CLOUD_TOKEN" in caplog.text

    graph.fail(Scripted(500, {"error": {"message": "An unknown error occurred", "code": 1}}))
    with pytest.raises(TransientError) as server:
        await cloud.send(ctx, Parts())
    assert not isinstance(server.value, RetryAfter)

    graph.fail(graph_error(131026, "Message undeliverable", "receiver incapable"))
    with pytest.raises(PermanentError) as other:
        await cloud.send(ctx, Parts())
    assert other.value.code == "131026" and other.value.text == "receiver incapable"


async def test_permanent_failure_is_recorded_on_the_message(runtime, graph):
    conv = await _conversation(runtime)
    await runtime.inbox.reply(conv, "late reply", AGENT)
    graph.fail(graph_error(131047, "Re-engagement message", "24 hours passed"))
    await _dispatch(runtime)
    [_, msg] = await runtime.inbox.thread(conv)
    assert msg.delivery_status is DeliveryStatus.FAILED and msg.error_code == "131047"
    assert "use a template" in msg.error_text


async def test_transient_failure_is_retried_then_sent(runtime, graph, clock):
    from datetime import timedelta

    conv = await _conversation(runtime)
    await runtime.inbox.reply(conv, "try again", AGENT)
    graph.fail(Scripted(503, {"error": {"message": "Service temporarily unavailable",
                                        "code": 2}}))
    await _dispatch(runtime)
    [_, msg] = await runtime.inbox.thread(conv)
    assert msg.delivery_status is DeliveryStatus.QUEUED
    clock.set(clock.now() + timedelta(hours=1))
    await _dispatch(runtime)
    [_, msg] = await runtime.inbox.thread(conv)
    assert msg.delivery_status is DeliveryStatus.SENT
    assert len(graph.of("POST", "/messages")) == 2


async def test_unreachable_graph_is_transient(runtime, graph):
    cloud = bridge(runtime, "whatsapp_cloud")
    ctx = await _context(runtime)
    graph.close()
    with pytest.raises(TransientError):
        await cloud.send(ctx, Parts())


async def test_a_failure_on_a_later_part_resumes_without_resending_earlier_parts(
        runtime, graph, clock):
    from datetime import timedelta

    conv = await _conversation(runtime)
    a = await runtime.files.put(b"%PDF-1 a", "a.pdf", "application/pdf")
    b = await runtime.files.put(b"%PDF-1 b", "b.pdf", "application/pdf")
    msg = await runtime.inbox.reply(conv, "two files", AGENT, attachments=[
        Attachment("a.pdf", "application/pdf", 8, a), Attachment("b.pdf", "application/pdf", 8, b)])
    # the second upload fails after the first document already went out
    _fail_second_upload(graph, Scripted(503, {"error": {"message": "try later", "code": 2}}))
    await _dispatch(runtime)
    assert (await runtime.inbox.message(msg.id)).delivery_status is DeliveryStatus.QUEUED
    assert len(graph.of("POST", f"/{PHONE_ID}/messages")) == 1
    clock.set(clock.now() + timedelta(hours=1))
    await _dispatch(runtime)
    sent = [r.json() for r in graph.of("POST", f"/{PHONE_ID}/messages")]
    assert [s["document"]["filename"] for s in sent] == ["a.pdf", "b.pdf"]  # a.pdf once
    done = await runtime.inbox.message(msg.id)
    assert done.delivery_status is DeliveryStatus.SENT and len(done.meta["sent_parts"]) == 2


def _fail_second_upload(graph, failing: Scripted) -> None:
    """The first /media upload answers normally, the second one with `failing`."""
    original = graph._scripted_for
    seen = {"uploads": 0}

    def scripted_for(rec):
        if "/media" in rec.path:
            seen["uploads"] += 1
            if seen["uploads"] == 2:
                return failing
            return None
        return original(rec)

    graph._scripted_for = scripted_for
