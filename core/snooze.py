"""Snooze presets, computed in the workspace time zone (zoneinfo makes them DST-correct)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.errors import InvalidInput

WAKE_TIME = time(9, 0)


class SnoozePreset(StrEnum):
    ONE_HOUR = "1h"
    TWO_HOURS = "2h"
    FOUR_HOURS = "4h"
    TOMORROW = "tomorrow"
    NEXT_MONDAY = "monday"


def parse_preset(text: str) -> SnoozePreset:
    try:
        return SnoozePreset(text.strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in SnoozePreset)
        raise InvalidInput(f"unknown snooze {text!r}: choose one of {choices}") from None


def _local_at(day, tz: ZoneInfo) -> datetime:
    # Combining a wall-clock time with the zone lets zoneinfo pick the right UTC offset
    # for that day, so "09:00" stays 09:00 across a DST change.
    return datetime.combine(day, WAKE_TIME, tzinfo=tz)


def snooze_until(preset: SnoozePreset, now: datetime, tz: ZoneInfo) -> datetime:
    """Return the aware UTC time at which a snooze chosen `now` should end."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    hours = {SnoozePreset.ONE_HOUR: 1, SnoozePreset.TWO_HOURS: 2, SnoozePreset.FOUR_HOURS: 4}
    if preset in hours:
        return now + timedelta(hours=hours[preset])
    local = now.astimezone(tz)
    if preset is SnoozePreset.TOMORROW:
        target = _local_at(local.date() + timedelta(days=1), tz)
    else:
        days = (7 - local.weekday()) % 7 or 7  # Monday is 0; on a Monday, a week later
        target = _local_at(local.date() + timedelta(days=days), tz)
    return target.astimezone(now.tzinfo)
