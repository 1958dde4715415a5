"""Async engine creation with the connection settings Threadline relies on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

try:  # runs a coroutine from SQLAlchemy's sync-in-greenlet code (named await_only before 2.1)
    from sqlalchemy.util.concurrency import await_ as _await
except ImportError:  # pragma: no cover - SQLAlchemy 2.0
    try:
        from sqlalchemy.util.concurrency import await_only as _await
    except ImportError:
        _await = None

# Seconds a SQLite writer waits for the lock instead of failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an AsyncEngine for a `sqlite+aiosqlite://` or `postgresql+asyncpg://` URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        options: dict[str, Any] = {
            "pool_size": 10,
            "max_overflow": 10,
            "pool_pre_ping": True,  # survive server restarts and idle-connection reaping
            "pool_recycle": 1800,
        }
        options.update(kwargs)
        return create_async_engine(parsed, **options)
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
    )


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def _begin_immediate(connection) -> None:
    driver = connection.connection.driver_connection
    if _await is not None and hasattr(driver, "execute"):
        # aiosqlite: one hop to the driver thread instead of SQLAlchemy's cursor/execute/
        # fetch/close sequence; BEGIN is on the path of every unit of work.
        _await(driver.execute("BEGIN IMMEDIATE"))
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (below).
        dbapi_connection.isolation_level = None

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads
        # and then writes can fail with SQLITE_BUSY at once (busy_timeout cannot help when
        # two readers both try to upgrade); waiting for the lock at BEGIN avoids that.
        _begin_immediate(connection)
