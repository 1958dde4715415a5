"""Conversations, their tags (through conversation_tags) and the inbox views."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    JSON,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.sql import Select

from core.model import Channel, Conversation, Status
from core.ports import ViewQuery
from storage.repositories._base import Repository
from storage.tables import Id, conversation_tags, conversations, tags

_c = conversations.c


def conversation_values(conv: Conversation) -> dict:
    return {
        "channel": conv.channel.value,
        "account": conv.account,
        "contact_id": conv.contact_id,
        "subject": conv.subject,
        "status": conv.status.value,
        "assignee_id": conv.assignee_id,
        "team_id": conv.team_id,
        "snoozed_until": conv.snoozed_until,
        "customer_id": conv.customer_id,
        "last_customer_message_at": conv.last_customer_message_at,
        "last_activity_at": conv.last_activity_at,
        "first_response_at": conv.first_response_at,
        "resolved_at": conv.resolved_at,
        "created_at": conv.created_at,
        "provider_thread_id": conv.provider_thread_id,
    }


def conversation_from_row(row: Row, tag_names: Iterable[str] = ()) -> Conversation:
    return Conversation(
        id=row.id,
        channel=Channel(row.channel),
        account=row.account,
        contact_id=row.contact_id,
        created_at=row.created_at,
        subject=row.subject,
        status=Status(row.status),
        assignee_id=row.assignee_id,
        team_id=row.team_id,
        tags=sorted(tag_names),
        snoozed_until=row.snoozed_until,
        customer_id=row.customer_id,
        last_customer_message_at=row.last_customer_message_at,
        last_activity_at=row.last_activity_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        provider_thread_id=row.provider_thread_id,
    )


def _tag_names_column(aggregate):
    return (
        select(type_coerce(aggregate(tags.c.name), JSON))
        .select_from(conversation_tags.join(tags, tags.c.id == conversation_tags.c.tag_id))
        .where(conversation_tags.c.conversation_id == _c.id)
        .scalar_subquery()
        .label("tag_names")
    )


# Keyed by "is PostgreSQL". json_agg gives NULL for no tags; json_group_array gives [].
_TAG_NAMES = {
    True: _tag_names_column(func.json_agg),
    False: _tag_names_column(func.json_group_array),
}


# Hot-path statements are built once (keyed by "is PostgreSQL"): no per-call construction
# or cache-key work.
_INSERT = insert(conversations)
_UPDATE = update(conversations).where(_c.id == bindparam("_id"))
_BY_ID = {
    pg: select(conversations, _TAG_NAMES[pg]).where(_c.id == bindparam("_id"))
    for pg in (True, False)
}
_LATEST_FOR_CONTACT = {
    pg: select(conversations, _TAG_NAMES[pg])
    .where(_c.account == bindparam("_account"), _c.contact_id == bindparam("_contact_id"))
    .order_by(_c.id.desc())
    .limit(1)
    for pg in (True, False)
}


class UnknownTags(ValueError):
    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(f"tags {sorted(names)} do not exist: add them before tagging")


class SqlConversationRepository(Repository):
    def __init__(self, conn) -> None:
        super().__init__(conn)
        # Tag names as last loaded or saved, per conversation id, so save() only touches
        # conversation_tags when the tags really changed.
        self._known_tags: dict[int, frozenset[str]] = {}
        # Column values as last loaded or saved: save() updates only what changed.
        self._known_values: dict[int, dict] = {}

    async def add(self, conv: Conversation) -> Conversation:
        values = conversation_values(conv)
        result = await self.conn.execute(_INSERT, values)
        conv.id = result.inserted_primary_key[0]
        self._known_values[conv.id] = values
        self._known_tags[conv.id] = frozenset()
        if conv.tags:
            await self._sync_tags(conv.id, set(conv.tags))
        return conv

    async def get(self, conversation_id: int) -> Conversation | None:
        return await self._one(_BY_ID[self.is_postgres], {"_id": conversation_id})

    async def save(self, conv: Conversation) -> None:
        if conv.id is None:
            raise ValueError("save() needs a stored conversation; use add() first")
        values = conversation_values(conv)
        known = self._known_values.get(conv.id)
        changed = values if known is None else {k: v for k, v in values.items() if known[k] != v}
        if changed:
            await self.conn.execute(update(conversations).where(_c.id == conv.id).values(changed))
        self._known_values[conv.id] = values
        await self._sync_tags(conv.id, set(conv.tags))

    async def latest_for_contact(self, account: str, contact_id: int) -> Conversation | None:
        return await self._one(
            _LATEST_FOR_CONTACT[self.is_postgres], {"_account": account, "_contact_id": contact_id}
        )

    async def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]:
        stmt = (
            self.select_with_tags()
            .where(_c.status == Status.SNOOZED.value, _c.snoozed_until <= now)
            .order_by(_c.snoozed_until, _c.id)
            .limit(limit)
        )
        return await self._many(stmt)

    async def customer_wrote_between(
        self, channel: Channel, start: datetime, end: datetime, limit: int
    ) -> list[Conversation]:
        stmt = (
            self.select_with_tags()
            .where(
                _c.channel == channel.value,
                _c.status != Status.RESOLVED.value,
                _c.last_customer_message_at >= start,
                _c.last_customer_message_at < end,
            )
            .order_by(_c.last_customer_message_at, _c.id)
            .limit(limit)
        )
        return await self._many(stmt)

    async def timer_candidates(self, anchor: str, after: tuple[datetime, int],
                               until: datetime, limit: int) -> list[Conversation]:
        column = {"created_at": _c.created_at,
                  "last_customer_message_at": _c.last_customer_message_at}[anchor]
        start, start_id = after
        filters = [or_(column > start, and_(column == start, _c.id > start_id)),
                   column <= until]
        if anchor == "created_at":
            filters += [_c.first_response_at.is_(None), _c.status != Status.RESOLVED.value]
        else:  # pending: staff replied since; resolved: nobody waits
            filters.append(_c.status.in_([Status.OPEN.value, Status.SNOOZED.value]))
        stmt = self.select_with_tags().where(*filters).order_by(column, _c.id).limit(limit)
        return await self._many(stmt)

    async def list_view(self, query: ViewQuery) -> list[Conversation]:
        stmt = (
            self.select_with_tags()
            .where(*_view_filters(query))
            # Oldest waiting customer first; conversations nobody wrote to go last.
            .order_by(_c.last_customer_message_at.asc().nulls_last(), _c.id)
            .limit(query.limit)
            .offset(query.offset)
        )
        return await self._many(stmt)

    async def count_view(self, query: ViewQuery) -> int:
        stmt = select(func.count()).select_from(conversations).where(*_view_filters(query))
        return (await self.conn.execute(stmt)).scalar_one()

    async def for_customer(self, customer_id: int) -> list[Conversation]:
        """Newest first: the customer's latest conversations matter most."""
        stmt = self.select_with_tags().where(_c.customer_id == customer_id).order_by(_c.id.desc())
        return await self._many(stmt)

    async def open_counts(self, agent_ids: Iterable[int]) -> dict[int, int]:
        ids = list(agent_ids)
        if not ids:
            return {}
        stmt = (select(_c.assignee_id, func.count())
                .where(_c.assignee_id.in_(ids),
                       _c.status.in_([Status.OPEN.value, Status.PENDING.value]))
                .group_by(_c.assignee_id))
        return {row[0]: row[1] for row in await self.conn.execute(stmt)}

    async def reassign_contact(self, from_contact_id: int, to_contact_id: int) -> list[int]:
        stmt = (
            update(conversations)
            .where(_c.contact_id == from_contact_id)
            .values(contact_id=to_contact_id)
            .returning(_c.id)
        )
        # _known_values keeps the old contact on purpose: save() of a conversation loaded
        # before the move then leaves contact_id alone instead of writing the old one back.
        return sorted((await self.conn.execute(stmt)).scalars())

    # -- helpers ---------------------------------------------------------------------

    def select_with_tags(self) -> Select:
        """SELECT conversations plus their tag names, aggregated in the same round trip."""
        return select(conversations, _TAG_NAMES[self.is_postgres])

    async def _one(self, stmt: Select, params: dict | None = None) -> Conversation | None:
        found = await self._many(stmt, params)
        return found[0] if found else None

    async def _many(self, stmt: Select, params: dict | None = None) -> list[Conversation]:
        found = []
        for row in await self.conn.execute(stmt, params):
            names = [name for name in row.tag_names or () if name is not None]
            conv = conversation_from_row(row, names)
            self._known_tags[row.id] = frozenset(names)
            self._known_values[row.id] = conversation_values(conv)
            found.append(conv)
        return found

    async def _tag_names(self, conv_id: int) -> frozenset[str]:
        stmt = (
            select(tags.c.name)
            .join(conversation_tags, tags.c.id == conversation_tags.c.tag_id)
            .where(conversation_tags.c.conversation_id == conv_id)
        )
        return frozenset((await self.conn.execute(stmt)).scalars())

    async def _sync_tags(self, conv_id: int, wanted: set[str]) -> None:
        known = self._known_tags.get(conv_id)
        if known is None:
            known = await self._tag_names(conv_id)
        if known == wanted:
            return
        removed, added = known - wanted, wanted - known
        ct = conversation_tags.c
        if removed:
            await self.conn.execute(
                delete(conversation_tags).where(
                    ct.conversation_id == conv_id,
                    ct.tag_id.in_(select(tags.c.id).where(tags.c.name.in_(removed))),
                )
            )
        if added:
            # one statement: the ids are looked up by the insert itself
            source = select(literal(conv_id, Id), tags.c.id).where(tags.c.name.in_(added))
            inserted = await self.conn.execute(
                insert(conversation_tags).from_select(["conversation_id", "tag_id"], source))
            if inserted.rowcount != len(added):
                found = await self.conn.execute(select(tags.c.name).where(tags.c.name.in_(added)))
                raise UnknownTags(added - set(found.scalars()))
        self._known_tags[conv_id] = frozenset(wanted)


def _view_filters(query: ViewQuery) -> list:
    filters = []
    if query.view == "mine":
        if query.agent_id is None:
            raise ValueError("the 'mine' view needs an agent_id")
        filters.append(_c.assignee_id == query.agent_id)
    elif query.view == "unassigned":
        filters.append(_c.assignee_id.is_(None))
    elif query.view != "all":
        raise ValueError(f"unknown view {query.view!r}: use mine, unassigned or all")
    if query.statuses:
        filters.append(_c.status.in_([Status(s).value for s in query.statuses]))
    if not query.include_resolved and Status.RESOLVED not in query.statuses:
        filters.append(_c.status != Status.RESOLVED.value)
    if query.channel is not None:
        filters.append(_c.channel == Channel(query.channel).value)
    if query.account is not None:
        filters.append(_c.account == query.account)
    if query.tags:
        wanted = set(query.tags)
        having_all = (
            select(conversation_tags.c.conversation_id)
            .join(tags, tags.c.id == conversation_tags.c.tag_id)
            .where(tags.c.name.in_(wanted))
            .group_by(conversation_tags.c.conversation_id)
            .having(func.count() == len(wanted))
        )
        filters.append(_c.id.in_(having_all))
    return [and_(*filters)] if filters else []
