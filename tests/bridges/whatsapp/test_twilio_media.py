"""Twilio media: stored pending inside the ack, fetched by the outbox job from Twilio's
hosts only (https, default port, every redirect hop checked), refusals told in the body."""

from __future__ import annotations

from bridges.twilio.api import MAX_REDIRECTS
from tests.bridges.whatsapp.conftest import PUBLIC, TW_SID, TW_TOKEN
from tests.bridges.whatsapp.helpers import all_messages
from tests.bridges.whatsapp.payloads import signed_twilio, twilio_inbound
from threadline.integrations.twilio import media_policy

JPEG = b"\xff\xd8jpeg"
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{TW_SID}/Messages/MM1/Media/ME5"


async def post(client, sid: str, *urls: str, body: str = "photos"):
    form = twilio_inbound(sid, body=body, NumMedia=str(len(urls)), MessageType="image")
    for i, url in enumerate(urls):
        form[f"MediaUrl{i}"], form[f"MediaContentType{i}"] = url, "image/jpeg"
    signed, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio", form)
    r = await client.post("/webhooks/twilio", content=signed, headers=headers)
    assert r.status_code == 200, r.text


async def message_changes(runtime) -> list[tuple[str, int]]:
    return [(r["payload"]["change"], r["payload"]["index"]) for r in await runtime.outbox.rows()
            if r["kind"] == "slack:message_changed"]


async def test_media_is_fetched_after_the_ack(client, runtime, twilio_fake):
    ok = twilio_fake.media_url("ME1", JPEG, "image/jpeg")
    big = twilio_fake.media_url("ME2", b"x" * (5 * 1024 * 1024 + 1), "image/jpeg")
    await post(client, "SM4", ok, big)
    [msg] = await all_messages(runtime.inbox)
    assert [a.pending_ref for a in msg.attachments] == [ok, big]
    assert [(e["index"], e["ref"]) for e in msg.meta["media_pending"]] == [(0, ok), (1, big)]
    assert not twilio_fake.of("GET", "/Media/")  # nothing fetched before the 200

    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    first, too_big = msg.attachments
    assert await runtime.files.get(first.storage_key) == JPEG
    assert first.size == len(JPEG) and first.pending_ref is None
    assert too_big.storage_key is None and too_big.pending_ref is None
    assert "over WhatsApp's 5.0 MB limit" in msg.body and msg.body.startswith("photos\n")
    assert "media_pending" not in msg.meta
    assert await message_changes(runtime) == [("media", 0), ("media_unavailable", 1)]
    media_gets = twilio_fake.of("GET", "/Media/")
    assert len(media_gets) == 2 and all(r.headers["authorization"].startswith("Basic ")
                                        for r in media_gets)
    # The CDN redirect target gets no credentials.
    cdn = twilio_fake.of("GET", "/cdn/")
    assert cdn and all("authorization" not in r.headers for r in cdn)


async def test_plain_http_and_other_ports_are_refused_inside_the_ack(client, runtime,
                                                                    twilio_fake):
    await post(client, "SM5", TWILIO_MEDIA.replace("https:", "http:"),
               TWILIO_MEDIA.replace("api.twilio.com", "api.twilio.com:8443"),
               "http://169.254.169.254/latest/meta-data")
    [msg] = await all_messages(runtime.inbox)
    assert all(a.storage_key is None and a.pending_ref is None for a in msg.attachments)
    assert "http scheme is refused (https only)" in msg.body
    assert "port 8443 is refused (default port only)" in msg.body
    assert "169.254.169.254 is not a Twilio media host" in msg.body
    assert msg.body.count("could not be downloaded") == 3
    assert [e["index"] for e in msg.meta["media_errors"]] == [0, 1, 2]
    assert not [r for r in await runtime.outbox.rows() if r["kind"].startswith("fetch_media")]


async def test_a_redirect_to_another_host_is_refused(client, runtime, twilio_fake):
    url = twilio_fake.media_url("ME8", JPEG, "image/jpeg")
    port = twilio_fake.server.server_address[1]
    twilio_fake.fail_next(307, b"", {"Location": f"http://localhost:{port}/cdn/ME8"},
                          path_contains="/Media/ME8")
    await post(client, "SM6", url, body="")
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    [attachment] = msg.attachments
    assert attachment.storage_key is None and attachment.pending_ref is None
    assert "media redirect refused: localhost is not a Twilio media host" in msg.body
    assert "ask the customer to resend" in msg.body
    assert not twilio_fake.of("GET", "/cdn/")  # the refused hop was never requested
    assert await message_changes(runtime) == [("media_unavailable", 0)]


async def test_redirects_are_followed_at_most_five_times(client, runtime, twilio_fake):
    url = twilio_fake.media_url("ME9", JPEG, "image/jpeg")
    for _ in range(MAX_REDIRECTS + 1):  # the API, then the CDN, keep redirecting
        twilio_fake.fail_next(302, b"", {"Location": "/cdn/ME9"}, path_contains="ME9")
    await post(client, "SM7", url)
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    assert f"more than {MAX_REDIRECTS} redirects" in msg.body
    hops = twilio_fake.of("GET", "ME9")
    assert [r.path.split("/")[1] for r in hops] == ["2010-04-01"] + ["cdn"] * MAX_REDIRECTS
    # Only the first request carried the account's credentials.
    assert ["authorization" in r.headers for r in hops] == [True] + [False] * MAX_REDIRECTS


async def test_a_redelivered_message_fetches_nothing_twice(client, runtime, twilio_fake):
    url = twilio_fake.media_url("ME3", JPEG, "image/jpeg")
    await post(client, "SM8", url)
    await runtime.dispatcher.drain()
    await post(client, "SM8", url)
    await runtime.dispatcher.drain()
    assert len(await all_messages(runtime.inbox)) == 1
    assert len(twilio_fake.of("GET", "/Media/ME3")) == 1


def test_only_a_non_default_api_url_widens_the_policy_to_its_own_origin(twilio_fake):
    production = media_policy("https://api.twilio.com")
    assert production.origins == frozenset()
    assert production.refusal(TWILIO_MEDIA) is None
    assert production.refusal("https://mms.twiliocdn.com/AC1/abc") is None
    assert production.refusal(twilio_fake.url + "/x") is not None  # loopback: tests only
    testing = media_policy(twilio_fake.url)
    assert testing.refusal(twilio_fake.url + "/2010-04-01/Accounts/x/Media/ME1") is None
    host, port = twilio_fake.server.server_address[:2]
    assert testing.refusal(f"http://{host}:{port + 1}/x") is not None  # that origin only
    assert testing.refusal(TWILIO_MEDIA.replace("https:", "http:")) is not None
