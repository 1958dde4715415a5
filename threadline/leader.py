"""Leader election, so periodic jobs run in exactly one process.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated connection; if that
connection dies the server releases the lock and another worker takes over.
SQLite: an exclusive, non-blocking `flock` on `<database file>.leader` (released by the
kernel when the process exits). An in-memory SQLite database has one process: always leader.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("threadline.leader")

# "THRDLINE" as a 63-bit number: the advisory lock key every Threadline worker agrees on.
ADVISORY_LOCK_KEY = int.from_bytes(b"THRDLINE", "big") & 0x7FFF_FFFF_FFFF_FFFF


_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid::bigint = :classid"
    " AND objid::bigint = :objid AND objsubid = 1)"
)


class LeaderElector(Protocol):
    @property
    def is_leader(self) -> bool: ...

    async def try_acquire(self) -> bool:
        """Become leader if nobody else is; True if this candidate leads (now or already)."""
        ...

    async def release(self) -> None: ...


class PostgresLeader:
    def __init__(self, engine: AsyncEngine, key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine, self.key = engine, key
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    async def try_acquire(self) -> bool:
        async with self._lock:
            if self._conn is not None:
                if await self._still_alive():
                    return True
                await self._drop()
                log.warning("lost the leader connection; stepping down")
            conn = await self.engine.connect()
            try:
                got = (await conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
                await conn.commit()  # session-level lock survives; no idle transaction
            except BaseException:
                await conn.invalidate()
                await conn.close()
                raise
            if not got:
                await conn.close()
                return False
            self._conn = conn
            log.info("became leader (PostgreSQL advisory lock %d)", self.key)
            return True

    async def _still_alive(self) -> bool:
        """True if this session still holds the lock. SQLAlchemy may silently reconnect an
        invalidated connection, so asking "does this backend hold it?" is the only safe test."""
        assert self._conn is not None
        try:
            held = (await self._conn.execute(_HOLDS_LOCK, {
                "classid": self.key >> 32, "objid": self.key & 0xFFFF_FFFF})).scalar()
            await self._conn.commit()
            return bool(held)
        except Exception:
            return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.invalidate()  # closing the session for real releases the lock
        finally:
            await conn.close()

    async def release(self) -> None:
        async with self._lock:
            conn = self._conn
            if conn is None:
                return
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await conn.commit()
            except Exception:
                log.warning("could not unlock advisory lock cleanly; closing its connection")
            await self._drop()
            log.info("released leadership")


class FileLeader:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def is_leader(self) -> bool:
        return self._fd is not None

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        log.info("became leader (lock file %s)", self.path)
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        log.info("released leadership")


class AlwaysLeader:
    """A single-process database (in-memory SQLite)."""

    def __init__(self) -> None:
        self._leader = False

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def try_acquire(self) -> bool:
        self._leader = True
        return True

    async def release(self) -> None:
        self._leader = False


def leader_lock_path(database_url: str) -> Path | None:
    """`<dbfile>.leader` for a file-backed SQLite URL; None for in-memory databases."""
    url = make_url(database_url)
    db = url.database
    in_memory = db == ":memory:" or db.startswith("file::memory:") if db else True
    if in_memory or url.query.get("mode") == "memory":
        return None
    return Path(db + ".leader")


def make_leader(engine: AsyncEngine, database_url: str) -> LeaderElector:
    if engine.dialect.name == "postgresql":
        return PostgresLeader(engine)
    path = leader_lock_path(database_url)
    return FileLeader(path) if path is not None else AlwaysLeader()
