"""A Meta delivery with broken parts: the good parts are processed, each broken part is
stored raw (path, reason) and the answer is 200 naming them. Real app, real signatures,
SQLite and PostgreSQL."""

from __future__ import annotations

import json

from hypothesis import given, settings
from sqlalchemy import text

from bridges.whatsapp_cloud.parse import MAX_RAW, PayloadError, load_delivery
from core.model import Actor, DeliveryStatus
from tests.bridges.whatsapp.helpers import all_messages, counts, post_meta
from tests.bridges.whatsapp.mutations import meta_bodies
from tests.bridges.whatsapp.payloads import (
    PHONE_ID,
    T0,
    change,
    delivery,
    message,
    status,
)
from tests.bridges.whatsapp.test_webhook_fuzz import FUZZ, assert_storable


def text_msg(wamid: str, body: str = "hola", **kw) -> dict:
    return message("text", {"body": body}, wamid=wamid, **kw)


async def stored_bodies(runtime) -> list[str]:
    return [m.body for m in await all_messages(runtime.inbox)]


async def test_good_message_is_stored_and_broken_one_kept_raw(client, runtime):
    broken = text_msg("wamid.BROKEN", "lost?")
    del broken["from"]
    bad_change = change([broken])
    bad_change["value"]["contacts"] = []  # no single contact to take the sender from
    r = await post_meta(client, delivery(change([text_msg("wamid.GOOD", "I am fine")]),
                                         bad_change))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["stored"] == 1 and answer["unreadable_count"] == 1
    [listed] = answer["unreadable"]
    assert listed["path"] == "entry[0].changes[1].value.messages[0]"
    assert "from is missing" in listed["reason"]
    assert await stored_bodies(runtime) == ["I am fine"]
    [part] = await runtime.inbox.unreadable_inbound()
    assert (part.surface, part.path, part.reason) == ("whatsapp_cloud", listed["path"],
                                                      listed["reason"])
    assert json.loads(part.raw) == broken and part.received_at == T0


async def test_every_narrow_breakage_is_kept_and_the_rest_processed(client, runtime):
    first = await post_meta(client, delivery(change([text_msg("wamid.IN")])))
    assert first.status_code == 200
    link = await runtime.inbox.find_link("whatsapp_cloud", "wamid.IN")
    out = await runtime.inbox.reply(link.conversation_id, "Yes, in blue", Actor.agent(1))
    await runtime.inbox.mark_sent(out.id, "whatsapp_cloud", "wamid.OUT")

    no_number = change([text_msg("wamid.NONUMBER")])
    del no_number["value"]["metadata"]["phone_number_id"]
    odd_items = change([text_msg("wamid.OK2", "second good"), "not a message"],
                       statuses=[17, status("wamid.OUT", "read")])
    payload = {"object": "whatsapp_business_account", "entry": [
        "not an entry",
        {"id": "1", "changes": {"not": "a list"}},
        {"id": "2", "changes": [
            {"field": "messages", "value": [1, 2]},
            {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_ID},
                                            "messages": "not a list"}},
            no_number,
            change([text_msg("wamid.OK1", "first good")]),
            odd_items,
        ]},
    ]}
    r = await post_meta(client, payload)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["stored"] == 2 and answer["statuses"] == 1
    assert {u["path"] for u in answer["unreadable"]} == {
        "entry[0]", "entry[1].changes", "entry[2].changes[0].value",
        "entry[2].changes[1].value.messages", "entry[2].changes[2].value",
        "entry[2].changes[4].value.messages[1]", "entry[2].changes[4].value.statuses[0]",
    }
    assert answer["unreadable_count"] == 7
    bodies = await stored_bodies(runtime)
    assert "first good" in bodies and "second good" in bodies
    assert (await runtime.inbox.message(out.id)).delivery_status is DeliveryStatus.READ
    kept = {p.path: p for p in await runtime.inbox.unreadable_inbound()}
    assert json.loads(kept["entry[0]"].raw) == "not an entry"
    assert json.loads(kept["entry[2].changes[2].value"].raw) == no_number["value"]
    assert "phone_number_id is missing" in kept["entry[2].changes[2].value"].reason


async def test_redelivery_stores_nothing_twice(client, runtime, engine):
    payload = delivery(change([text_msg("wamid.R1")]), {"field": "messages", "value": 3})
    first = await post_meta(client, payload)
    before = await counts(engine)
    again = await post_meta(client, payload)
    assert first.status_code == again.status_code == 200
    assert first.json()["stored"] == 1 and again.json()["duplicates"] == 1
    assert again.json()["unreadable_count"] == 1  # still named in the answer
    assert await counts(engine) == before
    assert len(await runtime.inbox.unreadable_inbound()) == 1


async def test_raw_is_bounded_and_storable(client, runtime):
    huge = "é\ud800\x00" * 100_000
    r = await post_meta(client, delivery(change([text_msg("wamid.H")]),
                                         {"field": "messages", "value": [huge]}))
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    [part] = await runtime.inbox.unreadable_inbound()
    assert len(part.raw.encode()) <= 64 * 1024 + 100 and "[cut:" in part.raw
    assert "\ud800" not in part.raw and "\x00" not in part.raw
    assert part.raw.startswith('["é\ufffd\ufffdé')  # as load_delivery cleans every string


async def test_a_message_the_inbox_refuses_is_kept_raw(client, runtime):
    refused = text_msg("wamid.NOBODY", sender="whatsapp:")
    r = await post_meta(client, delivery(change([text_msg("wamid.FINE", "fine"), refused])))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1 and r.json()["rejected"] == ["wamid.NOBODY"]
    [part] = await runtime.inbox.unreadable_inbound()
    assert part.path == "entry[0].changes[0].value.messages[1]"
    assert part.reason.startswith("refused by the inbox") and json.loads(part.raw) == refused


async def test_unreadable_rows_are_in_their_own_table(client, engine):
    await post_meta(client, delivery({"field": "messages", "value": None}))
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT surface, path, reason, raw FROM unreadable_inbound"))).all()
    assert [tuple(r) for r in rows] == [
        ("whatsapp_cloud", "entry[0].changes[0].value", "must be an object, got nothing",
         "null")]


@settings(FUZZ, max_examples=FUZZ.max_examples * 5)
@given(meta_bodies())
def test_unreadable_parts_of_mutated_bodies_are_storable_and_bounded(body):
    try:
        parsed = load_delivery(body)
    except PayloadError:
        return
    for part in parsed.unreadable:
        assert_storable(part.path, part.reason, part.raw)
        assert len(part.raw.encode()) <= MAX_RAW + 64 and len(part.digest) == 64
        assert part.path.startswith("entry") and len(part.path) <= 500
