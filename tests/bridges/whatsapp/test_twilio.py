"""Twilio webhooks (signed as Twilio signs them) and sends through the fake Twilio API."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from core.delivery import PermanentError, RetryAfter, TransientError
from core.model import Actor, Attachment, Channel, DeliveryStatus, Template
from tests.bridges.whatsapp.conftest import PUBLIC, TW_SID, TW_TOKEN, bridge
from tests.bridges.whatsapp.helpers import Parts, all_messages, counts
from tests.bridges.whatsapp.payloads import signed_twilio, twilio_inbound, twilio_status
from tests.fakes.twilio_api import twilio_error

AGENT = Actor.agent(1)
SID = "SM" + "a" * 32


async def post(client, path: str, form: dict[str, str], token: str = TW_TOKEN,
               url: str | None = None):
    body, headers = signed_twilio(token, url or PUBLIC + path, form)
    return await client.post(path, content=body, headers=headers)


async def test_inbound_text_validated_over_the_public_url(client, runtime):
    r = await post(client, "/webhooks/twilio", twilio_inbound(SID, body="Hola 👋"))
    assert r.status_code == 200, r.text
    assert "<Response>" in r.text
    [msg] = await all_messages(runtime.inbox)
    assert msg.body == "Hola 👋" and msg.meta["WaId"] == "16505551234"
    details = await runtime.inbox.conversation(msg.conversation_id)
    assert details.contact.address == "+16505551234" and details.contact.name == "Sheena Nelson"
    assert details.conversation.account == "tw"


async def test_signature_over_the_internal_url_is_refused(client, engine):
    before = await counts(engine)
    form = twilio_inbound(SID)
    r = await post(client, "/webhooks/twilio", form, url="http://internal:8000/webhooks/twilio")
    assert r.status_code == 403
    r = await post(client, "/webhooks/twilio", form, token="wrong-token")
    assert r.status_code == 403
    body, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio", form)
    tampered = body.replace(b"Hello", b"Howdy")
    assert (await client.post("/webhooks/twilio", content=tampered,
                              headers=headers)).status_code == 403
    del headers["X-Twilio-Signature"]
    assert (await client.post("/webhooks/twilio", content=body,
                              headers=headers)).status_code == 403
    assert await counts(engine) == before


async def test_query_string_is_part_of_the_signed_url(client, runtime):
    path = "/webhooks/twilio?tenant=shop"
    r = await post(client, path, twilio_inbound(SID), url=PUBLIC + path)
    assert r.status_code == 200


async def test_bad_forms_get_400_or_415(client, engine):
    before = await counts(engine)
    r = await post(client, "/webhooks/twilio", {"Body": "no sid", "From": "whatsapp:+1"})
    assert r.status_code == 400 and "MessageSid" in r.json()["error"]
    r = await post(client, "/webhooks/twilio", {**twilio_inbound(SID), "From": ""})
    assert r.status_code == 400 and "From and To" in r.json()["error"]
    r = await client.post("/webhooks/twilio", content=b'{"a": 1}',
                          headers={"Content-Type": "application/json",
                                   "X-Twilio-Signature": "x"})
    assert r.status_code == 415
    assert await counts(engine) == before


async def test_odd_media_fields_keep_the_message_and_say_so(client, runtime):
    # Twilio does not redeliver what we answer with a 4xx: store what can be read.
    r = await post(client, "/webhooks/twilio", twilio_inbound(SID, body="hi", NumMedia="two"))
    assert r.status_code == 200, r.text
    r = await post(client, "/webhooks/twilio", twilio_inbound("SM2", body="yo", NumMedia="1"))
    assert r.status_code == 200, r.text
    first, second = await all_messages(runtime.inbox)
    assert first.body == "hi" and first.attachments == []
    assert "NumMedia 'two' is not a media count" in first.meta["form_problems"]
    assert second.body == "yo" and second.meta["form_problems"] == ["MediaUrl0 is missing"]


async def test_duplicates_store_one_message(client, engine):
    for _ in range(3):
        assert (await post(client, "/webhooks/twilio", twilio_inbound(SID))).status_code == 200
    assert (await counts(engine))["messages"] == 1


async def test_location_button_and_unknown_types(client, runtime):
    await post(client, "/webhooks/twilio", twilio_inbound(
        "SM1", body="", MessageType="location", Latitude="40.4168", Longitude="-3.7038",
        Address="Puerta del Sol", Label="Shop"))
    await post(client, "/webhooks/twilio", twilio_inbound(
        "SM2", body="", MessageType="button", ButtonText="Yes", ButtonPayload="YES_1"))
    await post(client, "/webhooks/twilio", twilio_inbound("SM3", body="",
                                                         MessageType="hologram"))
    loc, button, unknown = await all_messages(runtime.inbox)
    assert "Puerta del Sol" in loc.body and "maps.google.com/?q=40.4168,-3.7038" in loc.body
    assert button.body == "Yes" and button.meta["ButtonPayload"] == "YES_1"
    assert unknown.body == "[unsupported WhatsApp message: hologram]"


async def _sent_message(runtime, client, sid="SMOUT"):
    await post(client, "/webhooks/twilio", twilio_inbound("SMIN"))
    [first] = await all_messages(runtime.inbox)
    out = await runtime.inbox.reply(first.conversation_id, "Thanks!", AGENT)
    return first.conversation_id, out


async def test_status_callbacks_map_and_stay_monotone(client, runtime):
    conv, out = await _sent_message(runtime, client)
    sid = "SM" + "b" * 32
    assert (await post(client, "/webhooks/twilio/status",
                       twilio_status(sid, "delivered"))).status_code == 204
    await runtime.inbox.mark_sent(out.id, "twilio", sid)  # status came before the send
    for value in ("queued", "sending", "sent", "read", "delivered"):
        await post(client, "/webhooks/twilio/status", twilio_status(sid, value))
    msg = (await runtime.inbox.thread(conv))[-1]
    assert msg.delivery_status is DeliveryStatus.READ


async def test_undelivered_63016_is_a_window_failure(client, runtime):
    conv, out = await _sent_message(runtime, client)
    await runtime.inbox.mark_sent(out.id, "twilio", "SMfail")
    await post(client, "/webhooks/twilio/status",
               twilio_status("SMfail", "undelivered", ErrorCode="63016"))
    msg = (await runtime.inbox.thread(conv))[-1]
    assert msg.delivery_status is DeliveryStatus.FAILED and msg.error_code == "63016"
    assert "outside the 24 h window" in msg.error_text


async def test_send_text_and_media_through_the_api(client, runtime, twilio_fake):
    conv, out = await _sent_message(runtime, client)
    key = await runtime.files.put(b"%PDF", "a.pdf", "application/pdf")
    await runtime.inbox.reply(conv, "with file", AGENT,
                              attachments=[Attachment("a.pdf", "application/pdf", 4, key)])
    await runtime.dispatcher.drain()
    first, second = twilio_fake.of("POST", f"/2010-04-01/Accounts/{TW_SID}/Messages.json")
    form = twilio_fake.form(first)
    assert form["From"] == ["whatsapp:+14155238886"] and form["To"] == ["whatsapp:+16505551234"]
    assert form["Body"] == ["Thanks!"]
    assert form["StatusCallback"] == [PUBLIC + "/webhooks/twilio/status"]
    media = twilio_fake.form(second)
    [media_url] = media["MediaUrl"]
    assert media_url.startswith(PUBLIC + "/webhooks/twilio/media/")
    # The signed link serves the stored bytes; a forged one is refused.
    parts = urlsplit(media_url)
    path = parts.path.removeprefix(urlsplit(PUBLIC).path)
    served = await client.get(path, params={k: v[0] for k, v in parse_qs(parts.query).items()})
    assert served.status_code == 200 and served.content == b"%PDF"
    assert (await client.get(path, params={"e": "9999999999", "s": "forged"})).status_code == 403
    link = await runtime.inbox.find_link("twilio", "SM" + "0" * 31 + "1")
    assert link.message_id == out.id


async def test_template_send_uses_content_sid_and_variables(runtime, client, twilio_fake):
    await runtime.inbox.upsert_template(Template(
        "appointment", Channel.WHATSAPP, "Your appointment is {{1}} at {{2}}", ["1", "2"],
        provider_name="HX" + "c" * 32, account="tw"), AGENT)
    await runtime.inbox.start_conversation("tw", "+16505551234", AGENT,
                                           template_name="appointment",
                                           values={"1": "Monday", "2": "10:00"})
    await runtime.dispatcher.drain()
    [sent] = twilio_fake.of("POST", "/Messages.json")
    form = twilio_fake.form(sent)
    assert form["ContentSid"] == ["HX" + "c" * 32] and "Body" not in form
    assert json.loads(form["ContentVariables"][0]) == {"1": "Monday", "2": "10:00"}


async def test_twilio_error_mapping(runtime, client, twilio_fake):
    tw = bridge(runtime, "twilio")
    conv, out = await _sent_message(runtime, client)
    ctx = await runtime.inbox.outbound_context(out.id)
    twilio_fake.fail_next(400, twilio_error(63016, "Failed to send freeform message because "
                                                   "you are outside the allowed window."))
    with pytest.raises(PermanentError) as window:
        await tw.send(ctx, Parts())
    assert window.value.code == "63016" and "use a template" in window.value.text
    twilio_fake.fail_next(429, twilio_error(20429, "Too Many Requests", 429),
                          {"Retry-After": "12"})
    with pytest.raises(RetryAfter) as limited:
        await tw.send(ctx, Parts())
    assert limited.value.seconds == 12
    twilio_fake.fail_next(500, twilio_error(20500, "Internal Server Error", 500))
    with pytest.raises(TransientError):
        await tw.send(ctx, Parts())
    twilio_fake.fail_next(400, twilio_error(21211, "Invalid 'To' Phone Number"))
    with pytest.raises(PermanentError) as invalid:
        await tw.send(ctx, Parts())
    assert invalid.value.code == "21211"


async def test_wrong_credentials_are_refused_by_the_fake(runtime, client, twilio_fake):
    tw = bridge(runtime, "twilio")
    conv, out = await _sent_message(runtime, client)
    ctx = await runtime.inbox.outbound_context(out.id)
    tw.senders["tw"].api.client.password = "not-the-token"
    tw.senders["tw"].api.client.auth = (TW_SID, "not-the-token")
    with pytest.raises(PermanentError) as denied:
        await tw.send(ctx, Parts())
    assert "authentication failed" in denied.value.text



async def test_a_send_left_unknown_by_a_crash_is_looked_up_not_repeated(client, runtime,
                                                                        twilio_fake):
    """Twilio accepted the message, then the worker died before recording it: the retry
    finds it in Twilio's message list instead of sending it again."""
    conv, out = await _sent_message(runtime, client)
    await runtime.inbox.begin_send(out.id)  # the attempt began...
    bridge = next(i.bridge for i in runtime.integrations if i.name == "twilio")
    sid = await bridge.senders["tw"].api.send(
        from_="whatsapp:+14155238886", to="whatsapp:+16505551234", body="Thanks!")
    # ...and Twilio took it; nothing was recorded (kill -9 here). Then the row runs again:
    await runtime.dispatcher.drain()
    assert len(twilio_fake.of("POST", f"/2010-04-01/Accounts/{TW_SID}/Messages.json")) == 1
    stored = await runtime.inbox.message(out.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")
    assert (await runtime.inbox.find_link("twilio", sid)).message_id == out.id


async def test_an_unknown_send_twilio_has_not_seen_goes_out_once(client, runtime, twilio_fake):
    conv, out = await _sent_message(runtime, client)
    await runtime.inbox.begin_send(out.id)  # began, died before calling Twilio
    await runtime.dispatcher.drain()
    assert len(twilio_fake.of("POST", f"/2010-04-01/Accounts/{TW_SID}/Messages.json")) == 1
    stored = await runtime.inbox.message(out.id)
    assert stored.delivery_status is DeliveryStatus.SENT and not stored.meta.get(
        "maybe_sent_twice")
