"""Triage: assign, tag, snooze, resolve, reopen, link a customer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from core import rules
from core.automation.cascade import Event
from core.automation.contract import Trigger
from core.automation.state import status_changed
from core.errors import InvalidInput, NotFound
from core.model import (
    Actor,
    Channel,
    Conversation,
    Direction,
    Message,
    MessageKind,
    Status,
    Tag,
)
from core.permissions import Permission
from core.snooze import SnoozePreset, snooze_until
from core.usecases.base import UseCaseBase

DEFAULT_TAG_COLOUR = "#9e9e9e"
MAX_TAG_LENGTH = 64


def normalize_tag(name: str) -> str:
    tag = " ".join((name or "").split()).lower().lstrip("#")
    if not tag:
        raise InvalidInput("a tag name cannot be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidInput(f"tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters")
    return tag


class TriageUseCases(UseCaseBase):
    async def assign(
        self,
        conversation_id: int,
        actor: Actor,
        *,
        agent_id: int | None = None,
        team_id: int | None = None,
    ) -> Conversation:
        if agent_id is None and team_id is None:
            raise InvalidInput("assign needs an agent or a team")
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            if agent_id is not None and conv.assignee_id not in (None, agent_id, actor.id):
                await self._require(uow, actor, Permission.REASSIGN,
                                    "reassign a conversation a colleague is working on")
            if agent_id is not None:
                agent = await uow.agents.get(agent_id)
                if agent is None or not agent.active:
                    raise NotFound("agent", agent_id)
                conv.assignee_id = agent_id
            if team_id is not None:
                if await uow.teams.get(team_id) is None:
                    raise NotFound("team", team_id)
                conv.team_id = team_id
            await self._changed(uow, conv, "assigned", actor, agent_id=agent_id, team_id=team_id)
            await self._automate(uow, conv, [Event(Trigger.ASSIGNED, actor)])
            await uow.commit()
        return conv

    async def unassign(
        self, conversation_id: int, actor: Actor, *, agent: bool = True, team: bool = False
    ) -> Conversation:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            if agent and conv.assignee_id not in (None, actor.id):
                await self._require(uow, actor, Permission.REASSIGN,
                                    "unassign a conversation a colleague is working on")
            if agent:
                conv.assignee_id = None
            if team:
                conv.team_id = None
            await self._changed(uow, conv, "unassigned", actor, agent=agent, team=team)
            await uow.commit()
        return conv

    async def add_tags(
        self, conversation_id: int, names: Iterable[str], actor: Actor
    ) -> Conversation:
        wanted = sorted({normalize_tag(n) for n in names})
        if not wanted:
            raise InvalidInput("name at least one tag")
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            new = [t for t in wanted if t not in conv.tags]
            if new:
                known = {t.name for t in await uow.tags.by_names(new)}
                if set(new) - known:
                    unknown = ", ".join(sorted(set(new) - known))
                    await self._require(uow, actor, Permission.MANAGE_TAGS,
                                        f"create new tags ({unknown}); pick existing ones")
                for name in new:
                    if name not in known:  # unknown tags are created inline
                        await uow.tags.add(Tag(name, DEFAULT_TAG_COLOUR))
                conv.tags = sorted({*conv.tags, *new})
                await self._changed(uow, conv, "tagged", actor, added=new)
                await self._automate(uow, conv, [Event(Trigger.TAG_ADDED, actor, tag=t)
                                                 for t in new])
                await uow.commit()
        return conv

    async def remove_tags(
        self, conversation_id: int, names: Iterable[str], actor: Actor
    ) -> Conversation:
        unwanted = {normalize_tag(n) for n in names}
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            removed = sorted(unwanted & set(conv.tags))
            if removed:
                conv.tags = [t for t in conv.tags if t not in unwanted]
                await self._changed(uow, conv, "untagged", actor, removed=removed)
                await self._automate(uow, conv, [Event(Trigger.TAG_REMOVED, actor, tag=t)
                                                 for t in removed])
                await uow.commit()
        return conv

    async def snooze(
        self,
        conversation_id: int,
        actor: Actor,
        *,
        preset: SnoozePreset | None = None,
        until: datetime | None = None,
    ) -> Conversation:
        if (preset is None) == (until is None):
            raise InvalidInput("snooze needs either a preset or an explicit time")
        now = self.clock.now()
        if until is not None and until.tzinfo is None:
            raise InvalidInput("an explicit snooze time needs a time zone")
        end = until if until is not None else snooze_until(preset, now, self.ctx.timezone)
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            was = conv.status
            rules.snooze(conv, end, now)
            await self._changed(uow, conv, "snoozed", actor, until=end.isoformat())
            if was is not Status.SNOOZED:
                await self._automate(uow, conv, [status_changed(Status.SNOOZED, actor)])
            await uow.commit()
        return conv

    async def wake_due_snoozes(self, limit: int = 100) -> int:
        """Wake every snooze that is due. Due times live in the database, so none is lost."""
        now = self.clock.now()
        woken = 0
        async with self.ctx.uow_factory() as uow:
            for conv in await uow.conversations.due_snoozes(now, limit):
                if not rules.wake(conv, now):
                    continue
                woken += 1
                assert conv.id is not None
                await uow.messages.add(
                    Message(
                        conv.id,
                        Direction.OUT,
                        MessageKind.SYSTEM,
                        Actor.system(),
                        "Snooze ended: this conversation is open again.",
                        now,
                    )
                )
                await self._changed(uow, conv, "snooze_ended", Actor.system())
                await self._notify(uow, "snooze_ended", conv.id, assignee_id=conv.assignee_id)
                await self._automate(uow, conv, [status_changed(Status.OPEN, Actor.system())])
            await uow.commit()
        return woken

    async def announce_closed_windows(self, since: datetime, limit: int = 500) -> int:
        """WhatsApp windows that closed after `since` (and by now): tell the front ends, so
        cards switch to "templates only" when it happens, not at the next change."""
        now = self.clock.now()
        async with self.ctx.uow_factory() as uow:
            closed = await uow.conversations.customer_wrote_between(
                Channel.WHATSAPP, since - rules.WHATSAPP_WINDOW, now - rules.WHATSAPP_WINDOW,
                limit)
            for conv in closed:
                assert conv.id is not None
                await self._notify(uow, "conversation_changed", conv.id, action="window_closed")
            await uow.commit()
        return len(closed)

    async def resolve(self, conversation_id: int, actor: Actor) -> Conversation:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            rules.resolve(conv, self.clock.now())
            await self._changed(uow, conv, "resolved", actor)
            await self._automate(uow, conv, [status_changed(Status.RESOLVED, actor)])
            await uow.commit()
        return conv

    async def reopen(self, conversation_id: int, actor: Actor) -> Conversation:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            rules.reopen(conv)
            await self._changed(uow, conv, "reopened", actor)
            await self._automate(uow, conv, [status_changed(Status.OPEN, actor)])
            await uow.commit()
        return conv

    async def link_customer(
        self, conversation_id: int, customer_id: int, actor: Actor
    ) -> Conversation:
        """Link the conversation, and its contact, so later conversations link themselves."""
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            if await uow.customers.get(customer_id) is None:
                raise NotFound("customer", customer_id)
            conv.customer_id = customer_id
            contact = await uow.contacts.get(conv.contact_id)
            if contact is not None and contact.customer_id != customer_id:
                contact.customer_id = customer_id
                await uow.contacts.save(contact)
            await self._changed(uow, conv, "customer_linked", actor, customer_id=customer_id)
            await uow.commit()
        return conv

    async def unlink_customer(self, conversation_id: int, actor: Actor) -> Conversation:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            previous = conv.customer_id
            conv.customer_id = None
            contact = await uow.contacts.get(conv.contact_id)
            if contact is not None and contact.customer_id == previous:
                contact.customer_id = None
                await uow.contacts.save(contact)
            await self._changed(uow, conv, "customer_unlinked", actor, customer_id=previous)
            await uow.commit()
        return conv
