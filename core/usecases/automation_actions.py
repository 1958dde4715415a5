"""What each automation action does to a conversation, inside the transaction of the
event that fired its rule: the same changes staff commands make, recorded as the rule."""

from __future__ import annotations

from datetime import timedelta

from core.automation import state
from core.automation.cascade import Event, Facts
from core.automation.contract import (
    Action,
    AddTags,
    Assign,
    Note,
    Notify,
    RemoveTags,
    Reply,
    SetStatus,
    Snooze,
    Strategy,
    Trigger,
)
from core.errors import InvalidTransition
from core.model import (
    Actor,
    Agent,
    Conversation,
    Direction,
    Message,
    MessageKind,
    Role,
    Team,
)
from core.ports import UnitOfWork
from core.usecases.base import UseCaseBase
from core.usecases.triage import DEFAULT_TAG_COLOUR

ASSIGNMENT_LOCK = "automation:assignment"  # one picker at a time: cursors stay fair
CURSORS = "_threadline"  # sync_state "account" of the runtime's own cursors


class Outcome:
    """What one action did, in words for the system line, and the events it caused."""

    def __init__(self, words: str | None = None, events: list[Event] | None = None,
                 changed: bool = False) -> None:
        self.words, self.events, self.changed = words, events or [], changed


class AutomationActions(UseCaseBase):
    async def _perform(self, uow: UnitOfWork, conv: Conversation, action: Action,
                       actor: Actor, event: Event, facts: Facts) -> Outcome:
        if isinstance(action, Assign):
            return await self._assign_by_rule(uow, conv, action, actor)
        if isinstance(action, AddTags):
            return await self._tag_by_rule(uow, conv, action, actor)
        if isinstance(action, RemoveTags):
            events = state.remove_tags(conv, action.tags, actor)
            if not events:
                return Outcome()
            gone = [e.tag for e in events]
            await self._audit(uow, conv.id, "untagged", actor, removed=gone)
            return Outcome("untagged " + ", ".join(gone), events, True)
        if isinstance(action, Notify):
            return await self._notify_by_rule(uow, conv, action, actor)
        if isinstance(action, Reply):
            return await self._reply_by_rule(uow, conv, action, actor, event, facts)
        if isinstance(action, Note):
            await self._automation_message(uow, conv, MessageKind.NOTE, actor, action.text)
            return Outcome("added a note")
        if isinstance(action, SetStatus):
            events = state.set_status(conv, action.status, self.clock.now(), actor)
            if not events:
                return Outcome()
            await self._audit(uow, conv.id, f"set_{action.status.value}", actor)
            return Outcome(f"set status to {action.status.value}", events, True)
        if isinstance(action, Snooze):
            now = self.clock.now()
            until = state.snooze_end(action, now, self.ctx.timezone)
            try:
                events = state.snooze(conv, until, now, actor)
            except InvalidTransition:
                return Outcome("not snoozed: the conversation is resolved")
            await self._audit(uow, conv.id, "snoozed", actor, until=until.isoformat())
            local = until.astimezone(self.ctx.timezone)
            return Outcome(f"snoozed until {local:%a %d %b %H:%M}", events, True)
        raise TypeError(f"unknown automation action {action!r}")  # pragma: no cover

    # -- assign --------------------------------------------------------------------------

    async def _assign_by_rule(self, uow: UnitOfWork, conv: Conversation, action: Assign,
                              actor: Actor) -> Outcome:
        team = await uow.teams.by_name(action.team) if action.team else None
        if action.team and team is None:
            return Outcome(f"not assigned: there is no team {action.team}")
        agent = None
        if action.agent:
            agent = await uow.agents.by_email(action.agent)
            if agent is None or not agent.active:
                return Outcome(f"not assigned: no active agent {action.agent}")
        elif team is not None:
            agent = await self._pick(uow, team, action.strategy)
        before = (conv.team_id, conv.assignee_id)
        if team is not None:
            conv.team_id = team.id
        if agent is not None:
            conv.assignee_id = agent.id
        if team is not None and agent is None:
            words = f"assigned to {team.name} (nobody in it is available)"
        elif team is not None:
            words = f"assigned to {team.name} ({agent.name})"
        else:
            words = f"assigned to {agent.name}"
        if (conv.team_id, conv.assignee_id) == before:
            return Outcome()
        await self._audit(uow, conv.id, "assigned", actor, agent_id=conv.assignee_id,
                          team_id=conv.team_id)
        return Outcome(words, [Event(Trigger.ASSIGNED, actor)], True)

    async def _pick(self, uow: UnitOfWork, team: Team, strategy: Strategy) -> Agent | None:
        """The next member to get work: round robin from a durable cursor (fair across
        restarts and processes, which take turns under one lock), or the fewest open
        conversations (ties broken in round-robin order). Away agents are skipped."""
        await uow.lock(ASSIGNMENT_LOCK)
        members = []
        for agent_id in sorted(team.member_ids):
            agent = await uow.agents.get(agent_id)
            if agent is not None and agent.active and agent.available:
                members.append(agent)
        if not members:
            return None
        key = f"round_robin:{team.id}"
        cursor = await uow.sync_state.get(CURSORS, key)
        last = int(cursor["last_agent_id"]) if cursor else 0
        # round-robin order: the members after the last one picked, then from the start
        order = ([a for a in members if a.id > last] + [a for a in members if a.id <= last])
        if strategy is Strategy.LEAST_OPEN:
            counts = await uow.conversations.open_counts([a.id for a in members])
            fewest = min(counts.get(a.id, 0) for a in members)
            order = [a for a in order if counts.get(a.id, 0) == fewest]
        chosen = order[0]
        await uow.sync_state.put(CURSORS, key, {"last_agent_id": chosen.id}, self.clock.now())
        return chosen

    # -- tags, notify, reply -------------------------------------------------------------

    async def _tag_by_rule(self, uow: UnitOfWork, conv: Conversation, action: AddTags,
                           actor: Actor) -> Outcome:
        new = [t for t in action.tags if t not in conv.tags]
        if not new:
            return Outcome()
        await self._ensure_tags(uow, new)
        events = state.add_tags(conv, action.tags, actor)
        added = [e.tag for e in events]
        await self._audit(uow, conv.id, "tagged", actor, added=added)
        return Outcome("tagged " + ", ".join(added), events, True)

    async def _ensure_tags(self, uow: UnitOfWork, names: list[str]) -> None:
        """Tags a rule adds exist (declared in the config file, so normally synced). Names
        seen committed are remembered: tags are never deleted, and rules tag on the hot
        inbound path. One created here is only remembered once read back committed."""
        seen: set[str] = self.__dict__.setdefault("_committed_tags", set())
        unsure = [n for n in names if n not in seen]
        if not unsure:
            return
        found = {t.name for t in await uow.tags.by_names(unsure)}
        seen |= found
        await uow.tags.ensure([n for n in unsure if n not in found], DEFAULT_TAG_COLOUR)

    async def _notify_by_rule(self, uow: UnitOfWork, conv: Conversation, action: Notify,
                              actor: Actor) -> Outcome:
        agent_id = None
        if action.agent:
            agent = await uow.agents.by_email(action.agent)
            if agent is None or not agent.active:
                return Outcome(f"nobody notified: no active agent {action.agent}")
            agent_id, who = agent.id, agent.name
        else:
            who = "the admins" if action.role is Role.ADMIN else "the managers"
        assert conv.id is not None
        await self._notify(uow, "notify", conv.id, rule=str(actor.id),
                           role=action.role.value if action.role else None, agent_id=agent_id)
        return Outcome(f"notified {who}")

    async def _reply_by_rule(self, uow: UnitOfWork, conv: Conversation, action: Reply,
                             actor: Actor, event: Event, facts: Facts) -> Outcome:
        if event.automated:
            return Outcome("no reply: the message is automated mail")
        if facts.from_us:
            return Outcome("no reply: the message came from one of our own accounts")
        sent = await self._send_automatic(uow, conv, action.template, actor, auto_reply=False)
        return Outcome(sent)

    async def _send_automatic(self, uow: UnitOfWork, conv: Conversation, template: str,
                              actor: Actor, *, auto_reply: bool) -> str:
        """Queue a template to the customer as the automation; words for the system line.
        Everything that can refuse it is asked before anything is written."""
        self.ctx.sending_account(conv.account)
        values = await self._template_values(uow, conv)
        body = await self._render_template(uow, conv, template, values)
        await self._queue(uow, conv, body, actor, [], timedelta(0),
                          template=(template, values), automatic=str(actor.id),
                          auto_reply=auto_reply)
        return f"replied with template {template}"

    async def _template_values(self, uow: UnitOfWork, conv: Conversation) -> dict[str, str]:
        contact = await uow.contacts.get(conv.contact_id)
        name = (contact.name if contact else "") or (contact.address if contact else "")
        account = self.ctx.accounts.get(conv.account)
        return {"name": name, "first_name": name.split()[0] if name.split() else name,
                "address": contact.address if contact else "", "subject": conv.subject or "",
                "account": (account.name or account.id) if account else conv.account,
                "conversation": str(conv.id)}

    async def _automation_message(self, uow: UnitOfWork, conv: Conversation,
                                  kind: MessageKind, actor: Actor, body: str) -> Message:
        assert conv.id is not None
        message = await uow.messages.add(Message(conv.id, Direction.OUT, kind, actor, body,
                                                 self.clock.now()))
        await self._notify(uow, "message_added", conv.id, message_id=message.id)
        return message
