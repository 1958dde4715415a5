"""Which rules an event fires, and the events their actions cause, to a bounded depth.

Pure. The caller owns the conversation: it applies each firing's actions (changing the
conversation object) and reports the events they caused with `caused`; the next firing is
matched against the state those actions left. Each rule fires at most once per event, a
rule never fires for an event its own action caused, and events deeper than the
configured depth are dropped (counted in `dropped`): any rule set terminates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

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


def conditions_hold(c: Conditions, event: Event, conv: Conversation, facts: Facts,
                    hours: BusinessHours | None) -> bool:
    tags = set(conv.tags)
    checks = (
        c.channel is None or conv.channel in c.channel,
        c.account is None or conv.account in c.account,
        not c.tags_any or bool(tags & c.tags_any),
        not c.tags_none or not (tags & c.tags_none),
        c.status is None or conv.status in c.status,
        c.assigned is None or (conv.assignee_id is not None) == c.assigned,
        c.contact_is_customer is None or facts.contact_is_customer == c.contact_is_customer,
        c.tag is None or event.tag in c.tag,
        c.to is None or event.status_to in c.to,
        c.business_hours is None or is_open(hours, facts.now) == c.business_hours,
    )
    if not all(checks):
        return False
    if c.ai_urgent is not None or c.sentiment is not None or c.ai_tags_any:
        ai = event.ai
        if ai is None:
            return False
        if c.ai_urgent is not None and ai.urgent != c.ai_urgent:
            return False
        if c.sentiment is not None and ai.sentiment not in c.sentiment:
            return False
        if c.ai_tags_any and not (ai.tags & c.ai_tags_any):
            return False
    if c.text_matches is not None:
        haystack = "\n".join(t for t in (conv.subject or "", event.text) if t)
        if not c.text_matches.search(haystack):
            return False
    return True


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
