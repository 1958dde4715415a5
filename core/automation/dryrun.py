"""Rules in words, and a dry run of what a customer message would set off. Pure: the dry
run applies the state part of each action (core.automation.state, as the use cases do) to
a new conversation in memory and only describes the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from core.automation import state
from core.automation.cascade import (
    Cascade,
    Event,
    Facts,
    auto_reply_candidates,
    auto_reply_refusal,
)
from core.automation.contract import (
    Action,
    AddTags,
    Assign,
    Automations,
    AutoReply,
    Conditions,
    Note,
    Notify,
    RemoveTags,
    Reply,
    ReplyWhen,
    Rule,
    SetStatus,
    Snooze,
    Trigger,
    format_duration,
)
from core.errors import InvalidTransition
from core.model import Actor, Channel, Conversation, Role

_TRIGGERS = {
    Trigger.CONVERSATION_OPENED: "a conversation is opened",
    Trigger.MESSAGE_RECEIVED: "a customer message arrives",
    Trigger.TAG_ADDED: "a tag is added", Trigger.TAG_REMOVED: "a tag is removed",
    Trigger.STATUS_CHANGED: "the status changes",
    Trigger.ASSIGNED: "the conversation is assigned",
    Trigger.AI_ANALYZED: "the AI analysis of a message is ready",
}


def describe_action(action: Action) -> str:
    if isinstance(action, Assign):
        if action.agent:
            return f"assign to {action.agent}"
        return f"assign to {action.team} ({action.strategy.value.replace('_', ' ')})"
    if isinstance(action, AddTags):
        return "tag " + ", ".join(action.tags)
    if isinstance(action, RemoveTags):
        return "untag " + ", ".join(action.tags)
    if isinstance(action, Notify):
        if action.agent:
            return f"notify {action.agent}"
        return "notify the admins" if action.role is Role.ADMIN else "notify the managers"
    if isinstance(action, Reply):
        return f"reply with template {action.template}"
    if isinstance(action, Note):
        return f"add the private note {action.text!r}"
    if isinstance(action, SetStatus):
        return f"set status to {action.status.value}"
    if isinstance(action, Snooze):
        how = action.preset.value if action.preset else format_duration(action.duration)
        return f"snooze {how}"
    raise TypeError(action)  # pragma: no cover


def describe_conditions(c: Conditions) -> list[str]:
    def names(values) -> str:
        return " or ".join(sorted(str(v) for v in values))

    out = []
    if c.channel:
        out.append(f"the channel is {names(c.channel)}")
    if c.account:
        out.append(f"the account is {names(c.account)}")
    if c.text_matches is not None:
        out.append(f"the subject or text matches /{c.text_matches.pattern}/")
    if c.tags_any:
        out.append(f"it is tagged {names(c.tags_any)}")
    if c.tags_none:
        out.append(f"it is not tagged {names(c.tags_none)}")
    if c.status:
        out.append(f"the status is {names(c.status)}")
    if c.assigned is not None:
        out.append("it is assigned" if c.assigned else "nobody is assigned")
    if c.business_hours is not None:
        out.append("inside business hours" if c.business_hours else "outside business hours")
    if c.contact_is_customer is not None:
        out.append("the contact is " + ("" if c.contact_is_customer else "not ")
                   + "linked to a customer")
    if c.tag:
        out.append(f"the tag is {names(c.tag)}")
    if c.to:
        out.append(f"the new status is {names(c.to)}")
    if c.ai_urgent is not None:
        out.append("the AI finds it " + ("urgent" if c.ai_urgent else "not urgent"))
    if c.sentiment:
        out.append(f"the sentiment is {names(c.sentiment)}")
    if c.ai_tags_any:
        out.append(f"the AI suggests {names(c.ai_tags_any)}")
    return out


def describe_rule(rule: Rule) -> str:
    if rule.is_timer:
        after = format_duration(rule.after) if rule.after else "?"
        whens = []
        if Trigger.NO_FIRST_RESPONSE in rule.triggers:
            whens.append(f"no staff reply has come {after} after the conversation opened")
        if Trigger.NO_REPLY in rule.triggers:
            whens.append(f"no staff reply has come {after} after the customer's last message")
        when = " or ".join(whens)
    else:
        when = " or ".join(_TRIGGERS[t] for t in Trigger if t in rule.triggers)
    conditions = describe_conditions(rule.conditions)
    condition = f", if {' and '.join(conditions)}" if conditions else ""
    actions = ", then ".join(describe_action(a) for a in rule.actions)
    return f"When {when}{condition}: {actions}."


def describe_auto_reply(reply: AutoReply) -> str:
    when = ("outside business hours" if reply.when is ReplyWhen.OUTSIDE_BUSINESS_HOURS
            else "at any time")
    channels = " and ".join(sorted(c.value for c in reply.channels))
    accounts = f" on {', '.join(sorted(reply.accounts))}" if reply.accounts else ""
    return (f"To customer messages {when} ({channels}{accounts}): reply with template "
            f"{reply.template}, at most once per conversation every "
            f"{format_duration(reply.once_per)}.")


@dataclass
class Firing:
    rule: str
    trigger: str
    depth: int
    did: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    firings: list[Firing] = field(default_factory=list)
    auto_reply: str | None = None
    no_auto_reply: str | None = None
    dropped: int = 0

    def lines(self) -> list[str]:
        out = []
        for f in self.firings:
            depth = f" (caused by another rule, depth {f.depth})" if f.depth else ""
            out.append(f"rule {f.rule!r} fires on {f.trigger}{depth}: {'; '.join(f.did)}")
        if not self.firings:
            out.append("no rule fires")
        if self.dropped:
            out.append(f"{self.dropped} event(s) past the depth limit are not evaluated")
        out.append(self.auto_reply or f"no auto-reply: {self.no_auto_reply}")
        return out


def simulate_inbound(automations: Automations, *, channel: Channel, account: str,
                     subject: str | None, text: str, at: datetime, tz: ZoneInfo,
                     automated: bool = False, contact_is_customer: bool = False,
                     from_us: bool = False) -> DryRun:
    """What a first message from a new contact would set off (nothing is written)."""
    conv = Conversation(channel, account, 0, at, subject=subject, last_customer_message_at=at)
    facts = Facts(now=at, contact_is_customer=contact_is_customer, from_us=from_us)
    actor = Actor.contact(None)
    said = {"text": text, "automated": automated}
    message = Event(Trigger.MESSAGE_RECEIVED, actor, **said)
    cascade = Cascade(automations)
    cascade.push([Event(Trigger.CONVERSATION_OPENED, actor, **said), message])
    run = DryRun()
    for rule, event in cascade.firings(conv, facts):
        firing = Firing(rule.name, event.trigger.value, event.depth)
        caused: list[Event] = []
        for action in rule.actions:
            words, events = _apply(conv, action, Actor.automation(rule.name), event, facts, tz)
            firing.did.append(words)
            caused += events
        run.firings.append(firing)
        cascade.caused(rule, event, caused)
    run.dropped = cascade.dropped
    candidates = auto_reply_candidates(automations, message, conv, facts)
    if candidates:
        first = candidates[0]
        run.auto_reply = (f"auto-reply {first.name!r}: would send template {first.template} "
                          "unless an auto-reply went to this conversation in the last "
                          f"{format_duration(first.once_per)}")
    else:
        run.no_auto_reply = auto_reply_refusal(message, conv, facts) or (
            "none configured fits (channel, account or business hours)")
    return run


def _apply(conv: Conversation, action: Action, actor: Actor, event: Event, facts: Facts,
           tz: ZoneInfo) -> tuple[str, list[Event]]:
    words = "would " + describe_action(action)
    if isinstance(action, AddTags):
        return words, state.add_tags(conv, action.tags, actor)
    if isinstance(action, RemoveTags):
        return words, state.remove_tags(conv, action.tags, actor)
    if isinstance(action, SetStatus):
        return words, state.set_status(conv, action.status, facts.now, actor)
    if isinstance(action, Snooze):
        try:
            until = state.snooze_end(action, facts.now, tz)
            return words, state.snooze(conv, until, facts.now, actor)
        except InvalidTransition:
            return "would not snooze: the conversation is resolved", []
    if isinstance(action, Assign):
        if action.team:
            conv.team_id = -1
        if action.agent or action.team:
            conv.assignee_id = -1  # a placeholder: `assigned` conditions see it
        if action.team and not action.agent:
            words += ": the next available member"
        return words, [Event(Trigger.ASSIGNED, actor)]
    if isinstance(action, Reply):
        if event.automated:
            return "would not reply: the message is automated mail", []
        if facts.from_us:
            return "would not reply: it came from one of our own accounts", []
    return words, []
