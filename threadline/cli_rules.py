"""`threadline rules ...`: what the automation settings say, in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from core.automation.dryrun import describe_auto_reply, describe_rule, simulate_inbound
from core.model import Channel
from threadline.cli_common import console, fail, settings_or_exit
from threadline.config import (
    ConfigError,
    automations_of,
    build_accounts,
    business_hours_of,
    effective_timezone,
    load_config,
)

rules_app = typer.Typer(help="Automations: check and dry-run the rules, business hours.",
                        no_args_is_help=True)


@rules_app.command("hours")
def hours(at: str = typer.Option(None, help="An ISO date and time to ask about instead of now "
                                            "(with an offset, or in the hours' time zone)")
          ) -> None:
    """Whether the team is open now (or --at), and when that changes next."""
    settings = settings_or_exit()
    try:
        cfg = load_config(settings.config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    business = business_hours_of(cfg, settings)
    if business is None:
        console.print("No business_hours in the config file: nothing is outside them.")
        return
    zone = business.timezone
    if at is None:
        when = datetime.now(UTC)
    else:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise fail(f"--at {at!r} is not an ISO date and time like 2026-12-24T17:30") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
    local = when.astimezone(zone)
    state = "Open" if business.is_open(when) else "Closed"
    console.print(f"{state} at {_day(local)} ({zone}).", highlight=False)
    change = business.next_change(when)
    if change is None:
        console.print("That does not change within the next year.", highlight=False)
        return
    verb = "Closes" if state == "Open" else "Opens"
    console.print(f"{verb} {_day(change.astimezone(zone))} (in {_span(change - when)}).",
                  highlight=False)


def _day(moment: datetime) -> str:
    return f"{moment:%A %d %B %Y, %H:%M}"


def _span(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{rest // 60} h"] if rest // 60 else []
    parts += [f"{rest % 60} min"] if rest % 60 or not parts else []
    return " ".join(parts)


def _automations_or_exit(file: Path | None):
    settings = settings_or_exit()
    try:
        cfg = load_config(str(file) if file else settings.config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    return settings, cfg, automations_of(cfg, settings)


@rules_app.command("check")
def check(file: Path = typer.Option(None, "--file", "-f",
                                    help="YAML file [THREADLINE_CONFIG]")) -> None:
    """Validate the rules and auto-replies and say what each one does, in words."""
    _, cfg, automations = _automations_or_exit(file)
    console.print(f"{len(automations.rules)} rule(s), {len(automations.auto_replies)} "
                  "auto-reply(ies):", highlight=False)
    for rule in automations.rules:
        builtin = " (built in: builtin_rules.urgent_ping)" if rule.builtin else ""
        console.print(f"- {rule.name}{builtin}: {describe_rule(rule)}", highlight=False,
                      markup=False)
    for reply in automations.auto_replies:
        console.print(f"- auto-reply {reply.name}: {describe_auto_reply(reply)}",
                      highlight=False, markup=False)


@rules_app.command("test")
def test(message_file: Path = typer.Argument(..., help="A JSON message: channel, account, "
                                                       "sender, subject, text, time"),
         file: Path = typer.Option(None, "--file", "-f", help="YAML file [THREADLINE_CONFIG]")
         ) -> None:
    """Dry run: which rules and auto-replies a message would set off. Writes nothing."""
    settings, cfg, automations = _automations_or_exit(file)
    try:
        data = json.loads(message_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{message_file}: cannot read it: {exc.strerror}", code=2) from None
    except ValueError as exc:
        raise fail(f"{message_file}: not valid JSON: {exc}", code=2) from None
    if not isinstance(data, dict):
        raise fail(f"{message_file}: expected a JSON object with channel, sender, text",
                   code=2)
    unknown = sorted(set(data) - _MESSAGE_KEYS)
    if unknown:
        raise fail(f"{message_file}: unknown key(s) {', '.join(unknown)} (use "
                   f"{', '.join(sorted(_MESSAGE_KEYS))})", code=2)
    try:
        channel = Channel(str(data.get("channel", "")).lower())
    except ValueError:
        raise fail(f"{message_file}: channel must be email or whatsapp", code=2) from None
    accounts = build_accounts(cfg, settings)
    account = data.get("account") or next(
        (a.id for a in accounts.values() if a.channel is channel), None)
    if account is None or account not in accounts or accounts[account].channel is not channel:
        known = ", ".join(a.id for a in accounts.values() if a.channel is channel) or "none"
        raise fail(f"{message_file}: account {account!r} is not a configured {channel} "
                   f"account (configured: {known})", code=2)
    zone = effective_timezone(cfg, settings)
    when = datetime.now(UTC)
    if data.get("time"):
        try:
            when = datetime.fromisoformat(str(data["time"]))
        except ValueError:
            raise fail(f"{message_file}: time {data['time']!r} is not an ISO date and time",
                       code=2) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
    sender = str(data.get("sender") or "").strip().lower()
    own = {a.address.lower() for a in accounts.values() if a.address}
    run = simulate_inbound(
        automations, channel=channel, account=account, subject=data.get("subject"),
        text=str(data.get("text") or ""), at=when, tz=zone,
        automated=bool(data.get("automated")),
        contact_is_customer=bool(data.get("contact_is_customer")), from_us=sender in own)
    hours = automations.hours
    open_now = "open" if hours is None or hours.is_open(when) else "closed"
    console.print(f"A new {channel} conversation on {account} at "
                  f"{when.astimezone(zone):%A %d %B %Y %H:%M} ({open_now}); nothing is written:",
                  highlight=False, markup=False)
    for line in run.lines():
        console.print(f"- {line}", highlight=False, markup=False)


_MESSAGE_KEYS = {"channel", "account", "sender", "sender_name", "subject", "text", "time",
                 "automated", "contact_is_customer"}
