"""`threadline rules ...`: what the automation settings say, in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from threadline.cli_common import console, fail, settings_or_exit
from threadline.config import ConfigError, business_hours_of, load_config

rules_app = typer.Typer(help="Automation settings: business hours.", no_args_is_help=True)


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
