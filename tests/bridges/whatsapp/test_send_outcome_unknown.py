"""A send whose answer never came (the connection dropped after the request went out) may
have reached the customer: the retry looks it up (Twilio) or sends again marked "may have
been sent twice" (Meta has no lookup), never as if nothing had happened. A request that
could not even connect is retried as a plain failure."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bridges.http_outcome import transport_error
from core.delivery import OutcomeUnknown
from core.model import Actor, DeliveryStatus
from tests.bridges.whatsapp.conftest import TW_SID
from tests.bridges.whatsapp.helpers import all_messages, post_meta
from tests.bridges.whatsapp.payloads import change, delivery, message, twilio_inbound
from tests.bridges.whatsapp.test_twilio import post

AGENT = Actor.system()


async def _retry(runtime, clock) -> None:
    await runtime.dispatcher.drain()
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        await runtime.dispatcher.drain()


async def test_a_meta_send_without_an_answer_is_sent_again_and_marked(client, runtime, graph,
                                                                      clock):
    await post_meta(client, delivery(change([message("text", {"body": "hola"},
                                                     wamid="wamid.IN1")])))
    [first] = await all_messages(runtime.inbox)
    out = await runtime.inbox.reply(first.conversation_id, "¡Gracias!", AGENT)
    graph.drop_answer_next("/messages")
    await _retry(runtime, clock)
    assert len(graph.of("POST", "/messages")) == 2  # Meta cannot be asked: sent again...
    stored = await runtime.inbox.message(out.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert stored.meta.get("maybe_sent_twice") is True  # ...and staff are told


async def test_a_twilio_send_without_an_answer_is_looked_up_not_repeated(client, runtime,
                                                                         twilio_fake, clock):
    await post(client, "/webhooks/twilio", twilio_inbound("SMIN"))
    [first] = await all_messages(runtime.inbox)
    out = await runtime.inbox.reply(first.conversation_id, "¡Gracias!", AGENT)
    twilio_fake.drop_answer_next("/Messages.json")
    await _retry(runtime, clock)
    assert len(twilio_fake.of("POST", f"/2010-04-01/Accounts/{TW_SID}/Messages.json")) == 1
    stored = await runtime.inbox.message(out.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")


def test_only_failures_before_the_request_left_mean_not_sent():
    request = httpx.Request("POST", "https://graph.example/v21.0/1/messages")
    refused = transport_error(httpx.ConnectError("refused", request=request), "Graph API")
    assert not isinstance(refused, OutcomeUnknown)
    for later in (httpx.ReadTimeout("slow", request=request),
                  httpx.RemoteProtocolError("closed", request=request),
                  httpx.WriteError("cut", request=request)):
        assert isinstance(transport_error(later, "Graph API"), OutcomeUnknown)
