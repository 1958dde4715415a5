"""Every webhook caps the body while reading it, before the signature: an oversized body
gets 413 with a reason whatever Content-Length says, the server stops reading early, and
nothing is stored."""

from __future__ import annotations

import pytest

from bridges.twilio.webhook import MAX_BODY as TWILIO_MAX
from bridges.whatsapp_cloud.webhook import MAX_BODY as META_MAX
from tests.bridges.whatsapp.conftest import APP_SECRET, PUBLIC, TW_TOKEN
from tests.bridges.whatsapp.helpers import counts
from tests.bridges.whatsapp.payloads import (
    change,
    delivery,
    message,
    signed_meta,
    signed_twilio,
    twilio_inbound,
)

CHUNK = 64 * 1024
WEBHOOKS = [  # path, cap, content type
    ("/webhooks/whatsapp", META_MAX, "application/json"),
    ("/webhooks/twilio", TWILIO_MAX, "application/x-www-form-urlencoded"),
    ("/webhooks/twilio/status", TWILIO_MAX, "application/x-www-form-urlencoded"),
]


class Stream:
    """An async request body of `total` bytes that counts how much the server pulled."""

    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    async def __aiter__(self):
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"a" * CHUNK


@pytest.mark.parametrize("path,cap,ctype", WEBHOOKS)
async def test_streamed_body_without_length_is_cut_off_at_the_cap(client, engine, path, cap,
                                                                 ctype):
    before = await counts(engine)
    body = Stream(16 * cap)
    r = await client.post(path, content=body, headers={"Content-Type": ctype})
    assert r.status_code == 413 and f"{cap} byte limit" in r.json()["error"]
    assert body.sent <= cap + CHUNK  # read no further than the cap
    assert await counts(engine) == before


@pytest.mark.parametrize("path,cap,ctype", WEBHOOKS)
async def test_lying_content_length_does_not_lift_the_cap(client, engine, path, cap, ctype):
    before = await counts(engine)
    r = await client.post(path, content=b"a" * (cap + 1),
                          headers={"Content-Type": ctype, "Content-Length": "100"})
    assert r.status_code == 413, r.text
    body = Stream(CHUNK)
    r = await client.post(path, content=body,
                          headers={"Content-Type": ctype, "Content-Length": str(cap + 1)})
    assert r.status_code == 413 and "over the" in r.json()["error"]
    assert body.sent == 0  # refused on the declared length, before reading anything
    assert await counts(engine) == before


async def test_a_signed_oversized_meta_body_is_413_not_stored(client, engine):
    before = await counts(engine)
    payload = delivery(change([message("text", {"body": "x" * META_MAX}, wamid="big.1")]))
    body, headers = signed_meta(APP_SECRET, payload)
    r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
    assert r.status_code == 413
    assert await counts(engine) == before


async def test_a_body_just_under_the_cap_is_read_and_stored(client, runtime):
    payload = delivery(change([message("text", {"body": "hola"}, wamid="near.1",
                                       padding="p" * (META_MAX - 2000))]))
    body, headers = signed_meta(APP_SECRET, payload)
    assert len(body) < META_MAX
    r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["stored"] == 1
    form = twilio_inbound("SMnear", body="hola", Padding="p" * (TWILIO_MAX - 2000))
    body, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio", form)
    assert len(body) < TWILIO_MAX
    r = await client.post("/webhooks/twilio", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert await runtime.inbox.find_link("twilio", "SMnear") is not None
    assert r.headers["content-type"].startswith("application/xml")
