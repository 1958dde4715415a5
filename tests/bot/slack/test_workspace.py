"""bot.slack.workspace against the fake Slack Web API on a real socket."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.workspace import (
    AUTH_ERRORS,
    BOT_NAME,
    REQUIRED_SCOPES,
    SlackSetupError,
    WorkspaceCheck,
    auth_problem,
    check_workspace,
    is_channel_id,
    resolve_channels,
)
from tests.fakes.slack_api import FakeSlack

BOT, APP = "xoxb-workspace-test", "xapp-workspace-test"
INBOX, SALES, VIP = "C0INBOX001", "C0SALES001", "G0VIP00001"
MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[3] / "manifest.yml").read_text())


@pytest.fixture
async def slack():
    async with FakeSlack(token=BOT, app_token=APP, strict_channels=True) as fake:
        fake.add_channel(INBOX, "support")
        fake.add_channel(SALES, "sales")
        fake.add_channel(VIP, "vip-customers", is_private=True)
        yield fake


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=BOT, base_url=slack.api_url)


def by_name(checks: list[WorkspaceCheck]) -> dict[str, WorkspaceCheck]:
    return {c.name: c for c in checks}


# -- constants and small helpers ----------------------------------------------------------


def test_required_scopes_are_the_manifests():
    assert list(REQUIRED_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]
    assert BOT_NAME == MANIFEST["features"]["bot_user"]["display_name"]


def test_auth_errors_cover_the_unusable_token_codes():
    assert {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
            "not_allowed_token_type", "invalid_token"} <= AUTH_ERRORS
    assert "missing_scope" not in AUTH_ERRORS and "channel_not_found" not in AUTH_ERRORS


@pytest.mark.parametrize("value, expected", [
    ("C0INBOX001", True), ("G0VIP00001", True), ("D012345678", True), ("C12345678", True),
    ("C0INBOX", True),  # upper case is never a channel name, so shorter ids pass too
    ("C1", False), ("support", False), ("#support", False), ("c0inbox001", False),
    ("Csupport", False), ("U012345678", False), ("C0INBOX001 ", False), ("", False),
])
def test_is_channel_id(value, expected):
    assert is_channel_id(value) is expected


def test_auth_problem_sentences():
    bot = auth_problem("invalid_auth", "SLACK_BOT_TOKEN")
    assert bot.startswith("SLACK_BOT_TOKEN was refused by Slack (invalid_auth): ")
    assert "Bot User OAuth Token (xoxb-…) from OAuth & Permissions" in bot
    app = auth_problem("invalid_auth", "SLACK_APP_TOKEN")
    assert app.startswith("SLACK_APP_TOKEN was refused by Slack (invalid_auth): ")
    assert "app-level token with connections:write under Basic Information" in app
    assert "not a bot token" in auth_problem("not_allowed_token_type", "SLACK_BOT_TOKEN")
    assert "revoked" in auth_problem("token_revoked", "SLACK_BOT_TOKEN")


# -- resolve_channels -----------------------------------------------------------------------


async def test_ids_pass_through_without_api_calls(slack, client):
    got = await resolve_channels(client, [INBOX, VIP, INBOX, "D012345678"])
    assert got == {INBOX: INBOX, VIP: VIP, "D012345678": "D012345678"}
    assert slack.recorded == []


async def test_names_found_across_pages_case_insensitive_and_hash_stripped(slack, client):
    for i in range(1500):
        slack.add_channel(f"C1{i:08d}", f"filler-{i}")
    slack.add_channel("C0LATE0001", "late-arrival")
    got = await resolve_channels(client, ["#Support", "late-arrival", SALES, "#late-arrival"])
    assert got == {"#Support": INBOX, "late-arrival": "C0LATE0001", SALES: SALES,
                   "#late-arrival": "C0LATE0001"}
    calls = slack.calls("conversations.list")
    assert len(calls) == 2  # one lookup, paged
    assert calls[0]["types"] == "public_channel,private_channel"
    assert calls[0]["limit"] == "1000" and calls[0]["exclude_archived"] in ("1", "true")
    assert "cursor" not in calls[0].args and calls[1]["cursor"] == "1000"


async def test_private_channel_found(slack, client):
    assert await resolve_channels(client, ["vip-customers"]) == {"vip-customers": VIP}


async def test_not_found_names_every_missing_value(slack, client):
    slack.add_channel("C0OLD00001", "old-inbox", is_archived=True)
    with pytest.raises(SlackSetupError) as err:
        await resolve_channels(client, ["#nope", "support", "Also-Missing", "old-inbox"])
    text = str(err.value)
    assert "#nope" in text and "#also-missing" in text and "#old-inbox" in text
    assert "#support" not in text
    assert "channel details -> About" in text and f"invite @{BOT_NAME}" in text


async def test_refused_token_becomes_setup_error(slack):
    wrong = AsyncWebClient(token="xoxb-revoked", base_url=slack.api_url)
    with pytest.raises(SlackSetupError) as err:
        await resolve_channels(wrong, ["support"])
    assert str(err.value) == auth_problem("invalid_auth", "SLACK_BOT_TOKEN")


async def test_missing_scope_becomes_setup_error(slack, client):
    slack.error_next("conversations.list", "missing_scope")
    with pytest.raises(SlackSetupError, match="reinstall the app"):
        await resolve_channels(client, ["support"])


async def test_server_errors_and_network_errors_propagate(slack, client):
    slack.fail_next("conversations.list", 503)
    with pytest.raises(SlackApiError) as err:
        await resolve_channels(client, ["support"])
    assert not isinstance(err.value, SlackSetupError)
    assert err.value.response.status_code == 503
    url = slack.api_url
    await slack.stop()
    offline = AsyncWebClient(token=BOT, base_url=url)
    with pytest.raises(aiohttp.ClientError):
        await resolve_channels(offline, ["support"])


# -- check_workspace ------------------------------------------------------------------------


async def check(slack, client, *, app_token=APP, channels=("#support", SALES, "vip-customers")):
    return await check_workspace(client, app_token=app_token, channels=list(channels),
                                 api_url=slack.api_url)


async def test_good_setup_is_all_ok(slack, client):
    checks = await check(slack, client)
    assert [c.name for c in checks] == [
        "bot token", "scopes", "app token", "channel #support", f"channel {SALES}",
        "channel vip-customers"]
    assert all(c.ok and c.checked for c in checks), checks
    found = by_name(checks)
    assert "Threadline Test" in found["bot token"].detail
    assert "U0BOT" in found["bot token"].detail
    assert f"#support ({INBOX})" in found["channel #support"].detail
    # the app token only obtains a Socket Mode URL: nothing connects
    assert slack.last("apps.connections.open").headers["authorization"] == f"Bearer {APP}"
    assert slack.socket_connects == 0
    assert {c["channel"] for c in slack.calls("conversations.info")} == {INBOX, SALES, VIP}


async def test_invalid_bot_token(slack):
    wrong = AsyncWebClient(token="xoxb-not-this-one", base_url=slack.api_url)
    found = by_name(await check(slack, wrong))
    assert not found["bot token"].ok
    assert found["bot token"].detail == auth_problem("invalid_auth", "SLACK_BOT_TOKEN")
    for name in ("scopes", "channel #support", f"channel {SALES}"):
        assert not found[name].checked and not found[name].ok
    assert found["app token"].ok and found["app token"].checked  # needs no bot token
    assert slack.calls("conversations.list") == [] and slack.calls("conversations.info") == []


async def test_swapped_tokens(slack):
    swapped = AsyncWebClient(token=APP, base_url=slack.api_url)
    found = by_name(await check(slack, swapped, app_token=BOT))
    assert found["bot token"].detail == auth_problem("not_allowed_token_type",
                                                     "SLACK_BOT_TOKEN")
    assert found["app token"].detail == auth_problem("not_allowed_token_type",
                                                     "SLACK_APP_TOKEN")
    assert not found["bot token"].ok and not found["app token"].ok


async def test_missing_scopes(slack, client):
    slack.scopes = [s for s in slack.scopes if s not in ("chat:write.customize", "groups:read")]
    found = by_name(await check(slack, client))
    scopes = found["scopes"]
    assert not scopes.ok and scopes.checked
    assert "chat:write.customize" in scopes.detail and "groups:read" in scopes.detail
    assert "chat:write," not in scopes.detail  # granted ones are not listed
    assert "reinstall the app" in scopes.detail
    assert found["bot token"].ok


async def test_bot_not_in_channel(slack, client):
    slack.add_channel(SALES, "sales", is_member=False)
    found = by_name(await check(slack, client))
    assert not found[f"channel {SALES}"].ok
    assert found[f"channel {SALES}"].detail == (
        "invite @Threadline to #sales (`/invite @Threadline`)")
    assert found["channel #support"].ok


async def test_archived_channel(slack, client):
    slack.add_channel(INBOX, "support", is_archived=True)
    found = by_name(await check(slack, client, channels=[INBOX]))
    assert not found[f"channel {INBOX}"].ok and "archived" in found[f"channel {INBOX}"].detail


async def test_unknown_channels(slack, client):
    found = by_name(await check(slack, client, channels=["C0GONE0001", "#no-such-room"]))
    gone, nameless = found["channel C0GONE0001"], found["channel #no-such-room"]
    assert not gone.ok and "C0GONE0001 not found" in gone.detail
    assert not nameless.ok and "#no-such-room not found" in nameless.detail
    assert "channel details -> About" in nameless.detail


async def test_app_token_refused(slack, client):
    found = by_name(await check(slack, client, app_token="xapp-1-expired"))
    app = found["app token"]
    assert not app.ok
    assert app.detail.startswith("SLACK_APP_TOKEN was refused by Slack (invalid_auth)")
    assert "connections:write under Basic Information" in app.detail
    assert all(c.ok for name, c in found.items() if name != "app token")


async def test_without_app_token_or_channels_only_the_bot_is_checked(slack, client):
    checks = await check(slack, client, app_token=None, channels=[])
    assert [c.name for c in checks] == ["bot token", "scopes"]
    assert slack.calls("apps.connections.open") == []


async def test_slack_overloaded_propagates(slack, client):
    slack.fail_next("auth.test", 500)
    with pytest.raises(SlackApiError):
        await check(slack, client)
