"""Unit of work: one connection, one transaction, repositories bound to it."""

from __future__ import annotations

import asyncio
import hashlib
import weakref

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.repositories import (
    SqlActivityLog,
    SqlAgentRepository,
    SqlContactRepository,
    SqlConversationRepository,
    SqlCustomerRepository,
    SqlEarlyReports,
    SqlLinkRepository,
    SqlMessageRepository,
    SqlMetricsSource,
    SqlOutbox,
    SqlRuleTimers,
    SqlSyncState,
    SqlTagRepository,
    SqlTeamRepository,
    SqlTemplateRepository,
    SqlUnreadableInbound,
)

# SQLite has one writer at a time. Left to its busy timeout, waiting transactions retry at
# random and a few starve for seconds under load; a FIFO gate per engine makes this
# process's units of work take turns instead (other processes still meet the busy timeout).
_sqlite_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sqlite_gate(engine: AsyncEngine) -> asyncio.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    gate = _sqlite_gates.get(engine.sync_engine)
    if gate is None:
        gate = _sqlite_gates[engine.sync_engine] = asyncio.Lock()
    return gate


_XACT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def advisory_key(name: str) -> int:
    """A signed 64-bit key for a lock name (hashtext's 32 bits would collide sooner; a
    collision only makes two unrelated names wait for each other)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"threadline-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


class SqlUnitOfWork:
    """`async with uow:` begins a transaction; leaving without commit() rolls it back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._gate: asyncio.Lock | None = None

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._conn

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        gate = _sqlite_gate(self.engine)
        if gate is not None:
            await gate.acquire()
            self._gate = gate
        try:
            conn = await self.engine.connect()
        except BaseException:
            self._open_gate()
            raise
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            self._open_gate()
            raise
        self._conn = conn
        self.conversations = SqlConversationRepository(conn)
        self.messages = SqlMessageRepository(conn)
        self.contacts = SqlContactRepository(conn)
        self.customers = SqlCustomerRepository(conn)
        self.agents = SqlAgentRepository(conn)
        self.teams = SqlTeamRepository(conn)
        self.tags = SqlTagRepository(conn)
        self.templates = SqlTemplateRepository(conn)
        self.links = SqlLinkRepository(conn)
        self.outbox = SqlOutbox(conn)
        self.activity = SqlActivityLog(conn)
        self.metrics = SqlMetricsSource(conn)
        self.early_reports = SqlEarlyReports(conn)
        self.sync_state = SqlSyncState(conn)
        self.unreadable = SqlUnreadableInbound(conn)
        self.timers = SqlRuleTimers(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            try:
                await conn.close()
            finally:
                self._open_gate()

    def _open_gate(self) -> None:
        """Let the next unit of work in (once this one's transaction has ended)."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    async def flush(self) -> None:
        """Write buffered outbox and activity rows (commit() does this itself)."""
        await self.outbox.flush()
        await self.activity.flush()

    async def commit(self) -> None:
        # After a commit the connection begins a new transaction on its next statement,
        # so a use case may keep working and commit again.
        conn = self.connection
        await self.flush()
        await conn.commit()
        self._open_gate()

    async def rollback(self) -> None:
        conn = self.connection
        self.outbox.discard()
        self.activity.discard()
        await conn.rollback()
        self._open_gate()

    async def lock(self, key: str) -> None:
        """PostgreSQL: a transaction-level advisory lock, released by commit or rollback.
        SQLite: nothing to do, BEGIN IMMEDIATE already lets one writer in at a time.
        Relies on READ COMMITTED: statements after the wait see what the holder committed."""
        conn = self.connection
        if conn.dialect.name == "postgresql":
            await conn.execute(_XACT_LOCK, {"key": advisory_key(key)})


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
