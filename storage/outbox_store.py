"""The outbox dispatcher's storage: claim due rows with a lease, then settle them.

Each method runs its own short transaction. Claiming is one UPDATE ... RETURNING, so on
SQLite it is atomic and on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several workers claim
side by side without blocking or double-claiming.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import outbox

PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
STATUSES = (PENDING, PROCESSING, DONE, FAILED)

_o = outbox.c


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    order_key: str
    payload: dict
    attempts: int
    created_at: datetime


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def claim(
        self,
        kinds: Collection[str],
        worker_id: str,
        now: datetime,
        lease: timedelta,
        limit: int,
    ) -> list[OutboxRow]:
        """Lease up to `limit` due rows, lowest id first, at most one per order_key.

        A row is due when pending and available, or when it is processing under an expired
        lease (its worker crashed). A row waits while an earlier row of its order_key is
        still pending or processing; done and failed rows do not hold the queue up.
        """
        if not kinds or limit <= 0:
            return []
        earlier = outbox.alias("earlier")
        blocked_by_earlier = exists().where(
            earlier.c.order_key == _o.order_key,
            earlier.c.id < _o.id,
            earlier.c.status.in_([PENDING, PROCESSING]),
        )
        due = or_(
            and_(_o.status == PENDING, _o.available_at <= now),
            and_(_o.status == PROCESSING, _o.locked_until < now),
        )
        candidates = (
            select(_o.id)
            .where(_o.kind.in_(list(kinds)), due, ~blocked_by_earlier)
            .order_by(_o.id)
            .limit(limit)
        )
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            update(outbox)
            .where(_o.id.in_(candidates.scalar_subquery()))
            .values(status=PROCESSING, locked_by=worker_id, locked_until=now + lease)
            .returning(_o.id, _o.kind, _o.order_key, _o.payload, _o.attempts, _o.created_at)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        claimed = [
            OutboxRow(
                id=row.id,
                kind=row.kind,
                order_key=row.order_key,
                payload=dict(row.payload or {}),
                attempts=row.attempts,
                created_at=row.created_at,
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda row: row.id)  # RETURNING order is unspecified

    async def complete(self, row_id: int, worker_id: str, now: datetime) -> None:
        await self._settle(row_id, worker_id, status=DONE, finished_at=now, locked_until=None)

    async def retry(
        self, row_id: int, worker_id: str, available_at: datetime, error: str, now: datetime
    ) -> None:
        await self._settle(
            row_id,
            worker_id,
            status=PENDING,
            attempts=_o.attempts + 1,
            available_at=available_at,
            last_error=error,
            locked_by=None,
            locked_until=None,
        )

    async def fail(self, row_id: int, worker_id: str, error: str, now: datetime) -> None:
        await self._settle(
            row_id,
            worker_id,
            status=FAILED,
            attempts=_o.attempts + 1,
            last_error=error,
            finished_at=now,
            locked_until=None,
        )

    async def _settle(self, row_id: int, worker_id: str, **values) -> None:
        # Only the lease holder may settle: a worker whose lease expired and was taken over
        # must not overwrite the new holder's outcome. Such calls change nothing, silently.
        stmt = (
            update(outbox)
            .where(_o.id == row_id, _o.locked_by == worker_id, _o.status == PROCESSING)
            .values(**values)
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def prune(self, finished_before: datetime, limit: int = 5000) -> int:
        """Delete done rows finished before the cut-off (failed rows stay for inspection)."""
        ids = (
            select(_o.id)
            .where(_o.status == DONE, _o.finished_at < finished_before)
            .order_by(_o.id)
            .limit(limit)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(outbox).where(_o.id.in_(ids)))
        return result.rowcount or 0

    async def counts(self) -> dict[str, int]:
        stmt = select(_o.status, func.count()).group_by(_o.status)
        async with self.engine.begin() as conn:
            found = dict((await conn.execute(stmt)).all())
        return {status: found.get(status, 0) for status in STATUSES} | found

    async def rows(self, status: str | None = None, limit: int = 100) -> list[dict]:
        stmt = select(outbox).order_by(_o.id).limit(limit)
        if status is not None:
            stmt = stmt.where(_o.status == status)
        async with self.engine.begin() as conn:
            return [dict(row._mapping) for row in await conn.execute(stmt)]
