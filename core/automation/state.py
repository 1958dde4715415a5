"""How an automation's action changes a conversation: the state part of each action, and
the events the change causes. Shared by the use cases (which also store it) and the dry
run (which only shows it), so the two cannot disagree."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core import rules
from core.automation.cascade import Event
from core.automation.contract import Snooze, Trigger
from core.errors import InvalidTransition
from core.model import Actor, Conversation, Status
from core.snooze import snooze_until


def add_tags(conv: Conversation, tags: tuple[str, ...], actor: Actor) -> list[Event]:
    new = sorted({t for t in tags if t not in conv.tags})
    conv.tags = sorted({*conv.tags, *new})
    return [Event(Trigger.TAG_ADDED, actor, tag=t) for t in new]


def remove_tags(conv: Conversation, tags: tuple[str, ...], actor: Actor) -> list[Event]:
    gone = sorted(set(tags) & set(conv.tags))
    conv.tags = [t for t in conv.tags if t not in gone]
    return [Event(Trigger.TAG_REMOVED, actor, tag=t) for t in gone]


def set_status(conv: Conversation, status: Status, now: datetime, actor: Actor) -> list[Event]:
    """open | pending | resolved; nothing happens (no event) when it already is."""
    if conv.status is status:
        return []
    if status is Status.RESOLVED:
        rules.resolve(conv, now)
    elif status is Status.OPEN:
        rules.reopen(conv)
    elif status is Status.PENDING:
        conv.status, conv.snoozed_until, conv.resolved_at = Status.PENDING, None, None
    else:
        raise ValueError(f"set_status cannot set {status}; use snooze")
    return [status_changed(status, actor)]


def snooze_end(action: Snooze, now: datetime, tz: ZoneInfo) -> datetime:
    if action.preset is not None:
        return snooze_until(action.preset, now, tz)
    return now + (action.duration or timedelta(0))


def snooze(conv: Conversation, until: datetime, now: datetime, actor: Actor) -> list[Event]:
    """Raises InvalidTransition for a resolved conversation (the caller reports it)."""
    was = conv.status
    rules.snooze(conv, until, now)
    return [] if was is Status.SNOOZED else [status_changed(Status.SNOOZED, actor)]


def status_changed(to: Status, actor: Actor) -> Event:
    return Event(Trigger.STATUS_CHANGED, actor, status_to=to)


__all__ = ["InvalidTransition", "add_tags", "remove_tags", "set_status", "snooze",
           "snooze_end", "status_changed"]
