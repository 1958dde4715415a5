"""Process settings: environment variables or a `.env` file (DESIGN.md §4 names, kept exactly).

Every setting has a working default or, when a channel/front end needs it, `features()` names
exactly which settings would switch that channel on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./threadline.db"


def _env(name: str, default=None, *, secret: bool = False, **kw):
    """A field read from the env var `name` (exact, upper-case) or passed by that name."""
    return Field(default, validation_alias=AliasChoices(name, name.lower()), repr=not secret, **kw)


@dataclass(frozen=True, slots=True)
class Feature:
    """One channel or front end: on, or off plus the settings that would turn it on."""

    name: str
    enabled: bool
    missing: tuple[str, ...] = ()
    note: str = ""
    available: bool = True  # False: not built yet, whatever the settings say
    problems: tuple[str, ...] = ()  # settings present but unusable: one sentence each

    def describe(self) -> str:
        if not self.available:
            return f"{self.name}: off ({self.note})"
        if self.problems:
            need = f"; set {', '.join(self.missing)} to enable it" if self.missing else ""
            return f"{self.name}: off{need}: {' '.join(self.problems)}"
        if self.enabled:
            return f"{self.name}: enabled" + (f" ({self.note})" if self.note else "")
        note = f" ({self.note})" if self.note else ""
        return f"{self.name}: off; set {', '.join(self.missing)} to enable it{note}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # -- core ---------------------------------------------------------------------------
    database_url: str = _env("THREADLINE_DATABASE_URL", DEFAULT_DATABASE_URL)
    timezone: str = _env("THREADLINE_TIMEZONE", "UTC")
    config_path: str | None = _env("THREADLINE_CONFIG")
    public_url: str | None = _env("THREADLINE_PUBLIC_URL")
    host: str = _env("THREADLINE_HOST", "127.0.0.1")
    port: int = _env("THREADLINE_PORT", 8000, ge=0, le=65535)
    undo_send_seconds: float = _env("THREADLINE_UNDO_SEND_SECONDS", 10, ge=0)
    log_level: str = _env("THREADLINE_LOG_LEVEL", "INFO")
    files_dir: str = _env("THREADLINE_FILES_DIR", "./threadline-files")
    dispatch_lease_seconds: float = _env("THREADLINE_DISPATCH_LEASE_SECONDS", 120, gt=0)
    dispatch_batch: int = _env("THREADLINE_DISPATCH_BATCH", 20, gt=0)
    dispatch_idle_seconds: float = _env("THREADLINE_DISPATCH_IDLE_SECONDS", 1.0, gt=0)
    # Unexpected exceptions (bugs) a row may raise before it is failed; delivery errors are
    # bounded by the retry horizons below instead, rate limits never fail a row.
    dispatch_max_attempts: int = _env("THREADLINE_DISPATCH_MAX_ATTEMPTS", 12, gt=0)
    dispatch_max_delay_seconds: float = _env("THREADLINE_DISPATCH_MAX_DELAY_SECONDS", 900, gt=0)
    dispatch_max_crashes: int = _env("THREADLINE_DISPATCH_MAX_CRASHES", 3, gt=0)
    # How long rows of each target keep retrying transient failures (other targets: 24 h).
    retry_horizon_slack_hours: float = _env("THREADLINE_RETRY_HORIZON_SLACK_HOURS", 24, gt=0)
    retry_horizon_telegram_hours: float = _env("THREADLINE_RETRY_HORIZON_TELEGRAM_HOURS", 24,
                                               gt=0)
    retry_horizon_send_hours: float = _env("THREADLINE_RETRY_HORIZON_SEND_HOURS", 72, gt=0)
    scheduler_interval_seconds: float = _env("THREADLINE_SCHEDULER_INTERVAL_SECONDS", 15, gt=0)
    outbox_retention_days: float = _env("THREADLINE_OUTBOX_RETENTION_DAYS", 7, gt=0)

    # -- Slack ----------------------------------------------------------------------------
    slack_bot_token: str | None = _env("SLACK_BOT_TOKEN", secret=True)
    slack_signing_secret: str | None = _env("SLACK_SIGNING_SECRET", secret=True)
    slack_app_token: str | None = _env("SLACK_APP_TOKEN", secret=True)
    slack_api_url: str = _env("SLACK_API_URL", "https://slack.com/api/")
    slack_channel: str | None = _env("SLACK_CHANNEL")
    # chat.postMessage pacing per channel (Slack allows about 1/s with short bursts).
    slack_posts_per_second: float = _env("SLACK_POSTS_PER_SECOND", 1.0, gt=0)
    slack_post_burst: int = _env("SLACK_POST_BURST", 3, ge=1)
    # Comma-separated Slack user ids: narrows who counts as staff (configured agents and
    # members of the inbox channels); empty: no further narrowing.
    slack_allowed_users: str = _env("SLACK_ALLOWED_USERS", "")
    # How long the inbox channels' member lists are trusted before they are read again
    # (member_joined_channel / member_left_channel events update them at once).
    slack_members_ttl_seconds: float = _env("SLACK_MEMBERS_TTL_SECONDS", 300, gt=0)
    # The "to customer in N s" marker under a queued reply is refreshed this often (0: never).
    slack_countdown_seconds: float = _env("SLACK_COUNTDOWN_SECONDS", 3, ge=0)
    # What a staff message in a conversation thread does: send | explicit | off (the
    # accounts file can set it per account under `settings:`).
    thread_replies: Literal["send", "explicit", "off"] = _env("THREADLINE_THREAD_REPLIES", "send")

    # -- WhatsApp: Meta Cloud API -----------------------------------------------------------
    whatsapp_cloud_token: str | None = _env("WHATSAPP_CLOUD_TOKEN", secret=True)
    whatsapp_cloud_app_secret: str | None = _env("WHATSAPP_CLOUD_APP_SECRET", secret=True)
    whatsapp_cloud_verify_token: str | None = _env("WHATSAPP_CLOUD_VERIFY_TOKEN", secret=True)
    whatsapp_cloud_phone_number_id: str | None = _env("WHATSAPP_CLOUD_PHONE_NUMBER_ID")
    whatsapp_cloud_waba_id: str | None = _env("WHATSAPP_CLOUD_WABA_ID")
    whatsapp_graph_url: str = _env("WHATSAPP_GRAPH_URL", "https://graph.facebook.com/v21.0")

    # -- WhatsApp: Twilio -------------------------------------------------------------------
    twilio_account_sid: str | None = _env("TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = _env("TWILIO_AUTH_TOKEN", secret=True)
    twilio_whatsapp_from: str | None = _env("TWILIO_WHATSAPP_FROM")
    twilio_api_url: str = _env("TWILIO_API_URL", "https://api.twilio.com")

    # -- Email: one mailbox (more via the accounts file) ---------------------------------------
    email_imap_host: str | None = _env("EMAIL_IMAP_HOST")
    email_imap_port: int = _env("EMAIL_IMAP_PORT", 993, ge=1, le=65535)
    email_imap_user: str | None = _env("EMAIL_IMAP_USER")
    email_imap_password: str | None = _env("EMAIL_IMAP_PASSWORD", secret=True)
    email_imap_ssl: bool = _env("EMAIL_IMAP_SSL", True)
    email_smtp_host: str | None = _env("EMAIL_SMTP_HOST")
    email_smtp_port: int = _env("EMAIL_SMTP_PORT", 587, ge=1, le=65535)
    email_smtp_user: str | None = _env("EMAIL_SMTP_USER")
    email_smtp_password: str | None = _env("EMAIL_SMTP_PASSWORD", secret=True)
    email_smtp_starttls: bool = _env("EMAIL_SMTP_STARTTLS", True)
    email_address: str | None = _env("EMAIL_ADDRESS")
    email_auth: Literal["password", "xoauth2_google", "xoauth2_microsoft"] = _env(
        "EMAIL_AUTH", "password")
    email_oauth_client_id: str | None = _env("EMAIL_OAUTH_CLIENT_ID")
    email_oauth_client_secret: str | None = _env("EMAIL_OAUTH_CLIENT_SECRET", secret=True)
    email_oauth_refresh_token: str | None = _env("EMAIL_OAUTH_REFRESH_TOKEN", secret=True)
    email_oauth_token_url: str | None = _env("EMAIL_OAUTH_TOKEN_URL")
    email_imap_folder: str = _env("EMAIL_IMAP_FOLDER", "INBOX")
    email_imap_idle: bool = _env("EMAIL_IMAP_IDLE", True)
    email_poll_seconds: float = _env("EMAIL_POLL_SECONDS", 60, gt=0)
    email_lookback_days: int = _env("EMAIL_LOOKBACK_DAYS", 14, ge=0)
    email_from_name: str | None = _env("EMAIL_FROM_NAME")
    # Whose name a reply's From shows: the account's ("Support") or the agent's with it
    # ("Ana at Support"). Automatic replies always go under the account's.
    email_from_style: Literal["account", "agent"] = _env("EMAIL_FROM_STYLE", "account")
    # Reply-all: a reply copies (Cc) the others the customer's last mail was sent to.
    email_reply_all: bool = _env("EMAIL_REPLY_ALL", True)
    email_sent_folder: str | None = _env("EMAIL_SENT_FOLDER")
    email_max_attachment_mb: float = _env("EMAIL_MAX_ATTACHMENT_MB", 25, gt=0)
    email_max_message_mb: float = _env("EMAIL_MAX_MESSAGE_MB", 50, gt=0)

    # -- AI analysis ------------------------------------------------------------------------
    # AI triage of customer messages (offline engine without a key); an account's own
    # `settings: {THREADLINE_AI: off}` in the config file turns it off for that account.
    ai_enabled: bool = _env("THREADLINE_AI", True)
    ai_timeout_seconds: float = _env("THREADLINE_AI_TIMEOUT_SECONDS", 20, gt=0)
    openai_api_key: str | None = _env("OPENAI_API_KEY", secret=True)
    openai_base_url: str = _env("OPENAI_BASE_URL", "https://api.openai.com/v1")
    ai_model: str = _env("THREADLINE_AI_MODEL", "gpt-4o-mini")

    # -- Telegram front end -------------------------------------------------------------------
    telegram_bot_token: str | None = _env("TELEGRAM_BOT_TOKEN", secret=True)
    telegram_chat_id: str | None = _env("TELEGRAM_CHAT_ID")
    telegram_api_url: str = _env("TELEGRAM_API_URL", "https://api.telegram.org")

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"THREADLINE_TIMEZONE: {value!r} is not an IANA time zone "
                "(e.g. UTC, Europe/Madrid, America/New_York)"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                f"THREADLINE_DATABASE_URL: {value!r} must start with sqlite+aiosqlite:// "
                "or postgresql+asyncpg://"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"THREADLINE_LOG_LEVEL: {value!r} is not a logging level")
        return level

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def explicitly_set(self, field: str) -> bool:
        return field in self.model_fields_set

    def slack_token_problems(self) -> list[str]:
        """One sentence per Slack token that cannot be right (unset tokens are no problem:
        features() names missing settings). Only the type prefix is checked, the part before
        the first "-" (xoxb-, xapp-, xoxp-...): Slack may change the rest's format."""
        bot, app = self.slack_bot_token or "", self.slack_app_token or ""
        bot_kind, app_kind = _token_kind(bot), _token_kind(app)
        problems: list[str] = []
        if bot_kind == "xapp" and app_kind == "xoxb":
            problems.append(
                "SLACK_BOT_TOKEN and SLACK_APP_TOKEN look swapped: SLACK_BOT_TOKEN holds an "
                "app-level token (xapp-…) and SLACK_APP_TOKEN a bot token (xoxb-…); exchange "
                "the two values.")
        else:
            if bot_kind == "xapp":
                problems.append(
                    "SLACK_BOT_TOKEN looks like an app-level token (xapp-…), which belongs in "
                    "SLACK_APP_TOKEN; SLACK_BOT_TOKEN needs the Bot User OAuth Token (xoxb-…) "
                    "from OAuth & Permissions.")
            elif bot_kind == "xoxp":
                problems.append(
                    "SLACK_BOT_TOKEN is a user token (xoxp-…); Threadline needs the Bot User "
                    "OAuth Token (xoxb-…) from OAuth & Permissions.")
            elif bot and bot_kind != "xoxb":
                problems.append(
                    "SLACK_BOT_TOKEN must start with xoxb- (the Bot User OAuth Token from "
                    "OAuth & Permissions).")
            if app_kind == "xoxb":
                problems.append(
                    "SLACK_APP_TOKEN holds a bot token (xoxb-…): the two tokens look swapped; "
                    "SLACK_APP_TOKEN needs an app-level token (xapp-…) with connections:write "
                    "from Basic Information -> App-Level Tokens.")
            elif app and app_kind != "xapp":
                problems.append(
                    "SLACK_APP_TOKEN must start with xapp- (an app-level token with "
                    "connections:write from Basic Information -> App-Level Tokens).")
        for name, value in (("SLACK_BOT_TOKEN", bot), ("SLACK_APP_TOKEN", app)):
            if value and any(c.isspace() or c in "\"'" for c in value):
                problems.append(f"{name} contains spaces, quotes or a line break: paste the "
                                "token alone.")
        return problems

    # -- which channels / front ends are on ---------------------------------------------
    def features(self, *, accounts_have_slack_channels: bool = False) -> list[Feature]:
        """Per channel/front end: enabled, or exactly which settings would enable it."""

        def need(*names: str) -> tuple[str, ...]:
            return tuple(n for n in names if not getattr(self, _FIELD_BY_ENV[n]))

        slack_missing = list(need("SLACK_BOT_TOKEN"))
        if not (self.slack_signing_secret or self.slack_app_token):
            slack_missing.append(
                "SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
        if not self.slack_channel and not accounts_have_slack_channels:
            slack_missing.append("SLACK_CHANNEL")
        slack_mode = "Socket Mode" if self.slack_app_token else "HTTP mode"
        slack_problems = tuple(self.slack_token_problems())
        slack_note = (" ".join(slack_problems) if slack_problems else slack_mode
                      if not slack_missing else "conversations queue until it is on")

        # OAuth mailboxes log in with a refresh token instead of a password.
        email_secret = (("EMAIL_OAUTH_CLIENT_ID", "EMAIL_OAUTH_REFRESH_TOKEN")
                        if self.email_auth != "password" else ("EMAIL_IMAP_PASSWORD",))
        email_missing = need("EMAIL_ADDRESS", "EMAIL_IMAP_HOST", "EMAIL_IMAP_USER",
                             *email_secret, "EMAIL_SMTP_HOST")
        wa_missing = need("WHATSAPP_CLOUD_TOKEN", "WHATSAPP_CLOUD_APP_SECRET",
                          "WHATSAPP_CLOUD_VERIFY_TOKEN", "WHATSAPP_CLOUD_PHONE_NUMBER_ID")
        tw_missing = need("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM",
                          "THREADLINE_PUBLIC_URL")
        tg_missing = need("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID")
        return [
            Feature("slack", not slack_missing and not slack_problems, tuple(slack_missing),
                    slack_note, problems=slack_problems),
            Feature("whatsapp_cloud", not wa_missing, wa_missing),
            Feature("twilio", not tw_missing, tw_missing),
            Feature("email", not email_missing, email_missing,
                    "" if email_missing else f"{self.email_address}"),
            self._ai_feature(),
            # The Telegram front end is not built yet: say so rather than suggest that a
            # setting would switch it on.
            Feature("telegram", False, tg_missing,
                    "the Telegram front end is not available in this version", available=False),
        ]

    def _ai_feature(self) -> Feature:
        if not self.ai_enabled:
            return Feature("ai", False, ("THREADLINE_AI=on",), "AI triage of customer messages")
        if self.openai_api_key:
            return Feature("ai", True, note=f"model {self.ai_model} on an OpenAI-compatible "
                           "API; the offline engine when it fails")
        return Feature("ai", True, note="offline engine; set OPENAI_API_KEY to use a model")

    def feature(self, name: str) -> Feature:
        for f in self.features():
            if f.name == name:
                return f
        raise KeyError(name)


def _token_kind(token: str) -> str:
    return token.strip().split("-", 1)[0]


def _field_by_env() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            out[str(alias.choices[0])] = name
    return out


_FIELD_BY_ENV = _field_by_env()
ENV_NAMES: tuple[str, ...] = tuple(_FIELD_BY_ENV)


def load_settings(**overrides) -> Settings:
    """Read the environment (and `.env`); keyword overrides use the env names or field names."""
    return Settings(**overrides)
