"""Fuzz: structurally mutated, correctly signed webhooks never get a 5xx, and afterwards the
same app still stores a good message exactly once. SQLite and PostgreSQL (`engine`).

Deterministic by default (CI). Locally, for a long random run:
THREADLINE_FUZZ_EXAMPLES=3000 THREADLINE_FUZZ_RANDOM=1 pytest tests/bridges/whatsapp -k fuzz
"""

from __future__ import annotations

import asyncio
import os
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from bridges.twilio.parse import FormError, form_of, parse_inbound, parse_pairs, parse_status
from bridges.whatsapp_cloud.parse import PayloadError, load_delivery
from core.model import Actor, DeliveryStatus
from tests.bridges.whatsapp.conftest import APP_SECRET, PUBLIC, TW_TOKEN
from tests.bridges.whatsapp.helpers import counts
from tests.bridges.whatsapp.mutations import (
    TWILIO_STATUS_SEEDS,
    meta_bodies,
    signed_meta_body,
    signed_twilio_pairs,
    twilio_forms,
    twilio_inbound_seeds,
)
from tests.bridges.whatsapp.payloads import (
    change,
    delivery,
    message,
    signed_meta,
    signed_twilio,
    twilio_inbound,
    twilio_status,
)

FUZZ = settings(
    max_examples=int(os.environ.get("THREADLINE_FUZZ_EXAMPLES", "40")),
    derandomize=not os.environ.get("THREADLINE_FUZZ_RANDOM"),
    database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def assert_storable(*values) -> None:
    for text in (t for v in values for t in strings(v)):
        assert not UNSTORABLE.search(text), text[:80]


@settings(FUZZ, max_examples=FUZZ.max_examples * 10)
@given(meta_bodies())
def test_meta_parser_is_total_and_its_output_storable(body):
    try:
        parsed = load_delivery(body)
    except PayloadError:
        return
    for m in parsed.messages:
        assert_storable(m.wamid, m.sender, m.sender_name, m.body, m.meta, m.context_id or "")
        assert len(m.wamid) <= 200 and len(m.sender_name) <= 200
    for st in parsed.statuses:
        assert_storable(st.wamid, st.status, st.error_code or "", st.error_text or "")
        assert len(st.wamid) <= 200 and len(st.error_code or "") <= 100


@settings(FUZZ, max_examples=FUZZ.max_examples * 5)
@given(twilio_forms(twilio_inbound_seeds("https://api.twilio.com/x") + TWILIO_STATUS_SEEDS))
def test_twilio_parsers_are_total_and_their_output_storable(pairs):
    body, _ = signed_twilio_pairs(TW_TOKEN, PUBLIC, pairs)
    try:
        form = form_of(parse_pairs(body))
    except FormError:
        return
    for parse in (parse_inbound, parse_status):
        try:
            parsed = parse(form)
        except FormError:
            continue
        assert_storable([getattr(parsed, name) for name in parsed.__slots__])
        assert len(parsed.sid) <= 200


@pytest.fixture
async def fuzz_client(app):
    # 500s come back as responses (with the example), not as exceptions from the transport.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as c:
        yield c


def run_examples(strategy, post) -> None:
    """Hypothesis drives `post` from a worker thread; each request runs on the test's loop."""
    loop = asyncio.get_running_loop()

    @FUZZ
    @given(strategy)
    def check(example):
        response = asyncio.run_coroutine_threadsafe(post(example), loop).result()
        assert response.status_code < 500, (response.status_code, response.text[:500])

    return asyncio.to_thread(check)


async def test_meta_webhook_survives_mutated_signed_bodies(fuzz_client, runtime, engine):
    async def post(body: bytes):
        return await fuzz_client.post("/webhooks/whatsapp", content=body,
                                      headers=signed_meta_body(APP_SECRET, body))

    await run_examples(meta_bodies(), post)
    good = delivery(change([message("text", {"body": "still here"}, wamid="wamid.GOOD")]))
    before = (await counts(engine))["messages"]
    body, headers = signed_meta(APP_SECRET, good)
    first = await fuzz_client.post("/webhooks/whatsapp", content=body, headers=headers)
    again = await fuzz_client.post("/webhooks/whatsapp", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["stored"] == 1 and again.json()["duplicates"] == 1
    assert (await counts(engine))["messages"] == before + 1
    link = await runtime.inbox.find_link("whatsapp_cloud", "wamid.GOOD")
    assert (await runtime.inbox.message(link.message_id)).body == "still here"


async def test_twilio_inbound_survives_mutated_signed_forms(fuzz_client, runtime, engine,
                                                            twilio_fake):
    seeds = twilio_inbound_seeds(twilio_fake.media_url("ME1", b"\xff\xd8", "image/jpeg"))

    async def post(pairs):
        body, headers = signed_twilio_pairs(TW_TOKEN, PUBLIC + "/webhooks/twilio", pairs)
        return await fuzz_client.post("/webhooks/twilio", content=body, headers=headers)

    await run_examples(twilio_forms(seeds), post)
    before = (await counts(engine))["messages"]
    body, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio",
                                  twilio_inbound("SMgood", body="still here"))
    for _ in range(2):
        r = await fuzz_client.post("/webhooks/twilio", content=body, headers=headers)
        assert r.status_code == 200, r.text
    assert (await counts(engine))["messages"] == before + 1
    link = await runtime.inbox.find_link("twilio", "SMgood")
    assert (await runtime.inbox.message(link.message_id)).body == "still here"


async def test_twilio_status_survives_mutated_signed_forms(fuzz_client, runtime):
    url = PUBLIC + "/webhooks/twilio/status"

    async def post(pairs):
        body, headers = signed_twilio_pairs(TW_TOKEN, url, pairs)
        return await fuzz_client.post("/webhooks/twilio/status", content=body, headers=headers)

    await run_examples(twilio_forms(TWILIO_STATUS_SEEDS), post)
    body, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio",
                                  twilio_inbound("SMin", body="hi"))
    assert (await fuzz_client.post("/webhooks/twilio", content=body,
                                   headers=headers)).status_code == 200
    link = await runtime.inbox.find_link("twilio", "SMin")
    out = await runtime.inbox.reply(link.conversation_id, "answer", Actor.agent(1))
    await runtime.inbox.mark_sent(out.id, "twilio", "SMgoodout")
    body, headers = signed_twilio(TW_TOKEN, url, twilio_status("SMgoodout", "read"))
    r = await fuzz_client.post("/webhooks/twilio/status", content=body, headers=headers)
    assert r.status_code == 204, r.text
    assert (await runtime.inbox.message(out.id)).delivery_status is DeliveryStatus.READ
