from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from threadline.settings import ENV_NAMES, Settings

DESIGN_NAMES = """
THREADLINE_DATABASE_URL THREADLINE_TIMEZONE SLACK_BOT_TOKEN SLACK_SIGNING_SECRET SLACK_APP_TOKEN
SLACK_API_URL SLACK_CHANNEL WHATSAPP_CLOUD_TOKEN WHATSAPP_CLOUD_APP_SECRET
WHATSAPP_CLOUD_VERIFY_TOKEN WHATSAPP_CLOUD_PHONE_NUMBER_ID WHATSAPP_CLOUD_WABA_ID
WHATSAPP_GRAPH_URL TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_WHATSAPP_FROM TWILIO_API_URL
THREADLINE_PUBLIC_URL EMAIL_IMAP_HOST EMAIL_IMAP_PORT EMAIL_IMAP_USER EMAIL_IMAP_PASSWORD
EMAIL_IMAP_SSL EMAIL_SMTP_HOST EMAIL_SMTP_PORT EMAIL_SMTP_USER EMAIL_SMTP_PASSWORD
EMAIL_SMTP_STARTTLS EMAIL_ADDRESS OPENAI_API_KEY OPENAI_BASE_URL THREADLINE_AI_MODEL
TELEGRAM_BOT_TOKEN TELEGRAM_CHAT_ID TELEGRAM_API_URL THREADLINE_CONFIG
THREADLINE_HOST THREADLINE_PORT THREADLINE_UNDO_SEND_SECONDS
""".split()


def test_every_design_setting_exists():
    assert set(DESIGN_NAMES) <= set(ENV_NAMES)


def test_every_setting_is_documented_in_env_example():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    missing = [n for n in ENV_NAMES if f"\n{n}=" not in text]
    assert missing == []


def test_defaults():
    s = Settings(_env_file=None)
    assert s.database_url == "sqlite+aiosqlite:///./threadline.db"
    assert s.timezone == "UTC" and s.tz == ZoneInfo("UTC")
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.whatsapp_graph_url == "https://graph.facebook.com/v21.0"
    assert (s.host, s.port, s.undo_send_seconds) == ("127.0.0.1", 8000, 10)
    assert s.config_path is None
    assert s.email_imap_port == 993 and s.email_imap_ssl is True


def test_reads_environment_and_dotenv(clean_env, tmp_path):
    clean_env.setenv("THREADLINE_TIMEZONE", "Europe/Madrid")
    clean_env.setenv("THREADLINE_PORT", "9001")
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\nSLACK_CHANNEL=C1\nEMAIL_SMTP_PORT=25\n")
    s = Settings()
    assert s.tz == ZoneInfo("Europe/Madrid") and s.port == 9001
    assert s.slack_bot_token == "xoxb-1" and s.email_smtp_port == 25
    assert "xoxb-1" not in repr(s)  # secrets stay out of logs


def test_empty_values_fall_back_to_defaults(clean_env):
    clean_env.setenv("THREADLINE_DATABASE_URL", "")
    assert Settings(_env_file=None).database_url.startswith("sqlite+aiosqlite")


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("THREADLINE_TIMEZONE", "Mars/Olympus", "THREADLINE_TIMEZONE"),
        ("THREADLINE_DATABASE_URL", "mysql://x", "THREADLINE_DATABASE_URL"),
        ("THREADLINE_PORT", "eighty", "THREADLINE_PORT"),
    ],
)
def test_invalid_values_name_the_setting(clean_env, name, value, needle):
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)
    assert needle in str(info.value)


def test_features_name_exactly_what_is_missing():
    s = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb", TELEGRAM_BOT_TOKEN="t")
    by_name = {f.name: f for f in s.features()}
    assert set(by_name) == {"slack", "whatsapp_cloud", "twilio", "email", "ai", "telegram"}
    assert [f.name for f in by_name.values() if f.enabled] == ["ai"]  # offline: no key needed
    assert by_name["slack"].missing == (
        "SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)", "SLACK_CHANNEL")
    assert by_name["telegram"].missing == ("TELEGRAM_CHAT_ID",)
    assert by_name["ai"].describe() == (
        "ai: enabled (offline engine; set OPENAI_API_KEY to use a model)")
    off = Settings(_env_file=None, THREADLINE_AI="off").feature("ai")
    assert off.describe().startswith("ai: off; set THREADLINE_AI=on to enable it")
    assert "THREADLINE_PUBLIC_URL" in by_name["twilio"].missing
    assert by_name["twilio"].describe().endswith("THREADLINE_PUBLIC_URL to enable it")
    assert "not available in this version" in by_name["telegram"].describe()


def test_features_enabled():
    s = Settings(
        _env_file=None, SLACK_BOT_TOKEN="xoxb", SLACK_APP_TOKEN="xapp",
        OPENAI_API_KEY="sk", TELEGRAM_BOT_TOKEN="t", TELEGRAM_CHAT_ID="-1",
        EMAIL_ADDRESS="help@example.com", EMAIL_IMAP_HOST="imap", EMAIL_IMAP_USER="u",
        EMAIL_IMAP_PASSWORD="p", EMAIL_SMTP_HOST="smtp",
    )
    on = {f.name for f in s.features(accounts_have_slack_channels=True) if f.enabled}
    assert on == {"slack", "email", "ai"}
    assert s.feature("ai").describe() == ("ai: enabled (model gpt-4o-mini on an "
                                          "OpenAI-compatible API; the offline engine when "
                                          "it fails)")
    # not built yet: the log says so instead of asking for settings that change nothing
    assert s.feature("telegram").describe() == (
        "telegram: off (the Telegram front end is not available in this version)")


def test_email_oauth_needs_a_refresh_token_not_a_password():
    from threadline.settings import Settings

    base = dict(EMAIL_ADDRESS="help@shop.test", EMAIL_IMAP_HOST="imap.gmail.com",
                EMAIL_IMAP_USER="help@shop.test", EMAIL_SMTP_HOST="smtp.gmail.com")
    oauth = Settings(_env_file=None, EMAIL_AUTH="xoauth2_google", **base).feature("email")
    assert not oauth.enabled
    assert "EMAIL_OAUTH_REFRESH_TOKEN" in oauth.missing
    assert "EMAIL_IMAP_PASSWORD" not in oauth.missing
    ready = Settings(_env_file=None, EMAIL_AUTH="xoauth2_google", EMAIL_OAUTH_CLIENT_ID="id",
                     EMAIL_OAUTH_REFRESH_TOKEN="rt", **base).feature("email")
    assert ready.enabled


# -- Slack token formats ----------------------------------------------------------------------


def slack_settings(bot: str | None, app: str | None = None) -> Settings:
    return Settings(_env_file=None, SLACK_BOT_TOKEN=bot, SLACK_APP_TOKEN=app,
                    SLACK_SIGNING_SECRET=None if app else "secret", SLACK_CHANNEL="C0INBOX001")


@pytest.mark.parametrize("bot, app", [
    ("xoxb-1-abc", None), ("xoxb-1-abc", "xapp-1-A1-xyz"), (None, None), (None, "xapp-1")])
def test_good_or_unset_slack_tokens_are_no_problem(bot, app):
    assert slack_settings(bot, app).slack_token_problems() == []


@pytest.mark.parametrize("bot, app, needles", [
    ("xapp-1-A1-xyz", None, ["SLACK_BOT_TOKEN looks like an app-level token",
                             "belongs in SLACK_APP_TOKEN"]),
    ("xoxp-1-abc", None, ["SLACK_BOT_TOKEN is a user token",
                          "Bot User OAuth Token (xoxb-…) from OAuth & Permissions"]),
    ("garbage", None, ["SLACK_BOT_TOKEN must start with xoxb-"]),
    ("xapp-1-A1-xyz", "xoxb-1-abc", ["look swapped"]),
    ("xoxb-1-abc", "xoxb-2-def", ["SLACK_APP_TOKEN", "look swapped"]),
    ("xoxb-1-abc", "nonsense", ["SLACK_APP_TOKEN must start with xapp-",
                                "connections:write"]),
    ("xoxb-1-abc\n", None, ["SLACK_BOT_TOKEN contains spaces"]),
])
def test_slack_token_problems_say_what_is_wrong(bot, app, needles):
    s = slack_settings(bot, app)
    problems = s.slack_token_problems()
    assert len(problems) == 1, problems
    for needle in needles:
        assert needle in problems[0]
    slack = s.feature("slack")
    assert not slack.enabled and slack.problems == tuple(problems)
    assert slack.note == problems[0]
    assert slack.describe() == f"slack: off: {problems[0]}"
    assert "xoxb-1-abc" not in slack.describe() and "def" not in slack.describe()  # no secrets


def test_token_problems_and_missing_settings_are_both_reported():
    s = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxp-1", SLACK_SIGNING_SECRET="s")
    slack = s.feature("slack")
    assert not slack.enabled and slack.missing == ("SLACK_CHANNEL",)
    assert slack.describe().startswith("slack: off; set SLACK_CHANNEL to enable it: ")
    assert "user token" in slack.describe()
