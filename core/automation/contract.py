"""What an admin configures: rules (trigger, conditions, actions), auto-replies, and the
built-in rules. Plain frozen data; the config file is parsed into it outside the core."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from core.business_hours import BusinessHours
from core.model import Channel, Role, Status
from core.snooze import SnoozePreset

MAX_DEPTH = 3  # how far an automation's action may trigger further rules
URGENT_RULE = "urgent ping"  # the built-in rule's name (builtin_rules.urgent_ping)
URGENT_TAG = "urgent"


class Trigger(StrEnum):
    CONVERSATION_OPENED = "conversation_opened"
    MESSAGE_RECEIVED = "message_received"
    TAG_ADDED = "tag_added"
    TAG_REMOVED = "tag_removed"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    NO_FIRST_RESPONSE = "no_first_response"
    NO_REPLY = "no_reply"
    AI_ANALYZED = "ai_analyzed"


TIMER_TRIGGERS = frozenset({Trigger.NO_FIRST_RESPONSE, Trigger.NO_REPLY})


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_OPEN = "least_open"


class ReplyWhen(StrEnum):
    OUTSIDE_BUSINESS_HOURS = "outside_business_hours"
    ALWAYS = "always"


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """ "30s", "15m", "2h", "1d", or combined ("1h30m"). ValueError otherwise."""
    cleaned = str(text).strip().lower().replace(" ", "")
    m = _DURATION.match(cleaned)
    if not cleaned or not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 2h or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise ValueError(f"{text!r}: a duration must be longer than zero")
    return value


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# -- conditions -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Conditions:
    """Every condition given must hold; None (or empty) means "any"."""

    channel: frozenset[Channel] | None = None
    account: frozenset[str] | None = None
    text_matches: re.Pattern[str] | None = None  # over subject + the new text
    tags_any: frozenset[str] = frozenset()
    tags_none: frozenset[str] = frozenset()
    status: frozenset[Status] | None = None
    assigned: bool | None = None
    business_hours: bool | None = None  # inside (True) or outside (False)
    contact_is_customer: bool | None = None
    tag: frozenset[str] | None = None  # tag_added / tag_removed: which tag
    to: frozenset[Status] | None = None  # status_changed: the new status
    ai_urgent: bool | None = None  # ai_analyzed
    sentiment: frozenset[str] | None = None
    ai_tags_any: frozenset[str] = frozenset()


# -- actions (the same commands staff issue) ------------------------------------------------

@dataclass(frozen=True, slots=True)
class Assign:
    team: str | None = None  # a team name
    agent: str | None = None  # an agent's email
    strategy: Strategy = Strategy.ROUND_ROBIN  # picks a member when only a team is given


@dataclass(frozen=True, slots=True)
class AddTags:
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoveTags:
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notify:
    role: Role | None = None  # manager: managers and admins; admin: admins
    agent: str | None = None  # an agent's email


@dataclass(frozen=True, slots=True)
class Reply:
    template: str


@dataclass(frozen=True, slots=True)
class Note:
    text: str


@dataclass(frozen=True, slots=True)
class SetStatus:
    status: Status  # open | pending | resolved


@dataclass(frozen=True, slots=True)
class Snooze:
    preset: SnoozePreset | None = None
    duration: timedelta | None = None


Action = Assign | AddTags | RemoveTags | Notify | Reply | Note | SetStatus | Snooze


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    triggers: frozenset[Trigger]
    actions: tuple[Action, ...]
    conditions: Conditions = Conditions()
    after: timedelta | None = None  # timer triggers: how long without a staff reply
    builtin: bool = False

    @property
    def is_timer(self) -> bool:
        return bool(self.triggers & TIMER_TRIGGERS)


@dataclass(frozen=True, slots=True)
class AutoReply:
    name: str
    template: str
    when: ReplyWhen = ReplyWhen.OUTSIDE_BUSINESS_HOURS
    channels: frozenset[Channel] = frozenset(Channel)
    accounts: frozenset[str] | None = None  # None: every account
    once_per: timedelta = timedelta(hours=24)


def urgent_ping_rule() -> Rule:
    """The built-in rule: tagging a conversation urgent pings the managers."""
    return Rule(URGENT_RULE, frozenset({Trigger.TAG_ADDED}), (Notify(role=Role.MANAGER),),
                Conditions(tag=frozenset({URGENT_TAG})), builtin=True)


@dataclass(frozen=True)
class Automations:
    rules: tuple[Rule, ...] = ()
    auto_replies: tuple[AutoReply, ...] = ()
    hours: BusinessHours | None = None
    max_depth: int = MAX_DEPTH
    _by_trigger: dict[Trigger, tuple[Rule, ...]] = field(default_factory=dict, init=False,
                                                         repr=False, compare=False)

    def __post_init__(self) -> None:
        for trigger in Trigger:
            self._by_trigger[trigger] = tuple(r for r in self.rules if trigger in r.triggers)

    @classmethod
    def default(cls) -> Automations:
        """No configuration: the built-in rules only."""
        return cls(rules=(urgent_ping_rule(),))

    def rules_for(self, trigger: Trigger) -> tuple[Rule, ...]:
        return self._by_trigger[trigger]

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def timer_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.is_timer)
