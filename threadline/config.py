"""The optional YAML file (THREADLINE_CONFIG): accounts, agents, teams, tags, templates,
business hours and rules. Parsed strictly: unknown keys and bad values raise `ConfigError`
naming the file and the key path (e.g. `accounts[1].channel`)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.automation.contract import Automations
from core.business_hours import WEEKDAYS, BusinessHours
from core.model import Account, Actor, Agent, Channel, Role, Template
from core.reply_policy import ThreadReplies
from threadline.config_ai import AiConfig
from threadline.config_automations import (
    AutoReplyConfig,
    BuiltinRulesConfig,
    RuleConfig,
    automation_problems,
    build_automations,
)
from threadline.settings import Settings

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_PROVIDERS = {"email": {"email"}, "whatsapp": {"whatsapp_cloud", "twilio"}}


class ConfigError(Exception):
    """The config file cannot be used; the message names the file and the key path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountConfig(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    channel: Literal["email", "whatsapp"]
    provider: Literal["email", "whatsapp_cloud", "twilio"]
    address: str = ""
    name: str = ""
    slack_channel: str | None = None
    # Per-account values of provider settings, by their environment names
    # (e.g. EMAIL_IMAP_HOST, WHATSAPP_CLOUD_TOKEN): several mailboxes or numbers.
    settings: dict[str, str] = Field(default_factory=dict)

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, v: dict[str, str]) -> dict[str, str]:
        from threadline.settings import Settings

        known = {
            (f.validation_alias.choices[0] if f.validation_alias else name).upper()
            for name, f in Settings.model_fields.items()
        }
        unknown = sorted(k for k in v if k.upper() not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}")
        return {k.upper(): str(val) for k, val in v.items()}

    @field_validator("settings")
    @classmethod
    def _valid_thread_replies(cls, v: dict[str, str]) -> dict[str, str]:
        mode = v.get("THREADLINE_THREAD_REPLIES")
        if mode is not None and mode.strip().lower() not in {m.value for m in ThreadReplies}:
            raise ValueError(f"THREADLINE_THREAD_REPLIES {mode!r}: use send, explicit or off")
        return v

    @field_validator("provider")
    @classmethod
    def _provider_fits_channel(cls, v: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel and v not in _PROVIDERS[channel]:
            allowed = " or ".join(sorted(_PROVIDERS[channel]))
            raise ValueError(f"provider {v!r} cannot serve a {channel} account (use {allowed})")
        return v


class AgentConfig(_Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: Literal["agent", "manager", "admin"] = "agent"
    slack_user_id: str | None = None
    telegram_user_id: str | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class TeamConfig(_Strict):
    name: str = Field(min_length=1)
    members: list[str] = Field(default_factory=list)

    @field_validator("members")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [m.strip().lower() for m in v]


class TagConfig(_Strict):
    name: str = Field(min_length=1)
    colour: str = "#9e9e9e"
    # Words that make AI triage suggest the tag (any language; accents don't matter).
    keywords: list[str] = Field(default_factory=list)

    @field_validator("colour")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", v):
            raise ValueError(f"{v!r} is not a hex colour like #ff8800")
        return v.lower()


class TemplateConfig(_Strict):
    name: str = Field(min_length=1)
    channel: Literal["email", "whatsapp"]
    body: str = Field(min_length=1)
    provider_name: str | None = Field(None, validate_default=True)
    language: str | None = None
    account: str | None = None

    @field_validator("provider_name")
    @classmethod
    def _whatsapp_needs_provider_name(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("channel") == "whatsapp" and not v:
            raise ValueError("a whatsapp template needs provider_name (the approved Meta "
                             "template name or Twilio content SID)")
        return v

    @property
    def variables(self) -> list[str]:
        seen: list[str] = []
        for var in _VAR.findall(self.body):
            if var not in seen:
                seen.append(var)
        return seen


class BusinessHoursConfig(_Strict):
    """Opening hours per weekday as "HH:MM-HH:MM" ranges; a missing day is closed."""

    timezone: str | None = None
    monday: list[str] = Field(default_factory=list)
    tuesday: list[str] = Field(default_factory=list)
    wednesday: list[str] = Field(default_factory=list)
    thursday: list[str] = Field(default_factory=list)
    friday: list[str] = Field(default_factory=list)
    saturday: list[str] = Field(default_factory=list)
    sunday: list[str] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        for item in v:
            m = _HOURS.match(item.strip())
            if not m or (m.group(3), m.group(4)) <= (m.group(1), m.group(2)):
                raise ValueError(f"{item!r} is not a range like 09:00-17:30 (start before end)")
        return [i.strip() for i in v]

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return _check_tz(v)


def _check_tz(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Madrid)") from None
    return value


class ThreadlineConfig(_Strict):
    timezone: str | None = None
    accounts: list[AccountConfig] = Field(default_factory=list)
    agents: list[AgentConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    tags: list[TagConfig] = Field(default_factory=list)
    templates: list[TemplateConfig] = Field(default_factory=list)
    business_hours: BusinessHoursConfig | None = None
    rules: list[RuleConfig] = Field(default_factory=list)
    auto_replies: list[AutoReplyConfig] = Field(default_factory=list)
    builtin_rules: BuiltinRulesConfig = Field(default_factory=BuiltinRulesConfig)
    ai: AiConfig = Field(default_factory=AiConfig)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return _check_tz(v)


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _cross_check(cfg: ThreadlineConfig) -> list[str]:
    """Checks spanning several sections: duplicates and references."""
    problems: list[str] = []

    def dupes(section: str, keys: list) -> None:
        seen: dict = {}
        for i, key in enumerate(keys):
            if key in seen:
                problems.append(f"{section}[{i}]: duplicate of {section}[{seen[key]}] ({key})")
            seen.setdefault(key, i)

    dupes("accounts", [a.id for a in cfg.accounts])
    dupes("agents", [a.email for a in cfg.agents])
    dupes("teams", [t.name.lower() for t in cfg.teams])
    dupes("tags", [t.name.lower() for t in cfg.tags])
    dupes("templates", [(t.name, t.channel, t.account) for t in cfg.templates])
    emails = {a.email for a in cfg.agents}
    for i, team in enumerate(cfg.teams):
        for j, member in enumerate(team.members):
            if member not in emails:
                problems.append(f"teams[{i}].members[{j}]: {member!r} is not an agent's email "
                                "(add it under agents)")
    accounts = {a.id: a for a in cfg.accounts}
    for i, tpl in enumerate(cfg.templates):
        if tpl.account is None:
            continue
        acc = accounts.get(tpl.account)
        if acc is None:
            problems.append(f"templates[{i}].account: {tpl.account!r} is not a configured account")
        elif acc.channel != tpl.channel:
            problems.append(f"templates[{i}].channel: {tpl.channel} template on {acc.channel} "
                            f"account {acc.id!r}")
    return problems + automation_problems(cfg)


def parse_config(data: Any, source: str = "<config>") -> ThreadlineConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping of sections, "
                          f"got {type(data).__name__}")
    try:
        cfg = ThreadlineConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            lines.append(f"{source}: {_path(err['loc'])}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    problems = _cross_check(cfg)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return cfg


def load_config(path: str | Path | None) -> ThreadlineConfig:
    """Read and validate the YAML file; no path means an empty configuration."""
    if not path:
        return ThreadlineConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read THREADLINE_CONFIG file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise ConfigError(f"{p}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data, str(p))


def build_accounts(cfg: ThreadlineConfig, settings: Settings) -> dict[str, Account]:
    """Configured accounts, or defaults derived from settings when none are configured."""
    default_channel = settings.slack_channel
    default_mode = ThreadReplies(settings.thread_replies)
    if cfg.accounts:
        return {
            a.id: Account(a.id, Channel(a.channel), a.provider, a.address, a.name or a.id,
                          a.slack_channel or default_channel, _thread_replies(a, default_mode))
            for a in cfg.accounts
        }
    out: dict[str, Account] = {}
    if settings.email_address:
        # Named by EMAIL_FROM_NAME, else by its address: never "Email" in a customer's From.
        out["email"] = Account("email", Channel.EMAIL, "email", settings.email_address.lower(),
                               settings.email_from_name or settings.email_address.lower(),
                               default_channel, default_mode)
    if settings.whatsapp_cloud_phone_number_id:
        out["whatsapp_cloud"] = Account("whatsapp_cloud", Channel.WHATSAPP, "whatsapp_cloud",
                                        settings.whatsapp_cloud_phone_number_id, "WhatsApp",
                                        default_channel, default_mode)
    if settings.twilio_whatsapp_from:
        out["twilio"] = Account("twilio", Channel.WHATSAPP, "twilio",
                                settings.twilio_whatsapp_from.removeprefix("whatsapp:"),
                                "WhatsApp (Twilio)", default_channel, default_mode)
    return out


def _thread_replies(account: AccountConfig, default: ThreadReplies) -> ThreadReplies:
    value = account.settings.get("THREADLINE_THREAD_REPLIES")
    return ThreadReplies(value.strip().lower()) if value else default


def settings_for_account(cfg: ThreadlineConfig, settings: Settings, account_id: str) -> Settings:
    """The process settings with this account's overrides applied (env names as keys)."""
    for account in cfg.accounts:
        if account.id == account_id and account.settings:
            return Settings.model_validate(
                {**settings.model_dump(by_alias=False), **{
                    _field_for_env(k): v for k, v in account.settings.items()}}
            )
    return settings


def _field_for_env(env_name: str) -> str:
    for name, f in Settings.model_fields.items():
        alias = f.validation_alias.choices[0] if f.validation_alias else name
        if str(alias).upper() == env_name.upper():
            return name
    raise KeyError(env_name)


def effective_timezone(cfg: ThreadlineConfig, settings: Settings) -> ZoneInfo:
    """THREADLINE_TIMEZONE when set explicitly, else the file's `timezone`, else UTC."""
    if settings.explicitly_set("timezone") or not cfg.timezone:
        return settings.tz
    return ZoneInfo(cfg.timezone)


def business_hours_of(cfg: ThreadlineConfig, settings: Settings) -> BusinessHours | None:
    """The file's `business_hours` in their own time zone (else the workspace's), or None."""
    hours = cfg.business_hours
    if hours is None:
        return None
    zone = ZoneInfo(hours.timezone) if hours.timezone else effective_timezone(cfg, settings)
    days = {day: getattr(hours, day) for day in WEEKDAYS if getattr(hours, day)}
    return BusinessHours.from_ranges(zone, days, hours.holidays)


def automations_of(cfg: ThreadlineConfig, settings: Settings) -> Automations:
    """The rules and auto-replies the core runs (the built-in rules included)."""
    return build_automations(cfg, business_hours_of(cfg, settings))


async def sync_config(cfg: ThreadlineConfig, inbox) -> dict[str, int]:
    """Upsert the file's agents (by Slack id, then email), teams and tags (by name) and
    templates (by name, channel, account) through the Inbox's directory use cases."""
    actor = Actor.automation("config")
    agent_ids: dict[str, int] = {}
    for a in cfg.agents:
        agent = await inbox.upsert_agent(Agent(
            name=a.name, email=a.email, role=Role(a.role), slack_user_id=a.slack_user_id,
            telegram_user_id=a.telegram_user_id), actor)
        agent_ids[a.email] = agent.id
    for t in cfg.teams:
        await inbox.upsert_team(t.name, [agent_ids[m] for m in t.members], actor)
    for t in cfg.tags:
        await inbox.upsert_tag(t.name, t.colour, actor)
    for t in cfg.templates:
        await inbox.upsert_template(Template(
            name=t.name, channel=Channel(t.channel), body=t.body, variables=t.variables,
            provider_name=t.provider_name, language=t.language, account=t.account), actor)
    return {"agents": len(cfg.agents), "teams": len(cfg.teams), "tags": len(cfg.tags),
            "templates": len(cfg.templates)}
