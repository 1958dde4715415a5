"""Append-only records written by use cases: outbox rows and the activity log.

Both are write-mostly and nothing reads them back inside the transaction that writes them,
so rows are buffered and inserted in one executemany when the unit of work commits (see
`flush`). That saves a database round trip per effect on the hot inbound path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from core.effects import Effect
from core.model import Activity
from storage.repositories._base import Repository, actor_from_db, actor_id_to_db
from storage.tables import activity, outbox

PENDING = "pending"


class BufferedInserts(Repository):
    table = None  # set by subclasses, with `insert` = insert(table)
    insert = None

    def __init__(self, conn) -> None:
        super().__init__(conn)
        self._rows: list[dict] = []

    async def flush(self) -> None:
        """Insert the buffered rows now (the unit of work calls this before committing)."""
        if self._rows:
            rows, self._rows = self._rows, []
            await self.conn.execute(self.insert, rows)

    def discard(self) -> None:
        self._rows.clear()


class SqlOutbox(BufferedInserts):
    table = outbox
    insert = insert(outbox)

    async def add(self, effect: Effect, now: datetime) -> None:
        self._rows.append(
            {
                "kind": effect.kind,
                "order_key": effect.order_key,
                "payload": dict(effect.payload),
                "status": PENDING,
                "attempts": 0,
                "available_at": now + effect.delay,
                "created_at": now,
            }
        )


class SqlActivityLog(BufferedInserts):
    table = activity
    insert = insert(activity)

    async def add(self, entry: Activity) -> None:
        self._rows.append(
            {
                "conversation_id": entry.conversation_id,
                "action": entry.action,
                "actor_type": entry.actor.type.value,
                "actor_id": actor_id_to_db(entry.actor.id),
                "detail": dict(entry.detail),
                "at": entry.at,
            }
        )

    async def last_at(self, conversation_id: int, action: str) -> datetime | None:
        await self.flush()  # this transaction's own entries count
        stmt = (select(activity.c.at)
                .where(activity.c.conversation_id == conversation_id, activity.c.action == action)
                .order_by(activity.c.id.desc()).limit(1))
        return (await self.conn.execute(stmt)).scalar_one_or_none()

    async def for_conversation(self, conversation_id: int) -> list[Activity]:
        await self.flush()
        stmt = (
            select(activity)
            .where(activity.c.conversation_id == conversation_id)
            .order_by(activity.c.id)
        )
        return [
            Activity(
                conversation_id=row.conversation_id,
                action=row.action,
                actor=actor_from_db(row.actor_type, row.actor_id),
                at=row.at,
                detail=dict(row.detail or {}),
            )
            for row in await self.conn.execute(stmt)
        ]
