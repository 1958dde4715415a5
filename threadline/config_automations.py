"""The automation sections of the config file: `rules`, `auto_replies`, `builtin_rules`.

Parsed strictly like the rest of the file (unknown keys fail), then checked against the
other sections (teams, agents, tags, templates, accounts, business hours), every problem
named by its dotted key path, e.g. `rules[1].then[0].assign.team`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from core.automation.contract import (
    TIMER_TRIGGERS,
    URGENT_RULE,
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
    Strategy,
    Trigger,
    parse_duration,
    urgent_ping_rule,
)
from core.model import Channel, Role, Status
from core.snooze import SnoozePreset
from core.templates import variables_in

CHANNELS = ("email", "whatsapp")
# What an automatic send can fill in a template (see AutomationActions._template_values).
AUTOMATIC_VARIABLES = frozenset({"name", "first_name", "address", "subject", "account",
                                 "conversation"})
_TRIGGER_ONLY = {  # conditions that only make sense for some triggers
    "tag": ({"tag_added", "tag_removed"}, "tag_added or tag_removed"),
    "to": ({"status_changed"}, "status_changed"),
    "ai_urgent": ({"ai_analyzed"}, "ai_analyzed"),
    "sentiment": ({"ai_analyzed"}, "ai_analyzed"),
    "ai_tags_any": ({"ai_analyzed"}, "ai_analyzed"),
}

TriggerName = Literal["conversation_opened", "message_received", "tag_added", "tag_removed",
                      "status_changed", "assigned", "no_first_response", "no_reply",
                      "ai_analyzed"]
StatusName = Literal["open", "pending", "snoozed", "resolved"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


T = TypeVar("T")
OneOrMany = Annotated[list[T], BeforeValidator(_listed)]  # `x` or `[x, y]`


def _duration(value: str) -> str:
    parse_duration(value)  # ValueError names the problem
    return value


class AssignConfig(_Strict):
    team: str | None = None
    agent: str | None = None
    strategy: Literal["round_robin", "least_open"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> AssignConfig:
        if (self.team is None) == (self.agent is None):
            raise ValueError("give either team or agent")
        if self.strategy is not None and self.team is None:
            raise ValueError("strategy picks a member of a team: give team, not agent")
        return self


class NotifyConfig(_Strict):
    role: Literal["manager", "admin"] | None = None
    agent: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> NotifyConfig:
        if (self.role is None) == (self.agent is None):
            raise ValueError("give either role (manager or admin) or agent")
        return self


class ReplyConfig(_Strict):
    template: str = Field(min_length=1)


class ActionConfig(_Strict):
    assign: AssignConfig | None = None
    add_tags: OneOrMany[str] | None = Field(None, min_length=1)
    remove_tags: OneOrMany[str] | None = Field(None, min_length=1)
    notify: NotifyConfig | None = None
    reply: ReplyConfig | None = None
    note: str | None = Field(None, min_length=1)
    set_status: Literal["open", "pending", "resolved"] | None = None
    snooze: str | None = None

    @field_validator("snooze")
    @classmethod
    def _snooze(cls, v: str | None) -> str | None:
        if v is None or v.strip().lower() in {p.value for p in SnoozePreset}:
            return v
        try:
            return _duration(v)
        except ValueError:
            presets = ", ".join(p.value for p in SnoozePreset)
            raise ValueError(f"{v!r} is neither a snooze preset ({presets}) nor a duration "
                             "like 30m or 2h") from None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionConfig:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            keys = ", ".join(type(self).model_fields)
            raise ValueError(f"each action is one of {keys}; got "
                             f"{', '.join(given) or 'none'}")
        return self


class ConditionsConfig(_Strict):
    channel: OneOrMany[Literal["email", "whatsapp"]] | None = None
    account: OneOrMany[str] | None = None
    text_matches: str | None = None
    tags_any: OneOrMany[str] | None = None
    tags_none: OneOrMany[str] | None = None
    status: OneOrMany[StatusName] | None = None
    assigned: bool | None = None
    business_hours: bool | None = None
    contact_is_customer: bool | None = None
    tag: OneOrMany[str] | None = None
    to: OneOrMany[StatusName] | None = None
    ai_urgent: bool | None = None
    sentiment: OneOrMany[Literal["positive", "neutral", "frustrated", "urgent"]] | None = None
    ai_tags_any: OneOrMany[str] | None = None

    @field_validator("text_matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class RuleConfig(_Strict):
    name: str = Field(min_length=1)
    trigger: OneOrMany[TriggerName] = Field(min_length=1)
    if_: ConditionsConfig = Field(default_factory=ConditionsConfig, alias="if")
    then: list[ActionConfig] = Field(min_length=1)
    after: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_on(cls, data: Any) -> Any:
        if isinstance(data, dict) and (True in data or "on" in data):
            raise ValueError("use `trigger:` to name the events (YAML reads `on` as true)")
        return data

    @field_validator("after")
    @classmethod
    def _after(cls, v: str | None) -> str | None:
        return None if v is None else _duration(v)


class AutoReplyConfig(_Strict):
    name: str = Field(min_length=1)
    when: Literal["outside_business_hours", "always"] = "outside_business_hours"
    channels: OneOrMany[Literal["email", "whatsapp"]] | None = None
    accounts: OneOrMany[str] | None = None
    template: str = Field(min_length=1)
    once_per: str = "24h"

    @field_validator("once_per")
    @classmethod
    def _once_per(cls, v: str) -> str:
        return _duration(v)


class BuiltinRulesConfig(_Strict):
    urgent_ping: bool = True  # tagging a conversation urgent pings the managers


# -- checks across sections -------------------------------------------------------------

def automation_problems(cfg) -> list[str]:
    """What in `rules` and `auto_replies` names something the file does not declare."""
    from core.usecases.triage import normalize_tag

    problems: list[str] = []
    teams = {t.name.lower() for t in cfg.teams}
    agents = {a.email for a in cfg.agents}
    tags = {normalize_tag(t.name) for t in cfg.tags}
    accounts = ({a.id: a.channel for a in cfg.accounts} if cfg.accounts else
                {"email": "email", "whatsapp_cloud": "whatsapp", "twilio": "whatsapp"})
    templates = {(t.name, t.channel): t for t in cfg.templates}

    def check_tags(path: str, names: list[str] | None) -> None:
        for j, name in enumerate(names or []):
            if normalize_tag(name) not in tags:
                problems.append(f"{path}[{j}]: tag {name!r} is not declared under tags")

    def check_template(path: str, name: str, channels: set[str]) -> None:
        for channel in sorted(channels):
            template = templates.get((name, channel))
            if template is None:
                problems.append(f"{path}: no {channel} template {name!r} under templates "
                                f"(it can run on {channel} conversations)")
                continue
            unknown = sorted(set(variables_in(template.body)) - AUTOMATIC_VARIABLES)
            if unknown:
                problems.append(
                    f"{path}: {channel} template {name!r} uses "
                    f"{', '.join('{{' + u + '}}' for u in unknown)}, which an automatic "
                    f"send cannot fill (it can: {', '.join(sorted(AUTOMATIC_VARIABLES))})")

    def check_accounts(path: str, ids: list[str] | None) -> None:
        for j, account in enumerate(ids or []):
            if account not in accounts:
                problems.append(f"{path}[{j}]: {account!r} is not a configured account")

    def reach(channels: list[str] | None, ids: list[str] | None) -> set[str]:
        """The channels a rule or auto-reply can run on."""
        out = set(channels or CHANNELS) & set(accounts.values())
        if ids:
            out &= {accounts[i] for i in ids if i in accounts}
        return out

    names: dict[str, int] = {}
    if cfg.builtin_rules.urgent_ping:
        names[URGENT_RULE] = -1
    for i, rule in enumerate(cfg.rules):
        path, cond = f"rules[{i}]", rule.if_
        if rule.name in names:
            where = ("the built-in rule (turn it off with builtin_rules.urgent_ping: false)"
                     if names[rule.name] < 0 else f"rules[{names[rule.name]}]")
            problems.append(f"{path}.name: {rule.name!r} is already the name of {where}")
        names.setdefault(rule.name, i)
        triggers = set(rule.trigger)
        timers = triggers & {t.value for t in TIMER_TRIGGERS}
        if timers and timers != triggers:
            problems.append(f"{path}.trigger: a timer ({', '.join(sorted(timers))}) cannot "
                            "be combined with events; write two rules")
        if timers and rule.after is None:
            problems.append(f"{path}.after: {', '.join(sorted(timers))} needs `after` "
                            "(how long without a staff reply, e.g. 30m)")
        if not timers and rule.after is not None:
            problems.append(f"{path}.after: only the timers no_first_response and no_reply "
                            "take `after`")
        for key, (allowed, words) in _TRIGGER_ONLY.items():
            if getattr(cond, key) is not None and not triggers <= allowed:
                problems.append(f"{path}.if.{key}: only for {words} triggers")
        if cond.business_hours is not None and cfg.business_hours is None:
            problems.append(f"{path}.if.business_hours: there is no business_hours section")
        check_accounts(f"{path}.if.account", cond.account)
        for key in ("tags_any", "tags_none", "tag"):
            check_tags(f"{path}.if.{key}", getattr(cond, key))
        for j, action in enumerate(rule.then):
            at = f"{path}.then[{j}]"
            if action.assign and action.assign.team and action.assign.team.lower() not in teams:
                problems.append(f"{at}.assign.team: {action.assign.team!r} is not a team "
                                "under teams")
            for target, key in ((action.assign, "assign"), (action.notify, "notify")):
                if target and target.agent and target.agent.lower() not in agents:
                    problems.append(f"{at}.{key}.agent: {target.agent!r} is not an agent's "
                                    "email under agents")
            check_tags(f"{at}.add_tags", action.add_tags)
            check_tags(f"{at}.remove_tags", action.remove_tags)
            if action.reply:
                check_template(f"{at}.reply.template", action.reply.template,
                               reach(cond.channel, cond.account))
    seen: dict[str, int] = {}
    for i, reply in enumerate(cfg.auto_replies):
        path = f"auto_replies[{i}]"
        if reply.name in seen:
            problems.append(f"{path}.name: duplicate of auto_replies[{seen[reply.name]}]")
        seen.setdefault(reply.name, i)
        if reply.when == "outside_business_hours" and cfg.business_hours is None:
            problems.append(f"{path}.when: outside_business_hours needs a business_hours "
                            "section")
        check_accounts(f"{path}.accounts", reply.accounts)
        check_template(f"{path}.template", reply.template,
                       reach(reply.channels, reply.accounts))
    return problems


# -- into the core's contract --------------------------------------------------------------

def build_automations(cfg, hours) -> Automations:
    """The file's rules (after the built-in one unless it is off) and auto-replies.
    `hours`: the file's business hours (threadline.config.business_hours_of)."""
    rules = [urgent_ping_rule()] if cfg.builtin_rules.urgent_ping else []
    rules += [_rule(r) for r in cfg.rules]
    replies = [AutoReply(
        r.name, r.template, ReplyWhen(r.when),
        frozenset(Channel(c) for c in (r.channels or CHANNELS)),
        frozenset(r.accounts) if r.accounts else None, parse_duration(r.once_per))
        for r in cfg.auto_replies]
    return Automations(tuple(rules), tuple(replies), hours)


def _rule(r: RuleConfig) -> Rule:
    return Rule(r.name, frozenset(Trigger(t) for t in r.trigger),
                tuple(_action(a) for a in r.then), _conditions(r.if_),
                parse_duration(r.after) if r.after else None)


def _conditions(c: ConditionsConfig) -> Conditions:
    from core.usecases.triage import normalize_tag

    def tagset(names):
        return frozenset(normalize_tag(n) for n in names or ())

    def statuses(names):
        return frozenset(Status(s) for s in names) if names is not None else None

    return Conditions(
        channel=frozenset(Channel(x) for x in c.channel) if c.channel else None,
        account=frozenset(c.account) if c.account else None,
        text_matches=re.compile(c.text_matches) if c.text_matches else None,
        tags_any=tagset(c.tags_any), tags_none=tagset(c.tags_none), status=statuses(c.status),
        assigned=c.assigned, business_hours=c.business_hours,
        contact_is_customer=c.contact_is_customer,
        tag=tagset(c.tag) if c.tag is not None else None, to=statuses(c.to),
        ai_urgent=c.ai_urgent, sentiment=frozenset(c.sentiment) if c.sentiment else None,
        ai_tags_any=frozenset(c.ai_tags_any or ()))


def _action(a: ActionConfig):
    from core.usecases.triage import normalize_tag

    if a.assign is not None:
        return Assign(a.assign.team, a.assign.agent.lower() if a.assign.agent else None,
                      Strategy(a.assign.strategy or "round_robin"))
    if a.add_tags is not None:
        return AddTags(tuple(normalize_tag(t) for t in a.add_tags))
    if a.remove_tags is not None:
        return RemoveTags(tuple(normalize_tag(t) for t in a.remove_tags))
    if a.notify is not None:
        return Notify(Role(a.notify.role) if a.notify.role else None,
                      a.notify.agent.lower() if a.notify.agent else None)
    if a.reply is not None:
        return Reply(a.reply.template)
    if a.note is not None:
        return Note(a.note)
    if a.set_status is not None:
        return SetStatus(Status(a.set_status))
    assert a.snooze is not None
    text = a.snooze.strip().lower()
    if text in {p.value for p in SnoozePreset}:
        return Snooze(preset=SnoozePreset(text))
    return Snooze(duration=parse_duration(text))
