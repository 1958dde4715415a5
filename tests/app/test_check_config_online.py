"""`threadline check-config [--online]` against the fake Slack, and /readyz naming a failed
component."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from typer.testing import CliRunner

from tests.fakes.slack_api import FakeSlack
from threadline.app import create_app
from threadline.cli import app
from threadline.config import ThreadlineConfig
from threadline.health import State
from threadline.runtime import Runtime
from threadline.settings import Settings

BOT, APP = "xoxb-cli-test", "xapp-cli-test"
INBOX, SALES = "C0INBOX001", "C0SALES001"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide(clean_env):
    clean_env.setenv("COLUMNS", "400")
    return clean_env


@pytest.fixture
async def slack():
    async with FakeSlack(token=BOT, app_token=APP, strict_channels=True) as fake:
        fake.add_channel(INBOX, "support")
        fake.add_channel(SALES, "sales")
        yield fake


@pytest.fixture
def slack_env(wide, slack, tmp_path):
    """Socket Mode settings, SLACK_CHANNEL by name and one account with its own channel."""
    config = tmp_path / "threadline.yml"
    config.write_text(
        "accounts:\n"
        "  - {id: help, channel: email, provider: email, address: help@shop.test}\n"
        f"  - {{id: sales, channel: email, provider: email, address: sales@shop.test,"
        f" slack_channel: {SALES}}}\n")
    for name, value in {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP,
                        "SLACK_API_URL": slack.api_url, "SLACK_CHANNEL": "#support",
                        "THREADLINE_CONFIG": str(config)}.items():
        wide.setenv(name, value)
    return wide


def flat(text: str) -> str:
    return " ".join(text.split())  # undo any line wrapping


async def invoke(*args: str):
    # The CLI runs its own event loop; the fake serves from this one.
    result = await asyncio.to_thread(runner.invoke, app, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, flat(result.output)


async def test_online_good_setup_exits_0(slack_env, slack):
    code, out = await invoke("check-config", "--online")
    assert code == 0, out
    for line in ("slack bot token: ok", "slack scopes: ok", "slack app token: ok",
                 f"slack channel #support: ok: #support ({INBOX})",
                 f"slack channel {SALES}: ok"):
        assert line in out
    assert "problem" not in out and "error" not in out
    assert {c["channel"] for c in slack.calls("conversations.info")} == {INBOX, SALES}
    assert slack.socket_connects == 0


async def test_without_online_slack_is_not_asked(slack_env, slack):
    code, out = await invoke("check-config")
    assert code == 0 and "slack: enabled (Socket Mode)" in out
    assert slack.recorded == []


async def test_bot_not_in_channel_exits_1(slack_env, slack):
    slack.add_channel(SALES, "sales", is_member=False)
    code, out = await invoke("check-config", "--online")
    assert code == 1
    assert (f"slack channel {SALES}: problem: invite @Threadline to #sales "
            "(`/invite @Threadline`)") in out
    assert "slack channel #support: ok" in out
    assert "error: 1 Slack workspace check failed" in out


async def test_refused_bot_token_exits_1_with_one_clear_line(slack_env, slack):
    slack.token = "xoxb-the-new-one"  # the configured token was revoked
    code, out = await invoke("check-config", "--online")
    assert code == 1
    assert ("slack bot token: problem: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): "
            "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions") in out
    assert "slack scopes: not checked" in out and "slack channel #support: not checked" in out
    assert "slack app token: ok" in out


async def test_missing_scopes_and_unknown_channel(slack_env, slack):
    slack.scopes.remove("reactions:write")
    slack_env.setenv("SLACK_CHANNEL", "#no-such-room")
    code, out = await invoke("check-config", "--online")
    assert code == 1
    assert "slack scopes: problem: the bot token lacks reactions:write" in out
    assert "reinstall the app" in out
    assert "slack channel #no-such-room: problem: #no-such-room not found" in out
    assert "error: 2 Slack workspace checks failed" in out


async def test_swapped_tokens_online(slack_env, slack):
    slack_env.setenv("SLACK_BOT_TOKEN", APP)
    slack_env.setenv("SLACK_APP_TOKEN", BOT)
    code, out = await invoke("check-config", "--online")
    assert code == 1
    assert "SLACK_BOT_TOKEN was refused by Slack (not_allowed_token_type)" in out
    assert "SLACK_APP_TOKEN was refused by Slack (not_allowed_token_type)" in out
    assert "look swapped" in out  # the offline check says why


def test_plain_check_config_exits_1_on_swapped_tokens(wide):
    wide.setenv("SLACK_BOT_TOKEN", "xapp-1-A0-secret")
    wide.setenv("SLACK_APP_TOKEN", "xoxb-1-secret")
    wide.setenv("SLACK_CHANNEL", INBOX)
    result = runner.invoke(app, ["check-config"], catch_exceptions=False)
    out = flat(result.output)
    assert result.exit_code == 1, out
    assert "slack: off: SLACK_BOT_TOKEN and SLACK_APP_TOKEN look swapped" in out
    assert "error: SLACK_BOT_TOKEN and SLACK_APP_TOKEN look swapped" in out
    assert "slack: enabled" not in out and "secret" not in out


def test_plain_check_config_exits_1_on_a_user_token(wide):
    wide.setenv("SLACK_BOT_TOKEN", "xoxp-1-abc")
    wide.setenv("SLACK_SIGNING_SECRET", "s")
    result = runner.invoke(app, ["check-config"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "error: SLACK_BOT_TOKEN is a user token" in flat(result.output)


def test_online_without_slack_settings_exits_0(wide):
    result = runner.invoke(app, ["check-config", "--online"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "slack (online): not configured" in flat(result.output)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_online_with_slack_unreachable_exits_1(wide):
    url = f"http://127.0.0.1:{free_port()}/api/"
    for name, value in {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s",
                        "SLACK_CHANNEL": INBOX, "SLACK_API_URL": url}.items():
        wide.setenv(name, value)
    result = runner.invoke(app, ["check-config", "--online"], catch_exceptions=False)
    out = flat(result.output)
    assert result.exit_code == 1
    assert f"error: cannot reach Slack at {url}" in out and "database" not in out.split(
        "error:")[1]


async def test_online_with_slack_overloaded_exits_1(slack_env, slack):
    slack.fail_next("auth.test", 503)
    code, out = await invoke("check-config", "--online")
    assert code == 1 and "answered 503 (service_unavailable): try again" in out


# -- /readyz --------------------------------------------------------------------------------


@pytest.fixture
async def runtime(db_url, engine):
    rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=db_url,
                          EMAIL_ADDRESS="help@example.com"), ThreadlineConfig(), engine=engine)
    yield rt
    await rt.close()


async def readyz(rt: Runtime) -> httpx.Response:
    web = create_app(rt.settings, rt, start_workers=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web),
                                 base_url="http://t") as c:
        return await c.get("/readyz")


async def test_readyz_lists_components_and_stays_ready_when_they_work(runtime):
    assert "components" not in (await readyz(runtime)).json()["checks"]
    runtime.health.set("slack", State.OK, "Socket Mode")
    runtime.health.set("email", State.DEGRADED, "IMAP unreachable, retrying")
    r = await readyz(runtime)
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["components"] == {
        "email": {"state": "degraded", "detail": "IMAP unreachable, retrying"},
        "slack": {"state": "ok", "detail": "Socket Mode"}}


async def test_readyz_503_names_the_failed_component(runtime):
    problem = "SLACK_BOT_TOKEN was refused by Slack (invalid_auth): copy the Bot User token"
    runtime.health.set("slack", State.FAILED, problem)
    runtime.health.set("email", State.OK)
    r = await readyz(runtime)
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["hint"] == f"slack failed: {problem}"
    assert body["checks"]["components"]["slack"] == {"state": "failed", "detail": problem}
    assert body["checks"]["database"] == "ok"  # the database checks are unchanged
