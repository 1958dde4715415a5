"""Read side: views, a conversation's thread, search, customer history, metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidInput, NotFound
from core.metrics import Metrics, compute_metrics
from core.model import Activity, Agent, Contact, Conversation, Customer, Message
from core.ports import SearchHit, ViewQuery
from core.usecases.base import UseCaseBase

VIEWS = ("mine", "unassigned", "all")
MAX_PAGE = 200


@dataclass(frozen=True)
class ConversationDetails:
    conversation: Conversation
    contact: Contact | None
    customer: Customer | None
    assignee: Agent | None
    messages: list[Message]
    activity: list[Activity]


@dataclass(frozen=True)
class ConversationSummary:
    """What a card shows, without the whole thread (front ends refresh cards often)."""

    conversation: Conversation
    contact: Contact | None
    customer: Customer | None
    assignee: Agent | None
    first_inbound: Message | None
    # Everyone else who wrote in it (a colleague in Cc who answered, an assistant), in the
    # order they joined: contacts of the conversation too, copied on replies.
    participants: tuple[Contact, ...] = ()


class QueryUseCases(UseCaseBase):
    async def list_conversations(self, query: ViewQuery) -> list[Conversation]:
        self._check_view(query)
        async with self.ctx.uow_factory() as uow:
            return await uow.conversations.list_view(query)

    async def count_conversations(self, query: ViewQuery) -> int:
        self._check_view(query)
        async with self.ctx.uow_factory() as uow:
            return await uow.conversations.count_view(query)

    async def contacts(self, ids: list[int]) -> dict[int, Contact]:
        async with self.ctx.uow_factory() as uow:
            return await uow.contacts.get_many(ids)

    async def conversation(self, conversation_id: int) -> ConversationDetails:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            contact = await uow.contacts.get(conv.contact_id)
            customer = await uow.customers.get(conv.customer_id) if conv.customer_id else None
            assignee = await uow.agents.get(conv.assignee_id) if conv.assignee_id else None
            messages = await uow.messages.thread(conversation_id)
            activity = await uow.activity.for_conversation(conversation_id)
        return ConversationDetails(conv, contact, customer, assignee, messages, activity)

    async def message(self, message_id: int) -> Message:
        async with self.ctx.uow_factory() as uow:
            return await self._message(uow, message_id)

    async def conversation_summary(self, conversation_id: int) -> ConversationSummary:
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            contact = await uow.contacts.get(conv.contact_id)
            customer = await uow.customers.get(conv.customer_id) if conv.customer_id else None
            assignee = await uow.agents.get(conv.assignee_id) if conv.assignee_id else None
            first = await uow.messages.first_inbound(conversation_id)
            others = [i for i in await uow.messages.contact_authors(conversation_id)
                      if i != conv.contact_id]
            found = await uow.contacts.get_many(others) if others else {}
        participants = tuple(found[i] for i in others if i in found)
        return ConversationSummary(conv, contact, customer, assignee, first, participants)

    async def thread(self, conversation_id: int) -> list[Message]:
        async with self.ctx.uow_factory() as uow:
            await self._conversation(uow, conversation_id)
            return await uow.messages.thread(conversation_id)

    async def search(
        self, text: str, include_resolved: bool = False, limit: int = 50
    ) -> list[SearchHit]:
        if not (text or "").strip():
            raise InvalidInput("search needs some text")
        async with self.ctx.uow_factory() as uow:
            return await uow.messages.search(text.strip(), include_resolved, min(limit, MAX_PAGE))

    async def customer_history(self, customer_id: int) -> tuple[Customer, list[Conversation]]:
        async with self.ctx.uow_factory() as uow:
            customer = await uow.customers.get(customer_id)
            if customer is None:
                raise NotFound("customer", customer_id)
            return customer, await uow.conversations.for_customer(customer_id)

    async def known_provider_ids(self, surface_or_provider: str, ids: list[str]) -> set[str]:
        """Which of these provider message ids are stored already: the link lookup inbound
        dedupe relies on, read-only, so a bridge can skip mail it would only store twice."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        known: set[str] = set()
        if not wanted:
            return known
        async with self.ctx.uow_factory() as uow:
            # One IN query answers the usual case (all new). find_any returns the first id,
            # in the order given, that has a link: the ids before it have none.
            first = await uow.links.find_any(surface_or_provider, wanted)
            if first is None:
                return known
            known.add(first.external_id)
            for external_id in wanted[wanted.index(first.external_id) + 1:]:
                if await uow.links.find(surface_or_provider, external_id) is not None:
                    known.add(external_id)
        return known

    async def metrics(self, start: datetime, end: datetime) -> Metrics:
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidInput("a metrics range needs time-zone-aware dates")
        if end <= start:
            raise InvalidInput(f"the metrics range ends ({end}) before it starts ({start})")
        async with self.ctx.uow_factory() as uow:
            facts = await uow.metrics.facts(start, end)
        return compute_metrics(facts, start, end, self.ctx.timezone)

    @staticmethod
    def _check_view(query: ViewQuery) -> None:
        if query.view not in VIEWS:
            raise InvalidInput(f"unknown view {query.view!r}: choose one of {', '.join(VIEWS)}")
        if query.view == "mine" and query.agent_id is None:
            raise InvalidInput("the Mine view needs the agent it belongs to")
        if not 1 <= query.limit <= MAX_PAGE or query.offset < 0:
            raise InvalidInput(f"page size must be 1..{MAX_PAGE} and offset >= 0")
