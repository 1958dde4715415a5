"""Building automations and inboxes for the automation tests."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from core.automation.contract import (
    Automations,
    AutoReply,
    Conditions,
    Rule,
    Trigger,
    urgent_ping_rule,
)
from core.business_hours import BusinessHours
from core.usecases import Inbox
from tests.core.conftest import ACCOUNTS

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAY_HOURS = BusinessHours.from_ranges(
    MADRID, {d: ["09:00-18:00"] for d in ("monday", "tuesday", "wednesday", "thursday",
                                          "friday")})


def rule(name: str, triggers, *actions, after=None, **conditions) -> Rule:
    if isinstance(triggers, str):
        triggers = [triggers]
    if "text_matches" in conditions:
        conditions["text_matches"] = re.compile(conditions["text_matches"])
    for key in ("channel", "account", "status", "tag", "to", "sentiment"):
        if key in conditions and isinstance(conditions[key], (str, list, tuple)):
            value = conditions[key]
            conditions[key] = frozenset([value] if isinstance(value, str) else value)
    for key in ("tags_any", "tags_none", "ai_tags_any"):
        if key in conditions:
            conditions[key] = frozenset(conditions[key])
    return Rule(name, frozenset(Trigger(t) for t in triggers), tuple(actions),
                Conditions(**conditions), after)


def automations(*rules: Rule, auto_replies: tuple[AutoReply, ...] = (), hours=WEEKDAY_HOURS,
                builtin: bool = True, max_depth: int = 3) -> Automations:
    base = (urgent_ping_rule(),) if builtin else ()
    return Automations(base + tuple(rules), auto_replies, hours, max_depth)


def inbox_with(uow_factory, clock, autos: Automations) -> Inbox:
    return Inbox(uow_factory, clock, ACCOUNTS, MADRID, frontends=("slack",), automations=autos)
