from __future__ import annotations

import asyncio

import pytest

from storage.engine import create_engine
from threadline.leader import (
    AlwaysLeader,
    FileLeader,
    PostgresLeader,
    leader_lock_path,
    make_leader,
)
from threadline.scheduler import LeaderScheduler, PeriodicJob


async def eventually(condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_file_leader_one_wins_then_hands_over(tmp_path):
    path = tmp_path / "threadline.db.leader"
    a, b = FileLeader(path), FileLeader(path)
    assert await a.try_acquire() is True
    assert await b.try_acquire() is False
    assert a.is_leader and not b.is_leader
    assert await a.try_acquire() is True  # idempotent
    await a.release()
    assert await b.try_acquire() is True
    assert await a.try_acquire() is False
    await b.release()


async def test_postgres_leader_one_wins_then_hands_over(pg_url):
    e1, e2 = create_engine(pg_url), create_engine(pg_url)
    try:
        a, b = PostgresLeader(e1), PostgresLeader(e2)
        assert await a.try_acquire() is True
        assert await b.try_acquire() is False
        assert await a.try_acquire() is True
        await a.release()
        assert not a.is_leader
        assert await b.try_acquire() is True
        assert await a.try_acquire() is False
        await b.release()
    finally:
        await e1.dispose()
        await e2.dispose()


async def test_postgres_leader_lost_connection_frees_the_lock(pg_url):
    e1, e2 = create_engine(pg_url), create_engine(pg_url)
    try:
        a, b = PostgresLeader(e1), PostgresLeader(e2)
        assert await a.try_acquire()
        await e1.dispose()  # pool gone; the held connection is still checked out
        await a._conn.invalidate()  # simulate the session dying (server restart, network)
        assert await b.try_acquire() is True
        assert await a.try_acquire() is False  # notices and steps down
        assert not a.is_leader
        await b.release()
    finally:
        await e1.dispose()
        await e2.dispose()


def test_lock_path_for_sqlite_urls(tmp_path):
    assert leader_lock_path(f"sqlite+aiosqlite:///{tmp_path}/x.db") == tmp_path / "x.db.leader"
    assert leader_lock_path("sqlite+aiosqlite://") is None
    assert leader_lock_path("sqlite+aiosqlite:///:memory:") is None


async def test_make_leader_picks_backend(engine, db_url):
    leader = make_leader(engine, db_url)
    expected = PostgresLeader if engine.dialect.name == "postgresql" else FileLeader
    assert isinstance(leader, expected)
    assert await leader.try_acquire()
    await leader.release()


async def test_scheduler_runs_jobs_only_on_the_leader(tmp_path):
    path = tmp_path / "db.leader"
    runs = {"a": 0, "b": 0}

    def job(name):
        async def fn():
            runs[name] += 1
        return fn

    sa = LeaderScheduler(FileLeader(path), [PeriodicJob("j", job("a"), 0.05)], 0.05)
    sb = LeaderScheduler(FileLeader(path), [PeriodicJob("j", job("b"), 0.05)], 0.05)
    await sa.start()
    await sb.start()
    try:
        await eventually(lambda: runs["a"] > 2)
        assert runs["b"] == 0
        await sa.stop()  # the leader leaves: the other takes over at its next check
        before = runs["a"]
        await eventually(lambda: runs["b"] > 0)
        assert runs["a"] == before
    finally:
        await sa.stop()
        await sb.stop()


async def test_failing_job_does_not_stop_the_scheduler():
    calls = 0

    async def boom():
        nonlocal calls
        calls += 1
        raise RuntimeError("db down")

    s = LeaderScheduler(AlwaysLeader(), [PeriodicJob("boom", boom, 0.05)], 1)
    await s.start()
    await eventually(lambda: calls >= 2)
    await s.stop()


@pytest.mark.only_backend("sqlite")
async def test_wake_snoozes_job_pages_until_done(backend):
    from threadline.scheduler import wake_snoozes_job

    class FakeInbox:
        def __init__(self):
            self.left = 250

        async def wake_due_snoozes(self, limit):
            n = min(limit, self.left)
            self.left -= n
            return n

    inbox = FakeInbox()
    assert await wake_snoozes_job(inbox, limit=100)() == 250
