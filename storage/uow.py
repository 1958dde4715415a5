"""Unit of work: one connection, one transaction, repositories bound to it."""

from __future__ import annotations

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
    SqlSyncState,
    SqlTagRepository,
    SqlTeamRepository,
    SqlTemplateRepository,
)


class SqlUnitOfWork:
    """`async with uow:` begins a transaction; leaving without commit() rolls it back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._conn

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        conn = await self.engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
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
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

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

    async def rollback(self) -> None:
        conn = self.connection
        self.outbox.discard()
        self.activity.discard()
        await conn.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
