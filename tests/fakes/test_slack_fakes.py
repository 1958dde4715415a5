"""The fake Slack Web API and the signed request builders, exercised with the real
slack_sdk clients and verifier."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack, validate_blocks, validate_view
from tests.fakes.slack_requests import SlackRequests, signature

TOKEN = "xoxb-test"
SECRET = "signing-secret-for-tests"


@pytest.fixture
async def slack():
    async with FakeSlack(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# -- Web API ---------------------------------------------------------------------------


async def test_api_url_shape_and_auth_test(slack, client):
    assert slack.api_url.startswith("http://127.0.0.1:") and slack.api_url.endswith("/api/")
    resp = await client.auth_test()
    assert resp["user_id"] == "U0BOT" and resp["bot_id"] == "B0BOT"
    assert resp["team_id"] == "T0THREAD"
    call = slack.last("auth.test")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.ok and call.status == 200


async def test_post_message_records_full_body_and_echoes(slack, client):
    blocks = [section("*Card*"), {"type": "divider"}]
    resp = await client.chat_postMessage(
        channel="C1", text="hello", blocks=blocks, username="Ana Customer",
        icon_url="https://example.test/ana.png")
    parent_ts = resp["ts"]
    assert resp["channel"] == "C1"
    assert resp["message"]["blocks"] == blocks
    assert resp["message"]["username"] == "Ana Customer"
    assert resp["message"]["icons"] == {"image_48": "https://example.test/ana.png"}

    reply = await client.chat_postMessage(channel="C1", text="reply", thread_ts=parent_ts)
    assert reply["message"]["thread_ts"] == parent_ts
    assert float(reply["ts"]) > float(parent_ts)
    assert parent_ts.startswith("1700000000.") and len(parent_ts.split(".")[1]) == 6

    call = slack.calls("chat.postMessage")[0]
    assert call.content_type == "application/json"  # slack_sdk posts blocks as JSON
    assert json.loads(call.raw)["blocks"] == blocks
    assert call["icon_url"] == "https://example.test/ana.png" and call["username"]
    assert [m.text for m in slack.posts_in("C1")] == ["hello", "reply"]
    assert [m.text for m in slack.parents_in("C1")] == ["hello"]
    assert [m.ts for m in slack.thread_replies("C1", parent_ts)] == [reply["ts"]]


async def test_form_encoded_clients_are_understood(slack):
    # e.g. httpx with a real form body, blocks as a JSON string
    async with httpx.AsyncClient(base_url=slack.api_url) as http:
        r = await http.post("chat.postMessage", headers={"Authorization": f"Bearer {TOKEN}"},
                            data={"channel": "C9", "text": "x",
                                  "blocks": json.dumps([section("hi")])})
    assert r.status_code == 200 and r.json()["ok"]
    call = slack.last("chat.postMessage")
    assert call.body["blocks"].startswith("[")  # as sent
    assert call["blocks"] == [section("hi")]  # decoded in args
    assert slack.posts_in("C9")[0].blocks == [section("hi")]


async def test_update_delete_ephemeral_permalink(slack, client):
    posted = await client.chat_postMessage(channel="C1", text="v1", blocks=[section("v1")])
    ts = posted["ts"]
    upd = await client.chat_update(channel="C1", ts=ts, text="v2")
    assert upd["ts"] == ts and upd["text"] == "v2"
    msg = slack.message("C1", ts)
    assert msg.text == "v2" and msg.blocks == [section("v1")]  # blocks retained if omitted
    await client.chat_update(channel="C1", ts=ts, text="v3", blocks=[section("v3")])
    assert msg.blocks == [section("v3")] and len(msg.edits) == 2

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"

    human = slack.add_message("C1", "staff wrote this", user="U1")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts=human.ts, text="x")
    assert err.value.response["error"] == "cant_update_message"

    link = await client.chat_getPermalink(channel="C1", message_ts=ts)
    assert link["permalink"].endswith(f"/archives/C1/p{ts.replace('.', '')}")

    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert eph["message_ts"]
    assert slack.ephemerals_for("U1")[0]["text"] == "only you"

    await client.chat_delete(channel="C1", ts=ts)
    assert slack.posts_in("C1") == [human]
    assert slack.posts_in("C1", include_deleted=True)[0].deleted


async def test_reactions(slack, client):
    ts = (await client.chat_postMessage(channel="C1", text="m"))["ts"]
    await client.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")
    assert err.value.response["error"] == "already_reacted"
    assert slack.reactions_on("C1", ts) == ["white_check_mark"]
    await client.reactions_remove(channel="C1", timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError) as err:
        await client.reactions_remove(channel="C1", timestamp=ts, name="white_check_mark")
    assert err.value.response["error"] == "no_reaction"
    assert slack.reactions_on("C1", ts) == []


async def test_users_and_conversations(slack, client):
    slack.add_user("U1", "ana", real_name="Ana Silva", email="ana@example.test",
                   image_72="https://example.test/a72.png")
    info = await client.users_info(user="U1")
    user = info["user"]
    assert user["real_name"] == "Ana Silva" and user["is_bot"] is False
    assert user["profile"]["email"] == "ana@example.test"
    assert user["profile"]["image_72"] == "https://example.test/a72.png"
    assert (await client.users_info(user="U0BOT"))["user"]["is_bot"] is True
    by_mail = await client.users_lookupByEmail(email="ANA@example.test")
    assert by_mail["user"]["id"] == "U1"
    for call, error in ((client.users_info(user="U404"), "user_not_found"),
                        (client.users_lookupByEmail(email="x@y.z"), "users_not_found")):
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response["error"] == error

    dm = await client.conversations_open(users="U1")
    dm_id = dm["channel"]["id"]
    assert dm_id.startswith("D")
    again = await client.conversations_open(users="U1")
    assert again["channel"]["id"] == dm_id and again["already_open"]
    slack.add_channel("C7", "support")
    assert (await client.conversations_info(channel="C7"))["channel"]["name"] == "support"


async def test_strict_and_forbidden_channels(slack, client):
    slack.strict_channels = True
    slack.add_channel("C1", "inbox")
    await client.chat_postMessage(channel="C1", text="ok")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C2", text="no")
    assert err.value.response["error"] == "channel_not_found"
    slack.forbid_channel("C1", "not_in_channel")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="no")
    assert err.value.response["error"] == "not_in_channel"


async def test_message_limits(slack, client):
    too_many = [section(str(i)) for i in range(51)]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x", blocks=too_many)
    assert err.value.response["error"] == "invalid_blocks"
    assert "no more than 50" in err.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert err.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 3001)])
    assert err.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert err.value.response["error"] == "no_text"
    await client.chat_postMessage(channel="C1", text="x" * 40_000,
                                  blocks=[section(str(i)) for i in range(50)])


def test_block_validator_limits():
    select = {"type": "static_select", "action_id": "a",
              "options": [{"text": {"type": "plain_text", "text": "t"}, "value": "v" * 151}]}
    errors = validate_blocks([{"type": "actions", "elements": [select]}])
    assert errors == [
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]"]
    button = {"type": "button", "action_id": "b", "text": {"type": "plain_text",
                                                           "text": "x" * 76}}
    assert validate_blocks([{"type": "actions", "elements": [button]}])
    assert validate_blocks([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}])
    assert validate_blocks([{"type": "nope"}])
    assert validate_view({"type": "modal", "title": {"type": "plain_text", "text": "x" * 25},
                          "blocks": []})
    assert not validate_view({"type": "modal", "title": {"type": "plain_text", "text": "ok"},
                              "blocks": [section("a")] * 100})
    assert validate_view({"type": "home", "blocks": [section("a")] * 101})


async def test_views(slack, client):
    modal = {"type": "modal", "callback_id": "note",
             "title": {"type": "plain_text", "text": "Note"},
             "submit": {"type": "plain_text", "text": "Save"},
             "private_metadata": "conv-1", "blocks": [section("hi")]}
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "note"
    assert view["private_metadata"] == "conv-1" and view["state"] == {"values": {}}
    assert slack.last("views.open")["view"]["title"]["text"] == "Note"

    updated = await client.views_update(view_id=view["id"], view={**modal, "blocks": []})
    assert updated["view"]["id"] == view["id"] and updated["view"]["blocks"] == []
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=view["id"], hash="stale", view=modal)
    assert err.value.response["error"] == "hash_conflict"
    pushed = await client.views_push(trigger_id="t2", view=modal)
    assert pushed["view"]["id"] != view["id"]

    home = {"type": "home", "blocks": [section("inbox")] * 100}
    pub = await client.views_publish(user_id="U1", view=home)
    assert pub["view"]["type"] == "home"
    assert slack.home_views["U1"]["blocks"] == home["blocks"]

    for bad in ({"blocks": []}, {"type": "home", "blocks": [section("x")] * 101}):
        with pytest.raises(SlackApiError) as err:
            await client.views_publish(user_id="U1", view=bad)
        assert err.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="t", view={**modal, "blocks": [section("x")] * 101})
    assert err.value.response["error"] == "invalid_arguments"


async def test_files_upload_v2_round_trip_into_thread(slack, client):
    parent = await client.chat_postMessage(channel="C1", text="card")
    content = bytes(range(256)) * 40
    resp = await client.files_upload_v2(
        channel="C1", thread_ts=parent["ts"], content=content, filename="invoice.pdf",
        title="Invoice", initial_comment="from the customer")
    file_id = resp["file"]["id"]
    assert resp["files"] == [{"id": file_id, "title": "Invoice"}]
    assert slack.file_bytes(file_id) == content
    complete = slack.last("files.completeUploadExternal")
    assert complete["channel_id"] == "C1" and complete["thread_ts"] == parent["ts"]
    assert complete["initial_comment"] == "from the customer"
    assert complete["files"] == [{"id": file_id, "title": "Invoice"}]
    assert slack.last("files.getUploadURLExternal")["length"] == str(len(content))
    assert [f.id for f in slack.uploads_in("C1", parent["ts"])] == [file_id]
    share = slack.thread_replies("C1", parent["ts"])
    assert len(share) == 1 and share[0].files[0].id == file_id

    info = await client.files_info(file=file_id)
    assert info["file"]["name"] == "invoice.pdf" and info["file"]["size"] == len(content)
    assert info["file"]["mimetype"] == "application/pdf"
    async with httpx.AsyncClient() as http:
        got = await http.get(info["file"]["url_private"],
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert got.content == content
        no_auth = await http.get(info["file"]["url_private"])
        assert no_auth.headers["content-type"].startswith("text/html")


async def test_a_file_share_with_blocks_is_one_message_listed_in_the_files_shares(slack, client):
    parent = await client.chat_postMessage(channel="C1", text="card")
    slot = await client.files_getUploadURLExternal(filename="a.jpg", length=3)
    async with httpx.AsyncClient() as http:
        assert (await http.post(slot["upload_url"], content=b"abc")).status_code == 200
    files = [{"id": slot["file_id"], "title": "a.jpg"}]
    with pytest.raises(SlackApiError) as err:  # as Slack answers a markdown block here
        await client.api_call("files.completeUploadExternal", json={
            "files": files, "channel_id": "C1", "thread_ts": parent["ts"],
            "blocks": [{"type": "markdown", "text": "**x**"}]})
    assert err.value.response["error"] == "internal_error"
    await client.api_call("files.completeUploadExternal", json={
        "files": files, "channel_id": "C1", "thread_ts": parent["ts"], "blocks": [section("hola")]})
    [post] = slack.thread_replies("C1", parent["ts"])
    assert post.blocks == [section("hola")] and [f.id for f in post.files] == [slot["file_id"]]

    slack.list_shares_late(1)
    assert "shares" not in (await client.files_info(file=slot["file_id"]))["file"]
    shares = (await client.files_info(file=slot["file_id"]))["file"]["shares"]
    assert shares["public"]["C1"][0]["ts"] == post.ts
    assert shares["public"]["C1"][0]["thread_ts"] == parent["ts"]


async def test_staff_file_download(slack):
    f = slack.add_file(b"%PNG...", "shot.png")
    assert f.to_api()["mimetype"] == "image/png"
    async with httpx.AsyncClient() as http:
        got = await http.get(f.url_private, headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 200 and got.content == b"%PNG..."
    assert slack.last("download").status == 200


async def test_auth_failures(slack):
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await wrong.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "invalid_auth"
    missing = AsyncWebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await missing.auth_test()
    assert err.value.response["error"] == "not_authed"
    assert slack.posts_in("C1") == []


async def test_unknown_method(slack, client):
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.doesNotExist", params={"a": "b"})
    assert err.value.response["error"] == "unknown_method"


async def test_injected_429_surfaces_retry_after(slack, client):
    slack.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    resp = err.value.response
    assert resp.status_code == 429 and resp["error"] == "ratelimited"
    assert resp.headers["Retry-After"] == "7"
    assert slack.rate_limited_count == 1
    await client.chat_postMessage(channel="C1", text="x")  # only the next call
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]


async def test_injected_5xx_and_errors(slack, client):
    slack.fail_next("chat.update", status=503, times=2)
    slack.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    ts = (await client.chat_postMessage(channel="C1", text="x"))["ts"]
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C1", ts=ts, text="y")
        assert err.value.response.status_code == 503
    await client.chat_update(channel="C1", ts=ts, text="y")
    slack.error_next("users.info", "ratelimited_custom")
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0BOT")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "ratelimited_custom"


async def test_per_channel_rate_limiter(slack, client):
    slack.set_channel_rate(per_second=1, burst=3)
    for _ in range(3):
        await client.chat_postMessage(channel="C1", text="burst")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="over")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C2", text="other channel has its own bucket")
    assert slack.rate_limited_count == 1
    assert len(slack.posts_in("C1")) == 3


async def test_rate_limiter_refills_with_fractional_retry_after():
    now = [100.0]
    async with FakeSlack(token=TOKEN, clock=lambda: now[0]) as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
        slack.set_channel_rate(per_second=20, burst=2, fractional_retry_after=True)
        await client.chat_postMessage(channel="C1", text="1")
        await client.chat_postMessage(channel="C1", text="2")
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="3")
        assert err.value.response.headers["Retry-After"] == "0.050"
        now[0] += 0.05
        await client.chat_postMessage(channel="C1", text="3")
        assert [m.text for m in slack.posts_in("C1")] == ["1", "2", "3"]
        slack.set_method_rate("chat.update", per_second=50 / 60, burst=1)
        ts = slack.posts_in("C1")[0].ts
        await client.chat_update(channel="C1", ts=ts, text="a")
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C2", ts=ts, text="b")
        assert err.value.response.headers["Retry-After"] == "2"  # ceil(1.2 s)


async def test_sdk_rate_limit_retry_handler_honours_retry_after(slack):
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    slack.rate_limit_next("chat.postMessage", retry_after=0)
    await client.chat_postMessage(channel="C1", text="eventually")
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert len(slack.posts_in("C1")) == 1


async def test_outage_mode(slack, client):
    slack.set_down(True)
    for call in (client.chat_postMessage(channel="C1", text="x"), client.auth_test()):
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response.status_code == 503
    slack.set_down(False)
    await client.chat_postMessage(channel="C1", text="after")
    assert [m.text for m in slack.posts_in("C1")] == ["after"]
    assert [c.status for c in slack.calls()] == [503, 503, 200]


async def test_wait_helpers(slack, client):
    import asyncio

    async def later():
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="late")

    task = asyncio.create_task(later())
    calls = await slack.wait_calls("chat.postMessage", 1, timeout=2)
    assert calls[0]["text"] == "late"
    await task
    with pytest.raises(TimeoutError):
        await slack.wait_for(lambda: len(slack.posts_in("C1")) > 1, timeout=0.05)


# -- signed inbound requests ------------------------------------------------------------


@pytest.fixture
def req():
    return SlackRequests(SECRET)


def test_signature_format(req):
    body, headers = req.url_verification("abc", timestamp=1_700_000_000)
    expected = signature(SECRET, 1_700_000_000, body)
    assert headers["X-Slack-Signature"] == expected and expected.startswith("v0=")
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert json.loads(body) == {"token": req.verification_token, "challenge": "abc",
                                "type": "url_verification"}


def test_verifier_accepts_signed_and_rejects_tampered_or_stale(req):
    verifier = SignatureVerifier(SECRET)
    samples = [
        req.event(req.message_event("C1", "hello", user="U1")),
        req.slash_command("/inbox", "mine", user_id="U1", channel_id="C1"),
        req.block_actions(req.action("resolve", value="conv-1"), user="U1", channel="C1",
                          message_ts="1700000000.000100"),
        req.view_submission(user="U1", callback_id="note", private_metadata="conv-1",
                            values={"b": {"a": {"type": "plain_text_input", "value": "x"}}}),
        req.interactive(req.message_action_payload("note", user="U1", channel="C1",
                                                   message_ts="1.2")),
        req.interactive(req.shortcut_payload("new_conversation", user="U1")),
        req.url_verification(),
    ]
    for signed in samples:
        assert verifier.is_valid_request(signed.body, signed.headers)
        assert not verifier.is_valid_request(signed.tampered().body, signed.headers)
        assert not SignatureVerifier("other-secret").is_valid_request(*signed)
    stale = req.event(req.message_event("C1", "old", user="U1"),
                      timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(stale.body, stale.headers)


def test_payload_shapes(req):
    ev = req.event(req.app_mention_event("C1", f"{req.mention()} snooze 2h", user="U1",
                                         thread_ts="1700000000.000100"),
                   event_id="Ev1", retry_num=1)
    data = ev.data
    assert data["type"] == "event_callback" and data["event_id"] == "Ev1"
    assert data["event"]["text"].startswith("<@U0BOT>") and data["api_app_id"] == "A0THREAD"
    assert ev.headers["X-Slack-Retry-Num"] == "1"

    reply = req.message_event("C1", "thanks", user="U1", thread_ts="1700000000.000100",
                              files=[{"id": "F1", "url_private": "u"}])
    assert reply["subtype"] == "file_share" and reply["thread_ts"] == "1700000000.000100"
    assert req.bot_message_event("C1", "echo")["bot_id"] == "B0BOT"
    changed = req.message_changed_event("C1", "1.000100", "new", user="U1")
    assert changed["message"]["text"] == "new" and changed["subtype"] == "message_changed"

    act = req.block_actions(req.action("assign", type="users_select", selected_user="U2"),
                            user="U1", channel="C1", message_ts="1700000000.000100",
                            thread_ts="1700000000.000100")
    body = act.body.decode()
    assert body.startswith("payload=") and act.headers["Content-Type"].startswith(
        "application/x-www-form-urlencoded")
    p = act.data
    assert p["type"] == "block_actions" and p["actions"][0]["selected_user"] == "U2"
    assert p["container"]["channel_id"] == "C1" and p["trigger_id"]
    assert p["channel"]["id"] == "C1" and p["user"]["id"] == "U1"

    sub = req.view_submission({"id": "V1", "type": "modal", "callback_id": "x"},
                              user="U1", private_metadata="m").data
    assert sub["view"]["callback_id"] == "x" and sub["view"]["private_metadata"] == "m"

    cmd = req.slash_command("/inbox", "search foo", user_id="U1", channel_id="C1").data
    assert cmd["command"] == "/inbox" and cmd["text"] == "search foo"
    assert cmd["response_url"].startswith("https://hooks.slack.com/commands/")


def test_socket_mode_envelopes(req):
    ev = SocketModeRequest.from_dict(req.socket_event(req.message_event("C1", "x", user="U1")))
    assert ev.type == "events_api" and ev.payload["event"]["text"] == "x"
    inter = SocketModeRequest.from_dict(
        req.socket_interactive(req.view_submission_payload(user="U1", callback_id="n")))
    assert inter.type == "interactive" and inter.accepts_response_payload
    cmd = SocketModeRequest.from_dict(
        req.socket_slash_command("/inbox", "help", user_id="U1", channel_id="C1"))
    assert cmd.type == "slash_commands" and cmd.payload["text"] == "help"


# -- Socket Mode ------------------------------------------------------------------------


async def test_socket_mode_with_sdk_client(slack, req):
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.response import SocketModeResponse

    web_client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    sm = SocketModeClient(app_token="xapp-test", web_client=web_client)
    seen = []

    async def listener(client, request):
        seen.append(request.payload)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"ok": 1}))

    sm.socket_mode_request_listeners.append(listener)
    await sm.connect()
    try:
        ack = await slack.socket_send(req.socket_event(req.message_event("C1", "hi", user="U1")))
        assert ack["payload"] == {"ok": 1}
        assert seen[0]["event"]["text"] == "hi"
        assert slack.last("apps.connections.open").ok
    finally:
        await sm.close()


async def test_app_token_rules(slack):
    bot = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await bot.apps_connections_open(app_token=TOKEN)
    assert err.value.response["error"] == "not_allowed_token_type"
    app = AsyncWebClient(token="xapp-test", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await app.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "not_allowed_token_type"


async def test_bolt_app_over_socket_mode_and_http(slack, req):
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.app.async_app import AsyncApp
    from slack_bolt.request.async_request import AsyncBoltRequest

    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=slack.api_url),
                   signing_secret=SECRET)

    @app.event("message")
    async def on_message(event, say):
        await say(text=f"echo: {event['text']}", thread_ts=event["ts"])

    @app.command("/inbox")
    async def on_inbox(ack, command):
        await ack(f"usage for {command['text']!r}")

    handler = AsyncSocketModeHandler(app, "xapp-test")
    await handler.connect_async()
    try:
        event = req.message_event("C1", "over socket", user="U1")
        await slack.socket_send(req.socket_event(event))
        await slack.wait_for(lambda: slack.posts_in("C1"))
        post = slack.posts_in("C1")[0]
        assert post.text == "echo: over socket" and post.thread_ts == event["ts"]
        ack = await slack.socket_send(
            req.socket_slash_command("/inbox", "bogus", user_id="U1", channel_id="C1"))
        assert ack["payload"]["text"] == "usage for 'bogus'"
    finally:
        await handler.close_async()

    # the same app over HTTP, with signed requests (what /slack/events receives)
    body, headers = req.event(req.message_event("C2", "over http", user="U1"))
    resp = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert resp.status == 200
    await slack.wait_for(lambda: slack.posts_in("C2"))
    stale = req.event(req.message_event("C2", "stale", user="U1"),
                      timestamp=int(time.time()) - 400)
    resp = await app.async_dispatch(AsyncBoltRequest(body=stale.body.decode(),
                                                     headers=stale.headers))
    assert resp.status == 401


# -- workspace set-up: scopes, membership, archived channels ------------------------------


async def test_auth_test_names_the_granted_scopes(slack, client):
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "manifest.yml").read_text(encoding="utf-8"))
    resp = await client.auth_test()
    granted = resp.headers["x-oauth-scopes"].split(",")
    assert granted == manifest["oauth_config"]["scopes"]["bot"]
    slack.scopes = ["chat:write", "channels:read"]
    resp = await client.auth_test()
    assert resp.headers["X-OAuth-Scopes"] == "chat:write,channels:read"
    # the bot token's scopes only: app-token and refused calls carry none
    app = AsyncWebClient(token="xapp-test", base_url=slack.api_url)
    opened = await app.apps_connections_open(app_token="xapp-test")
    assert "x-oauth-scopes" not in opened.headers
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    assert "x-oauth-scopes" not in err.value.response.headers


async def test_conversations_info_and_list_reflect_membership_and_archiving(slack, client):
    slack.add_channel("C0OUTSIDE1", "outside", is_member=False)
    slack.add_channel("C0ARCHIVE1", "old", is_archived=True)
    slack.add_channel("G0SECRET01", "secret", is_private=True)
    outside = (await client.conversations_info(channel="C0OUTSIDE1"))["channel"]
    assert outside["is_member"] is False and outside["is_archived"] is False
    old = (await client.conversations_info(channel="C0ARCHIVE1"))["channel"]
    assert old["is_archived"] is True and old["is_member"] is True
    listed = await client.conversations_list(types="public_channel,private_channel",
                                             exclude_archived=True)
    names = {c["name"] for c in listed["channels"]}
    assert {"outside", "secret"} <= names and "old" not in names
    everything = await client.conversations_list(types="public_channel")
    assert {"outside", "old"} <= {c["name"] for c in everything["channels"]}
    assert "secret" not in {c["name"] for c in everything["channels"]}
