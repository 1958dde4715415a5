"""Parts of signed deliveries a bridge could not read, kept raw for an operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.ports import UnreadableInbound
from storage.repositories._base import Repository
from storage.tables import unreadable_inbound as table


class SqlUnreadableInbound(Repository):
    async def add(self, part: UnreadableInbound, at: datetime) -> bool:
        insert = postgresql.insert if self.is_postgres else sqlite.insert
        stmt = insert(table).values(
            surface=part.surface, path=part.path, reason=part.reason, raw=part.raw,
            digest=part.digest, received_at=at,
        ).on_conflict_do_nothing(index_elements=[table.c.surface, table.c.digest])
        return (await self.conn.execute(stmt)).rowcount == 1

    async def recent(self, surface: str | None, limit: int) -> list[UnreadableInbound]:
        stmt = select(table).order_by(table.c.id.desc()).limit(limit)
        if surface is not None:
            stmt = stmt.where(table.c.surface == surface)
        return [
            UnreadableInbound(r.surface, r.path, r.reason, r.raw, r.digest, r.received_at, r.id)
            for r in await self.conn.execute(stmt)
        ]
