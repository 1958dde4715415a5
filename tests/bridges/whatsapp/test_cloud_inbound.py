"""Meta webhooks into the real app: every message type, media, batching, dedupe, refusals."""

from __future__ import annotations

import json

from core.model import Channel, DeliveryStatus
from tests.bridges.whatsapp.conftest import APP_SECRET, VERIFY
from tests.bridges.whatsapp.helpers import all_messages, counts, post_meta
from tests.bridges.whatsapp.payloads import (
    PHONE_ID_2,
    T0,
    change,
    delivery,
    message,
    signed_meta,
    status,
)
from tests.fakes.graph_api import graph_error

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 2000


async def test_verification_handshake(client):
    ok = await client.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = await client.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status_code == 403
    assert (await client.get("/webhooks/whatsapp")).status_code == 403


async def test_text_message_is_stored_with_contact_and_time(client, runtime):
    r = await post_meta(client, delivery(change([message(
        "text", {"body": "Does it come in another color?"}, wamid="wamid.A1")])))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "Does it come in another color?"
    assert msg.created_at == T0 and msg.meta["type"] == "text"
    details = await runtime.inbox.conversation(msg.conversation_id)
    assert details.contact.address == "+16505551234"
    assert details.contact.name == "Sheena Nelson"
    assert details.conversation.channel is Channel.WHATSAPP
    assert details.conversation.account == "wa"


async def test_every_message_type_becomes_a_readable_message(client, runtime, graph):
    graph.add_media("1003383421387256", JPEG, "image/jpeg")
    graph.add_media("media-doc", b"%PDF-1.4 invoice", "application/pdf")
    graph.add_media("media-voice", b"OggS voice", "audio/ogg; codecs=opus")
    graph.add_media("media-video", b"\x00\x00\x00 ftypmp4", "video/mp4")
    graph.add_media("media-sticker", b"RIFF webp", "image/webp")
    msgs = [
        message("text", {"body": "hola"}, wamid="w.text"),
        message("image", {"caption": "my receipt", "mime_type": "image/jpeg", "sha256": "x",
                          "id": "1003383421387256"}, wamid="w.image"),
        message("document", {"caption": "invoice", "filename": "invoice-42.pdf",
                             "mime_type": "application/pdf", "sha256": "x", "id": "media-doc"},
                wamid="w.doc"),
        message("audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": "x",
                          "id": "media-voice", "voice": True}, wamid="w.voice"),
        message("video", {"mime_type": "video/mp4", "sha256": "x", "id": "media-video"},
                wamid="w.video"),
        message("sticker", {"mime_type": "image/webp", "sha256": "x", "id": "media-sticker",
                            "animated": False}, wamid="w.sticker"),
        message("location", {"address": "1 Hacker Way, Menlo Park, CA 94025",
                             "latitude": 37.483307, "longitude": -122.148981,
                             "name": "Main Office", "url": "https://example.com"},
                wamid="w.loc"),
        message("contacts", [{"name": {"formatted_name": "Barbara Johnson",
                                       "first_name": "Barbara", "last_name": "Johnson"},
                              "org": {"company": "Social Inc"},
                              "phones": [{"phone": "+1 (940) 555-1234", "wa_id": "19405551234",
                                          "type": "HOME"}],
                              "emails": [{"email": "bjohnson@example.com", "type": "WORK"}]}],
                wamid="w.contacts"),
        message("interactive", {"type": "button_reply",
                                "button_reply": {"id": "yes-1", "title": "Yes, please"}},
                wamid="w.button_reply"),
        message("interactive", {"type": "list_reply", "list_reply": {
            "id": "ship-2", "title": "Express", "description": "1-2 days"}}, wamid="w.list"),
        message("button", {"payload": "STOP_PROMOS", "text": "Stop promotions"},
                wamid="w.button"),
        message("order", {"catalog_id": "CAT1", "text": "for Friday", "product_items": [
            {"product_retailer_id": "SKU-1", "quantity": 2, "item_price": 9.5,
             "currency": "EUR"}]}, wamid="w.order"),
        message("system", {"body": "Sheena changed their phone number to a new number",
                           "new_wa_id": "16505559999", "type": "user_changed_number"},
                wamid="w.system"),
        message("unsupported", None, wamid="w.unsupported", errors=[{
            "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."}}]),
        message("poll_v9", {"question": "?"}, wamid="w.future"),
    ]
    r = await post_meta(client, delivery(change(msgs)))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == len(msgs)
    await runtime.dispatcher.drain()  # the media, fetched after the ack
    stored = {m.meta.get("type"): m for m in await all_messages(runtime.inbox)}
    by_body = [m.body for m in await all_messages(runtime.inbox)]
    assert len(by_body) == len(msgs)

    image = stored["image"]
    assert image.body == "my receipt"
    [att] = image.attachments
    assert att.content_type == "image/jpeg" and att.size == len(JPEG)
    assert await runtime.files.get(att.storage_key) == JPEG
    assert stored["document"].attachments[0].filename == "invoice-42.pdf"
    assert await runtime.files.get(stored["document"].attachments[0].storage_key) \
        == b"%PDF-1.4 invoice"
    assert stored["audio"].attachments[0].storage_key
    assert stored["video"].attachments[0].storage_key
    assert stored["sticker"].attachments[0].storage_key
    assert "Main Office" in stored["location"].body
    assert "https://maps.google.com/?q=37.483307,-122.148981" in stored["location"].body
    assert "Barbara Johnson" in stored["contacts"].body
    assert "+1 (940) 555-1234" in stored["contacts"].body
    assert "bjohnson@example.com" in stored["contacts"].body
    assert stored["button"].body == "Stop promotions"
    assert "SKU-1" in stored["order"].body and "2 ×" in stored["order"].body
    assert "changed their phone number" in stored["system"].body
    assert stored["unsupported"].body.startswith("[unsupported WhatsApp message: unsupported]")
    assert stored["poll_v9"].body == "[unsupported WhatsApp message: poll_v9]"
    assert stored["poll_v9"].meta["raw"]["poll_v9"] == {"question": "?"}
    interactive = [m.body for m in await all_messages(runtime.inbox)
                   if m.meta.get("type") == "interactive"]
    assert interactive == ["Yes, please", "Express\n1-2 days"]
    # Both Graph steps carried the bearer token (the fake refuses requests without it).
    assert graph.of("GET", "/download/1003383421387256")
    assert all(r.headers["authorization"] == "Bearer EAAG-test-token" for r in graph.requests)


async def test_reply_context_is_kept_and_quoted(client, runtime):
    await post_meta(client, delivery(change([message("text", {"body": "Which sizes exist?"},
                                                     wamid="wamid.Q")])))
    await post_meta(client, delivery(change([message(
        "text", {"body": "I meant this one"}, wamid="wamid.R",
        context={"from": "16505551234", "id": "wamid.Q"})])))
    await post_meta(client, delivery(change([message(
        "text", {"body": "and that"}, wamid="wamid.S",
        context={"from": "15550783881", "id": "wamid.UNKNOWN"})])))
    msgs = {m.meta.get("context", {}).get("id"): m for m in await all_messages(runtime.inbox)}
    assert msgs["wamid.Q"].body == "> Which sizes exist?\nI meant this one"
    assert msgs["wamid.UNKNOWN"].body == "and that"


async def test_batched_delivery_over_entries_changes_and_numbers(client, runtime, graph2,
                                                                 engine):
    graph2.add_media("m2", JPEG, "image/jpeg")
    payload = delivery(
        change([message("text", {"body": "one"}, wamid="b.1"),
                message("text", {"body": "two"}, wamid="b.2")]),
        change([message("text", {"body": "three"}, wamid="b.3", sender="34600111222")],
               sender="34600111222", name="Ana"),
        change([message("image", {"id": "m2", "mime_type": "image/jpeg", "sha256": "x"},
                        wamid="b.4")], phone_id=PHONE_ID_2),
        entries=2,
    )
    assert len(payload["entry"]) == 2
    r = await post_meta(client, payload)
    assert r.status_code == 200 and r.json()["stored"] == 4
    await runtime.dispatcher.drain()
    msgs = await all_messages(runtime.inbox)
    assert sorted(m.body for m in msgs if m.body) == ["one", "three", "two"]
    second = [m for m in msgs if m.meta.get("media_id") == "m2"][0]
    details = await runtime.inbox.conversation(second.conversation_id)
    assert details.conversation.account == "wa2"
    assert graph2.requests[0].headers["authorization"] == "Bearer EAAG-second-number-token"
    assert (await counts(engine))["conversations"] == 3


async def test_duplicates_and_retries_store_one_message(client, runtime, engine, graph):
    graph.add_media("img", JPEG, "image/jpeg")
    payload = delivery(change([message("text", {"body": "hi"}, wamid="d.1"),
                               message("text", {"body": "hi"}, wamid="d.1"),
                               message("image", {"id": "img", "mime_type": "image/jpeg"},
                                       wamid="d.2")]))
    first = await post_meta(client, payload)
    await runtime.dispatcher.drain()
    again = await post_meta(client, payload)
    await runtime.dispatcher.drain()
    assert first.status_code == again.status_code == 200
    assert first.json()["stored"] == 2 and first.json()["duplicates"] == 1
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 3
    assert (await counts(engine))["messages"] == 2
    assert len(graph.of("GET", "/download/img")) == 1  # a redelivery downloads nothing


async def test_bad_or_missing_signature_is_403_and_stores_nothing(client, engine):
    before = await counts(engine)
    payload = delivery(change([message("text", {"body": "x"}, wamid="s.1")]))
    body, headers = signed_meta("another-secret", payload)
    assert (await client.post("/webhooks/whatsapp", content=body,
                              headers=headers)).status_code == 403
    del headers["X-Hub-Signature-256"]
    assert (await client.post("/webhooks/whatsapp", content=body,
                              headers=headers)).status_code == 403
    good_body, good = signed_meta(APP_SECRET, payload)
    tampered = good_body.replace(b'"x"', b'"y"')
    r = await client.post("/webhooks/whatsapp", content=tampered, headers=good)
    assert r.status_code == 403 and "X-Hub-Signature-256" in r.json()["error"]
    assert await counts(engine) == before


async def test_malformed_bodies_get_a_clear_400(client, engine):
    before = await counts(engine)
    full = json.dumps(delivery(change([message("text", {"body": "x"}, wamid="t.1")]))).encode()
    cases = {
        full[: len(full) // 2]: "not valid JSON",
        b"[1, 2]": "JSON object",
        b'{"object": "page", "entry": []}': "whatsapp_business_account",
        b'{"object": "whatsapp_business_account", "entry": {"a": 1}}': "entry must be a list",
        b'\xff\xfe': "not valid JSON",
    }
    for body, reason in cases.items():
        _, headers = signed_meta(APP_SECRET, body)
        r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
        assert r.status_code == 400, (body, r.text)
        assert reason in r.json()["error"]
    body, headers = signed_meta(APP_SECRET, full)
    headers["Content-Type"] = "text/plain"
    r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert await counts(engine) == before


async def test_oversized_media_is_noted_not_stored(client, runtime, graph):
    graph.add_media("big-declared", b"small", "image/jpeg", declared=6 * 1024 * 1024)
    graph.add_media("big-actual", b"x" * (600 * 1024), "image/webp")  # a sticker over 500 KB
    await post_meta(client, delivery(change([
        message("image", {"id": "big-declared", "mime_type": "image/jpeg", "caption": "look"},
                wamid="o.1"),
        message("sticker", {"id": "big-actual", "mime_type": "image/webp"}, wamid="o.2"),
    ])))
    await runtime.dispatcher.drain()
    first, second = await all_messages(runtime.inbox)
    assert first.body.startswith("look\n[image ")
    assert "not stored: 6.0 MB is over WhatsApp's 5.0 MB limit" in first.body
    assert first.attachments[0].storage_key is None and first.attachments[0].size == 6 * 2**20
    assert "over WhatsApp's 500 KB limit for stickers" in second.body
    assert second.attachments[0].storage_key is None
    assert not graph.of("GET", "/download/big-declared")


async def test_media_download_failure_keeps_the_message(client, runtime, graph):
    graph.fail(graph_error(100, "Invalid media id", status=400), path_contains="gone")
    r = await post_meta(client, delivery(change([
        message("document", {"id": "gone", "filename": "contract.pdf",
                             "mime_type": "application/pdf"}, wamid="f.1")])))
    assert r.status_code == 200
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    assert msg.meta["media_id"] == "gone"
    assert "contract.pdf" in msg.body and "could not be downloaded" in msg.body
    assert msg.attachments[0].storage_key is None


async def test_unknown_phone_number_id_is_acknowledged_and_logged(client, engine, caplog):
    before = await counts(engine)
    r = await post_meta(client, delivery(change([message("text", {"body": "x"},
                                                          wamid="u.1")], phone_id="777")))
    assert r.status_code == 200 and r.json()["unrouted"] == ["777"]
    assert "phone_number_id 777" in caplog.text
    assert await counts(engine) == before


async def test_reactions_decorate_the_target_message(client, runtime):
    conv, out = await _outbound(runtime)
    await runtime.inbox.mark_sent(out.id, "whatsapp_cloud", "wamid.OUT")
    react = message("reaction", {"message_id": "wamid.OUT", "emoji": "\U0001F44D"},
                    wamid="r.1")
    r = await post_meta(client, delivery(change([react])))
    assert r.status_code == 200 and r.json()["reactions"] == 1
    [_, sent] = await runtime.inbox.thread(conv.id)
    assert sent.meta["reactions"] == {"16505551234": "\U0001F44D"}
    removal = message("reaction", {"message_id": "wamid.OUT"}, wamid="r.2",
                      ts=str(int(T0.timestamp()) + 5))
    await post_meta(client, delivery(change([removal])))
    [_, sent] = await runtime.inbox.thread(conv.id)
    assert sent.meta["reactions"] == {}
    assert len(await runtime.inbox.thread(conv.id)) == 2  # no new message for a reaction
    orphan = message("reaction", {"message_id": "wamid.NOPE", "emoji": "x"}, wamid="r.3")
    r = await post_meta(client, delivery(change([orphan])))
    assert r.status_code == 200 and r.json()["reactions"] == 0


async def _outbound(runtime):
    first = await runtime.receive(_inbound("wamid.first"))
    conv = (await runtime.inbox.conversation(first.conversation_id)).conversation
    out = await runtime.inbox.reply(conv.id, "Yes, in blue", _agent())
    return conv, out


def _inbound(wamid: str):
    from core.inbound import InboundMessage

    return InboundMessage(Channel.WHATSAPP, "wa", "whatsapp_cloud", wamid, "+16505551234",
                          "hello", T0, sender_name="Sheena Nelson")


def _agent():
    from core.model import Actor

    return Actor.agent(1)


async def test_statuses_are_monotone_and_may_come_first(client, runtime):
    conv, out = await _outbound(runtime)
    # Meta reports before our send is recorded: kept, then applied at mark_sent.
    r = await post_meta(client, delivery(change(statuses=[status("wamid.EARLY", "delivered")])))
    assert r.status_code == 200
    await runtime.inbox.mark_sent(out.id, "whatsapp_cloud", "wamid.EARLY")
    [_, sent] = await runtime.inbox.thread(conv.id)
    assert sent.delivery_status is DeliveryStatus.DELIVERED
    # read, then a late delivered and a duplicate read: still read.
    await post_meta(client, delivery(change(statuses=[status("wamid.EARLY", "read")])))
    await post_meta(client, delivery(change(statuses=[status("wamid.EARLY", "delivered"),
                                                      status("wamid.EARLY", "read")])))
    [_, sent] = await runtime.inbox.thread(conv.id)
    assert sent.delivery_status is DeliveryStatus.READ


async def test_failed_status_carries_code_and_reason(client, runtime):
    conv, out = await _outbound(runtime)
    await runtime.inbox.mark_sent(out.id, "whatsapp_cloud", "wamid.F")
    await post_meta(client, delivery(change(statuses=[status("wamid.F", "failed", errors=[{
        "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
        "error_data": {"details": "Message failed to send because more than 24 hours have "
                                  "passed since the customer last replied to this number."}}])])))
    [_, sent] = await runtime.inbox.thread(conv.id)
    assert sent.delivery_status is DeliveryStatus.FAILED and sent.error_code == "131047"
    assert "24 hours" in sent.error_text


async def test_unknown_status_value_is_ignored_not_refused(client, runtime):
    r = await post_meta(client, delivery(change(statuses=[status("wamid.Z", "deleted")])))
    assert r.status_code == 200 and r.json()["statuses"] == 0

