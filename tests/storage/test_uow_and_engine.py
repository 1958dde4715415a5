"""Unit of work lifecycle, engine settings and the test suite's own guards."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.model import Channel, Conversation
from storage.engine import create_engine, is_postgres
from storage.uow import SqlUnitOfWork
from tests.conftest import InternetBlocked
from tests.storage.helpers import T0, new_conversation


async def test_commit_persists_and_exit_rolls_back(uow_factory):
    async with uow_factory() as uow:
        kept = await new_conversation(uow)
        await uow.commit()
        dropped = await new_conversation(uow)  # after commit, a new transaction begins
    async with uow_factory() as uow:
        assert await uow.conversations.get(kept.id) is not None
        assert await uow.conversations.get(dropped.id) is None


async def test_exception_rolls_back(uow_factory):
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            conv = await new_conversation(uow)
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.conversations.get(conv.id) is None


async def test_unit_of_work_must_be_open(engine):
    uow = SqlUnitOfWork(engine)
    with pytest.raises(RuntimeError, match="not open"):
        await uow.commit()


async def test_engine_settings(engine, backend):
    assert is_postgres(engine) == (backend == "postgresql")
    if backend == "sqlite":
        async with engine.connect() as conn:
            pragma = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 1,
            "foreign_keys": 1,
            "busy_timeout": 30000,
        }


async def test_foreign_keys_are_enforced(uow_factory):
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.conversations.add(Conversation(Channel.EMAIL, "a", 987654, T0))


def test_unsupported_url_is_explained():
    with pytest.raises(ValueError, match="unsupported database URL"):
        create_engine("mysql+aiomysql://u@h/db")


def test_internet_is_blocked_but_loopback_is_not():
    with pytest.raises(InternetBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    with socket.socket() as sock, pytest.raises(InternetBlocked):
        sock.connect(("8.8.8.8", 53))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


@pytest.mark.only_backend("postgresql")
async def test_only_backend_marker_keeps_one_variant(backend):
    assert backend == "postgresql"


async def test_pg_url_fixture(pg_url):
    engine = create_engine(pg_url)
    try:
        assert is_postgres(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_sqlite_units_of_work_take_turns_in_arrival_order(sqlite_url):
    import asyncio

    engine = create_engine(sqlite_url)
    order: list[int] = []
    try:
        first = SqlUnitOfWork(engine)
        await first.__aenter__()

        async def worker(n: int) -> None:
            async with SqlUnitOfWork(engine) as uow:
                order.append(n)
                await uow.commit()

        tasks = [asyncio.create_task(worker(n)) for n in range(5)]
        await asyncio.sleep(0.05)
        assert order == []  # all wait behind the open transaction, none fails as busy
        await first.rollback()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4]
        await first.__aexit__(None, None, None)
    finally:
        await engine.dispose()
