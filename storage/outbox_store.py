"""The outbox dispatcher's storage: claim due rows with a lease, then settle them.

Each method runs its own short transaction. Claiming is one UPDATE ... RETURNING, so on
SQLite it is atomic and on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several workers claim
side by side without blocking or double-claiming.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import outbox

PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
STATUSES = (PENDING, PROCESSING, DONE, FAILED)

# The kind of a row's last failure (`last_failure`). Only TRANSIENT rows are woken early
# when their target works again; RETRY_AFTER rows keep the wait the provider asked for.
TRANSIENT, RETRY_AFTER, UNEXPECTED, CRASH, PERMANENT = (
    "transient", "retry_after", "unexpected", "crash", "permanent")
# What each failure kind adds to the counters; RetryAfter is neither a failure nor an attempt.
_COUNTS = {TRANSIENT: ("attempts",), UNEXPECTED: ("attempts", "unexpected_errors"),
           PERMANENT: ("attempts",), CRASH: (), RETRY_AFTER: ()}

log = logging.getLogger("threadline.outbox")
_o = outbox.c


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    order_key: str
    payload: dict
    attempts: int
    created_at: datetime
    crashes: int = 0
    unexpected_errors: int = 0
    last_failure: str | None = None
    retried_at: datetime | None = None

    @property
    def retrying_since(self) -> datetime:
        """Where the retry horizon starts: creation, or the operator's last retry."""
        return self.retried_at or self.created_at


def target_filter(kind: str):
    """`slack:message` matches that kind; `slack:` or `slack` every kind of the target."""
    if ":" in kind and not kind.endswith(":"):
        return _o.kind == kind
    return _o.kind.startswith(kind if kind.endswith(":") else kind + ":", autoescape=True)


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
        lease (its worker died: `crashes` counts that). A row waits while an earlier row of
        its order_key is pending or any other row of it is processing (a failed row sent
        back by an operator must not overtake a later one in flight); done and failed rows
        do not hold the queue up.
        """
        if not kinds or limit <= 0:
            return []
        other = outbox.alias("other")
        blocked = exists().where(
            other.c.order_key == _o.order_key,
            other.c.id != _o.id,
            or_(other.c.status == PROCESSING, and_(other.c.id < _o.id, other.c.status == PENDING)),
        )
        due = or_(
            and_(_o.status == PENDING, _o.available_at <= now),
            and_(_o.status == PROCESSING, _o.locked_until < now),
        )
        candidates = (
            select(_o.id).where(_o.kind.in_(list(kinds)), due, ~blocked).order_by(_o.id)
            .limit(limit)
        )
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        expired = _o.status == PROCESSING  # SET sees the old values: a lease ran out
        stmt = (
            update(outbox)
            .where(_o.id.in_(candidates.scalar_subquery()))
            .values(
                status=PROCESSING, locked_by=worker_id, locked_until=now + lease,
                crashes=case((expired, _o.crashes + 1), else_=_o.crashes),
                last_failure=case((expired, literal(CRASH)), else_=_o.last_failure),
                last_error=case(
                    (expired, literal("the lease of ")
                     + func.coalesce(_o.locked_by, "?") + literal(" expired")),
                    else_=_o.last_error),
            )
            .returning(_o.id, _o.kind, _o.order_key, _o.payload, _o.attempts, _o.created_at,
                       _o.crashes, _o.unexpected_errors, _o.last_failure, _o.retried_at)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        claimed = [
            OutboxRow(
                id=row.id, kind=row.kind, order_key=row.order_key,
                payload=dict(row.payload or {}), attempts=row.attempts,
                created_at=row.created_at, crashes=row.crashes,
                unexpected_errors=row.unexpected_errors, last_failure=row.last_failure,
                retried_at=row.retried_at,
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda row: row.id)  # RETURNING order is unspecified

    # -- settling: only the lease holder may ------------------------------------------------
    async def complete(self, row_id: int, worker_id: str, now: datetime) -> bool:
        return await self._settle("complete", row_id, worker_id, status=DONE, finished_at=now,
                                  locked_until=None)

    async def retry(
        self, row_id: int, worker_id: str, available_at: datetime, error: str, now: datetime,
        failure: str | None = TRANSIENT,
    ) -> bool:
        """Back to pending until `available_at`. `failure` says what happened (TRANSIENT,
        RETRY_AFTER, UNEXPECTED) and so what it counts; None just releases the row."""
        values = dict(status=PENDING, available_at=available_at, last_error=error,
                      locked_by=None, locked_until=None)
        if failure is not None:
            values |= _counted(failure)
        return await self._settle("retry", row_id, worker_id, **values)

    async def fail(
        self, row_id: int, worker_id: str, error: str, now: datetime, failure: str = PERMANENT
    ) -> bool:
        return await self._settle("fail", row_id, worker_id, status=FAILED, last_error=error,
                                  finished_at=now, locked_until=None, **_counted(failure))

    async def renew(self, row_id: int, worker_id: str, locked_until: datetime) -> bool:
        """Extend a running row's lease; False when this worker no longer holds it."""
        stmt = (
            update(outbox).where(*_held(row_id, worker_id)).values(locked_until=locked_until)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def _settle(self, action: str, row_id: int, worker_id: str, **values) -> bool:
        # A worker whose lease expired and was taken over must not overwrite the new
        # holder's outcome: such a late settle changes nothing and is reported.
        stmt = update(outbox).where(*_held(row_id, worker_id)).values(**values)
        async with self.engine.begin() as conn:
            if (await conn.execute(stmt)).rowcount == 1:
                return True
            now_row = (await conn.execute(
                select(_o.status, _o.locked_by).where(_o.id == row_id))).first()
        holder = (f"{now_row.status}, held by {now_row.locked_by or 'nobody'}"
                  if now_row else "no such row")
        log.warning("outbox row %s: late %s by %s dropped (it is now %s)",
                    row_id, action, worker_id, holder)
        return False

    # -- waking and operator retries ---------------------------------------------------------
    async def wake(self, target: str, now: datetime) -> int:
        """Rows of `target` (e.g. `slack`) waiting on a transient failure become due now:
        the target just worked again. Rows waiting on a RetryAfter keep their wait."""
        stmt = (
            update(outbox)
            .where(_o.status == PENDING, _o.available_at > now, _o.last_failure == TRANSIENT,
                   target_filter(target))
            .values(available_at=now)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount or 0

    async def retry_failed(
        self, kind_prefix: str | None, row_id: int | None, now: datetime
    ) -> int:
        """Failed rows (all, of a kind or target — see `target_filter` —, or one id) go back
        to pending, due now, with fresh counters and a fresh retry horizon. Their last
        error is kept. Returns how many."""
        stmt = (
            update(outbox)
            .where(*_failed_filter(kind_prefix, row_id))
            .values(status=PENDING, available_at=now, attempts=0, crashes=0,
                    unexpected_errors=0, last_failure=None, retried_at=now, finished_at=None,
                    locked_by=None, locked_until=None)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount or 0

    async def failed(
        self, kind_prefix: str | None = None, row_id: int | None = None, limit: int = 100
    ) -> list[dict]:
        """Failed rows matching what `retry_failed` would take, lowest id first."""
        stmt = select(outbox).where(*_failed_filter(kind_prefix, row_id)).order_by(_o.id)
        async with self.engine.begin() as conn:
            return [dict(row._mapping) for row in await conn.execute(stmt.limit(limit))]

    # -- housekeeping and inspection ---------------------------------------------------------
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


def _held(row_id: int, worker_id: str) -> tuple:
    return _o.id == row_id, _o.locked_by == worker_id, _o.status == PROCESSING


def _counted(failure: str) -> dict:
    values = {name: getattr(_o, name) + 1 for name in _COUNTS[failure]}
    return values | {"last_failure": failure}


def _failed_filter(kind_prefix: str | None, row_id: int | None) -> list:
    where = [_o.status == FAILED]
    if kind_prefix:
        where.append(target_filter(kind_prefix))
    if row_id is not None:
        where.append(_o.id == row_id)
    return where
