"""Validly signed but hostile bodies, one of each kind QA found answered with a 500: each
gets a 2xx (stored, raw payload kept) or a 4xx with its reason. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.bridges.whatsapp.conftest import APP_SECRET, PUBLIC, TW_TOKEN
from tests.bridges.whatsapp.helpers import all_messages, counts, post_meta
from tests.bridges.whatsapp.mutations import signed_meta_body, signed_twilio_pairs
from tests.bridges.whatsapp.payloads import change, delivery, message, twilio_inbound


async def post_raw(client, text: str):
    body = text.encode()
    return await client.post("/webhooks/whatsapp", content=body,
                             headers=signed_meta_body(APP_SECRET, body))


async def test_deep_nesting_is_a_400_with_its_reason(client, engine):
    before = await counts(engine)
    for depth in (100_000, 40):
        text = json.dumps(delivery(change([message("text", "DEEP", wamid="n.1")])))
        r = await post_raw(client, text.replace('"DEEP"', "[" * depth + "]" * depth))
        assert r.status_code == 400 and "too deeply nested" in r.json()["error"], r.text
    assert await counts(engine) == before


async def test_lone_surrogates_and_nul_are_stored_as_replacement_characters(client, runtime):
    text = json.dumps(delivery(change([message("text", {"body": "a\ud800b\x00c"},
                                               wamid="s.\udfff", extra={"k\ud83d": "v"})],
                                      name="Ana\ud800")))
    assert "\\ud800" in text and "\\u0000" in text  # as JSON carries them
    r = await post_raw(client, text)
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "a\ufffdb\ufffdc"
    assert await runtime.inbox.find_link("whatsapp_cloud", "s.\ufffd") is not None
    details = await runtime.inbox.conversation(msg.conversation_id)
    assert details.contact.name == "Ana\ufffd"


async def test_wrong_types_inside_a_message_keep_it_as_unsupported(client, runtime):
    odd = [
        message("text", ["not", "an", "object"], wamid="t.list"),
        message("location", {"latitude": [1], "longitude": {"x": 2}, "name": 7}, wamid="t.loc"),
        message("interactive", {"type": ["button_reply"]}, wamid="t.inter"),
        message("contacts", {"name": "a dict, not a list"}, wamid="t.contacts"),
        message("image", {"id": 12345, "filename": ["x"], "mime_type": None}, wamid="t.img"),
        {"from": 16505551234, "id": 99, "timestamp": [1], "type": 5, "5": {"body": "x"}},
    ]
    r = await post_meta(client, delivery(change(odd)))
    assert r.status_code == 200 and r.json()["stored"] == len(odd), r.text
    by_id = {}
    for m in await all_messages(runtime.inbox):
        link = [x for x in await runtime.inbox.links_of(m.conversation_id, "whatsapp_cloud")
                if x.message_id == m.id]
        by_id[link[0].external_id] = m
    assert by_id["t.list"].body == "[unsupported WhatsApp message: text]"
    assert by_id["t.list"].meta["raw"]["text"] == ["not", "an", "object"]
    assert by_id["t.loc"].body.startswith("📍 Location: 7")
    assert by_id["t.inter"].body == "[interactive reply: ]"
    assert by_id["t.contacts"].meta["raw"]["contacts"] == {"name": "a dict, not a list"}
    [pending] = by_id["t.img"].attachments
    assert pending.pending_ref == "12345" and pending.content_type == "application/octet-stream"
    assert by_id["99"].body == "[unsupported WhatsApp message: 5]"


async def test_huge_ids_and_names_fit_their_columns_and_still_dedupe(client, runtime, engine):
    huge = "w" * 5000
    payload = delivery(change([message("text", {"body": "hi"}, wamid=huge)], name="N" * 5000))
    for _ in range(2):
        r = await post_meta(client, payload)
        assert r.status_code == 200, r.text
    assert (await counts(engine))["messages"] == 1
    [msg] = await all_messages(runtime.inbox)
    assert len((await runtime.inbox.conversation(msg.conversation_id)).contact.name) <= 200


async def test_a_text_longer_than_whatsapp_allows_is_shortened_raw_kept(client, runtime):
    words = " ".join(f"w{i}" for i in range(200_000))  # too much for PostgreSQL's tsvector
    r = await post_meta(client, delivery(change([message("text", {"body": words},
                                                         wamid="long.1")])))
    assert r.status_code == 200, r.text
    [msg] = await all_messages(runtime.inbox)
    assert len(msg.body) < 17_000 and msg.body.endswith("see its raw payload]")
    assert msg.meta["raw"]["text"]["body"] == words


async def test_twilio_nul_and_duplicate_fields(client, runtime):
    url = PUBLIC + "/webhooks/twilio"
    pairs = list(twilio_inbound("SMnul", body="a\x00b", ProfileName="x\x00").items())
    body, headers = signed_twilio_pairs(TW_TOKEN, url, pairs)
    r = await client.post("/webhooks/twilio", content=body, headers=headers)
    assert r.status_code == 200, r.text
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "a\ufffdb"
    body, headers = signed_twilio_pairs(TW_TOKEN, url, [*pairs, ("Body", "other")])
    r = await client.post("/webhooks/twilio", content=body, headers=headers)
    assert r.status_code == 400 and "Body appears twice" in r.json()["error"]


async def test_a_non_ascii_signature_header_is_a_403(client, engine):
    body = json.dumps(delivery(change([message("text", {"body": "x"}, wamid="h.1")]))).encode()
    r = await client.post("/webhooks/whatsapp", content=body, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": ("sha256=" + "é" * 64).encode("latin-1")})
    assert r.status_code == 403
    assert (await counts(engine))["messages"] == 0
