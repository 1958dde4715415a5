"""Which rules an event fires, and the events their actions cause, to a bounded depth.

Pure. The caller owns the conversation: it applies each firing's actions (changing the
conversation object) and reports the events they caused with `caused`; the next firing is
matched against the state those actions left. Each rule fires at most once per event, a
rule never fires for an event its own action caused, and events deeper than the
configured depth are dropped (counted in `dropped`): any rule set terminates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from core import rules as state
from core.automation.contract import (
    Automations,
    AutoReply,
    Conditions,
    ReplyWhen,
    Rule,
    Trigger,
)
from core.business_hours import BusinessHours
from core.model import Actor, ActorType, Channel, Conversation, Status

# WhatsApp message types that are not a person writing: never answered automatically.
NOT_ANSWERABLE_TYPES = frozenset({"reaction", "system", "unsupported", "unknown", "errors",
                                  "request_welcome", "ephemeral"})


@dataclass(frozen=True, slots=True)
class AiFacts:
    sentiment: str | None = None
    urgent: bool = False
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Event:
    trigger: Trigger
    performed_by: Actor
    depth: int = 0
    tag: str | None = None  # tag_added / tag_removed
    status_to: Status | None = None  # status_changed
    text: str = ""  # the new customer text (conversation_opened / message_received)
    automated: bool = False  # that message is automated mail (auto-reply, list, bounce)
    message_type: str | None = None  # the provider's message type (WhatsApp), if any
    ai: AiFacts | None = None  # ai_analyzed

    @property
    def by_rule(self) -> str | None:
        if self.performed_by.type is ActorType.AUTOMATION:
            return str(self.performed_by.id)
        return None


@dataclass(frozen=True, slots=True)
class Facts:
    """What conditions need beyond the conversation itself."""

    now: datetime
    contact_is_customer: bool = False
    from_us: bool = False  # the sender is one of our own accounts (a loop)


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """No business hours configured: always open."""
    return True if hours is None else hours.is_open(at)


def matches(rule: Rule, event: Event, conv: Conversation, facts: Facts,
            hours: BusinessHours | None) -> bool:
    if event.trigger not in rule.triggers or event.by_rule == rule.name:
        return False
    return conditions_hold(rule.conditions, event, conv, facts, hours)


Check = Callable[[Event, Conversation, Facts, "BusinessHours | None"], bool]


@lru_cache(maxsize=4096)
def compiled(c: Conditions) -> tuple[Check, ...]:
    """The checks of the conditions that are set, cheapest first (a regex last): every
    customer message meets every rule, so most rules should fail fast."""
    checks: list[Check] = []
    if c.channel is not None:
        checks.append(lambda e, conv, f, h: conv.channel in c.channel)
    if c.account is not None:
        checks.append(lambda e, conv, f, h: conv.account in c.account)
    if c.tag is not None:
        checks.append(lambda e, conv, f, h: e.tag in c.tag)
    if c.to is not None:
        checks.append(lambda e, conv, f, h: e.status_to in c.to)
    if c.status is not None:
        checks.append(lambda e, conv, f, h: conv.status in c.status)
    if c.assigned is not None:
        checks.append(lambda e, conv, f, h: (conv.assignee_id is not None) == c.assigned)
    if c.contact_is_customer is not None:
        checks.append(lambda e, conv, f, h: f.contact_is_customer == c.contact_is_customer)
    if c.tags_any:
        checks.append(lambda e, conv, f, h: not c.tags_any.isdisjoint(conv.tags))
    if c.tags_none:
        checks.append(lambda e, conv, f, h: c.tags_none.isdisjoint(conv.tags))
    if c.ai_urgent is not None or c.sentiment is not None or c.ai_tags_any:
        checks.append(lambda e, conv, f, h: _ai_holds(c, e.ai))
    if c.business_hours is not None:
        checks.append(lambda e, conv, f, h: is_open(h, f.now) == c.business_hours)
    if c.text_matches is not None:
        pattern = c.text_matches
        checks.append(lambda e, conv, f, h: pattern.search(
            "\n".join(t for t in (conv.subject or "", e.text) if t)) is not None)
    return tuple(checks)


def conditions_hold(c: Conditions, event: Event, conv: Conversation, facts: Facts,
                    hours: BusinessHours | None) -> bool:
    return all(check(event, conv, facts, hours) for check in compiled(c))


def _ai_holds(c: Conditions, ai: AiFacts | None) -> bool:
    if ai is None:
        return False
    if c.ai_urgent is not None and ai.urgent != c.ai_urgent:
        return False
    if c.sentiment is not None and ai.sentiment not in c.sentiment:
        return False
    return not c.ai_tags_any or not ai.tags.isdisjoint(c.ai_tags_any)


@dataclass
class Cascade:
    automations: Automations
    _queue: deque[Event] = field(default_factory=deque)
    dropped: int = 0  # events beyond the depth limit, not evaluated

    def push(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.depth > self.automations.max_depth:
                self.dropped += 1
            else:
                self._queue.append(event)

    def caused(self, rule: Rule, by: Event, events: Iterable[Event]) -> None:
        """Events that `rule`'s actions caused while handling `by`: one level deeper."""
        actor = Actor.automation(rule.name)
        self.push(_replace(e, actor, by.depth + 1) for e in events)

    def firings(self, conv: Conversation, facts: Facts) -> Iterator[tuple[Rule, Event]]:
        """(rule, event) pairs in order. Each rule's conditions are checked when its turn
        comes, against the conversation as the earlier firings left it."""
        hours = self.automations.hours
        while self._queue:
            event = self._queue.popleft()
            for rule in self.automations.rules_for(event.trigger):
                if matches(rule, event, conv, facts, hours):
                    yield rule, event


def _replace(event: Event, actor: Actor, depth: int) -> Event:
    return Event(event.trigger, actor, depth, event.tag, event.status_to, event.text,
                 event.automated, event.message_type, event.ai)


# -- auto-replies ---------------------------------------------------------------------------

def auto_reply_refusal(event: Event, conv: Conversation, facts: Facts) -> str | None:
    """Why no auto-reply may answer this message at all, or None."""
    if event.trigger is not Trigger.MESSAGE_RECEIVED or event.depth:
        return "not a customer message"
    if event.automated:
        return "automated mail"
    if facts.from_us:
        return "sent by one of our own accounts"
    if event.message_type in NOT_ANSWERABLE_TYPES:
        return f"a WhatsApp {event.message_type}"
    if conv.status is Status.RESOLVED:
        return "the conversation is resolved"
    if conv.channel is Channel.WHATSAPP and not state.whatsapp_window_open(conv, facts.now):
        return "the WhatsApp window is closed"
    return None


def auto_reply_candidates(automations: Automations, event: Event, conv: Conversation,
                          facts: Facts) -> list[AutoReply]:
    """The auto-replies that fit this message, in configured order (the first one not
    used within its `once_per` is sent; the caller knows when each was last sent)."""
    if auto_reply_refusal(event, conv, facts) is not None:
        return []
    out = []
    for reply in automations.auto_replies:
        if conv.channel not in reply.channels:
            continue
        if reply.accounts is not None and conv.account not in reply.accounts:
            continue
        if reply.when is ReplyWhen.OUTSIDE_BUSINESS_HOURS and (
                automations.hours is None or automations.hours.is_open(facts.now)):
            continue
        out.append(reply)
    return out


def may_send_again(reply: AutoReply, last_sent: datetime | None, now: datetime) -> bool:
    return last_sent is None or now - last_sent >= reply.once_per
