"""Messages of a conversation, and full-text search over their bodies."""

from __future__ import annotations

from sqlalchemy import func, insert, literal_column, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Row

from core.model import Attachment, DeliveryStatus, Direction, Message, MessageKind, Status
from core.ports import SearchHit
from storage.repositories._base import Repository, actor_from_db, actor_id_to_db
from storage.tables import conversations, messages

_m = messages.c


def message_values(message: Message) -> dict:
    return {
        "conversation_id": message.conversation_id,
        "direction": message.direction.value,
        "kind": message.kind.value,
        "author_type": message.author.type.value,
        "author_id": actor_id_to_db(message.author.id),
        "body": message.body,
        "body_html": message.body_html,
        "subject": message.subject,
        "attachments": [a.to_dict() for a in message.attachments],
        "delivery_status": message.delivery_status.value if message.delivery_status else None,
        "error_code": message.error_code,
        "error_text": message.error_text,
        "template_name": message.template_name,
        "template_values": dict(message.template_values),
        "meta": dict(message.meta),
        "created_at": message.created_at,
    }


def message_from_row(row: Row) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=Direction(row.direction),
        kind=MessageKind(row.kind),
        author=actor_from_db(row.author_type, row.author_id),
        body=row.body,
        created_at=row.created_at,
        body_html=row.body_html,
        subject=row.subject,
        attachments=[Attachment.from_dict(a) for a in row.attachments or []],
        delivery_status=DeliveryStatus(row.delivery_status) if row.delivery_status else None,
        error_code=row.error_code,
        error_text=row.error_text,
        template_name=row.template_name,
        template_values=dict(row.template_values or {}),
        meta=dict(row.meta or {}),
    )


def fts5_query(user_text: str) -> str:
    """Quote every whitespace-separated token as an FTS5 string (inner quotes doubled).

    The result is an implicit AND of literal tokens, so no user input (`"`, `AND(`, `*`,
    `NEAR`) can be read as FTS5 syntax or cause a syntax error.
    """
    return " ".join('"' + token.replace('"', '""') + '"' for token in user_text.split())


# Only the columns the table defines; the database adds search_vector / messages_fts.
_COLUMNS = [column for column in messages.c]

_SQLITE_SEARCH = (
    "SELECT m.id, m.conversation_id, m.body, c.status "
    "FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid "
    "JOIN conversations AS c ON c.id = m.conversation_id "
    "WHERE messages_fts MATCH :query {resolved} ORDER BY m.id DESC LIMIT :limit"
)
_SQLITE_SEARCH_ALL = sql_text(_SQLITE_SEARCH.format(resolved=""))
_SQLITE_SEARCH_UNRESOLVED = sql_text(_SQLITE_SEARCH.format(resolved="AND c.status != 'resolved'"))


_INSERT = insert(messages)


class SqlMessageRepository(Repository):
    async def add(self, message: Message) -> Message:
        # inserted_primary_key: RETURNING on PostgreSQL, lastrowid on SQLite (one hop less).
        result = await self.conn.execute(_INSERT, message_values(message))
        message.id = result.inserted_primary_key[0]
        return message

    async def get(self, message_id: int, *, for_update: bool = False) -> Message | None:
        query = select(*_COLUMNS).where(_m.id == message_id)
        if for_update:  # PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serialises
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return message_from_row(row) if row else None

    async def save(self, message: Message) -> None:
        if message.id is None:
            raise ValueError("save() needs a stored message; use add() first")
        await self.conn.execute(
            update(messages).where(_m.id == message.id).values(message_values(message))
        )

    async def thread(self, conversation_id: int) -> list[Message]:
        stmt = select(*_COLUMNS).where(_m.conversation_id == conversation_id).order_by(_m.id)
        return [message_from_row(row) for row in await self.conn.execute(stmt)]

    async def first_inbound(self, conversation_id: int) -> Message | None:
        stmt = (
            select(*_COLUMNS)
            .where(_m.conversation_id == conversation_id, _m.direction == "in")
            .order_by(_m.id)
            .limit(1)
        )
        row = (await self.conn.execute(stmt)).first()
        return message_from_row(row) if row else None

    async def contact_authors(self, conversation_id: int) -> list[int]:
        """The contacts who wrote in the conversation, in the order they first did."""
        first = func.min(_m.id)
        stmt = (
            select(_m.author_id, first)
            .where(_m.conversation_id == conversation_id, _m.direction == "in",
                   _m.author_type == "contact")
            .group_by(_m.author_id)
            .order_by(first)
        )
        return [int(row.author_id) for row in await self.conn.execute(stmt)
                if row.author_id and row.author_id.isdigit()]

    async def last_inbound_before(self, conversation_id: int,
                                  message_id: int | None) -> Message | None:
        """The latest customer message stored before `message_id` (any, when None)."""
        where = [_m.conversation_id == conversation_id, _m.direction == "in"]
        if message_id is not None:
            where.append(_m.id < message_id)
        stmt = select(*_COLUMNS).where(*where).order_by(_m.id.desc()).limit(1)
        row = (await self.conn.execute(stmt)).first()
        return message_from_row(row) if row else None

    async def search(self, text: str, include_resolved: bool, limit: int) -> list[SearchHit]:
        if not text.split():
            return []
        if self.is_postgres:
            rows = await self._search_postgres(text, include_resolved, limit)
        else:
            stmt = _SQLITE_SEARCH_ALL if include_resolved else _SQLITE_SEARCH_UNRESOLVED
            rows = await self.conn.execute(stmt, {"query": fts5_query(text), "limit": limit})
        return [
            SearchHit(
                conversation_id=row.conversation_id,
                message_id=row.id,
                body=row.body,
                status=Status(row.status),
            )
            for row in rows
        ]

    async def _search_postgres(self, text: str, include_resolved: bool, limit: int):
        vector = literal_column("messages.search_vector")
        stmt = (
            select(_m.id, _m.conversation_id, _m.body, conversations.c.status)
            .join(conversations, conversations.c.id == _m.conversation_id)
            .where(vector.op("@@")(
                func.plainto_tsquery("simple", func.threadline_unaccent(text))))
            .order_by(_m.id.desc())
            .limit(limit)
        )
        if not include_resolved:
            stmt = stmt.where(conversations.c.status != Status.RESOLVED.value)
        return await self.conn.execute(stmt)
