"""OutboxStore: leases, per-order_key ordering, settling only by the lease holder."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.effects import Effect
from storage.engine import create_engine
from storage.outbox_store import OutboxRow, OutboxStore
from tests.storage.helpers import at

LEASE = timedelta(hours=1)
KINDS = ("slack:message", "slack:card", "send:smtp")


@pytest.fixture
def store(engine) -> OutboxStore:
    return OutboxStore(engine)


async def _add(uow_factory, *effects: Effect, now=None) -> None:
    async with uow_factory() as uow:
        for effect in effects:
            await uow.outbox.add(effect, now or at(0))
        await uow.commit()


def _ids(rows: list[OutboxRow]) -> list[int]:
    return [row.id for row in rows]


async def test_claim_returns_rows_and_marks_them_processing(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1", {"conversation_id": 1}))
    [row] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    assert (row.kind, row.order_key, row.payload, row.attempts) == (
        "slack:message",
        "slack:1",
        {"conversation_id": 1},
        0,
    )
    assert row.created_at == at(0)
    [stored] = await store.rows()
    assert stored["status"] == "processing" and stored["locked_by"] == "w1"
    assert stored["locked_until"] == at(1) + LEASE
    assert await store.claim(KINDS, "w2", at(2), LEASE, 10) == []


async def test_only_the_first_row_of_an_order_key_is_claimable(uow_factory, store):
    await _add(
        uow_factory,
        Effect("slack:message", "slack:1"),
        Effect("slack:card", "slack:1"),
        Effect("slack:message", "slack:2"),
    )
    first = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    assert [r.order_key for r in first] == ["slack:1", "slack:2"]
    assert await store.claim(KINDS, "w1", at(1), LEASE, 10) == []
    await store.complete(first[0].id, "w1", at(2))
    [second] = await store.claim(KINDS, "w1", at(3), LEASE, 10)
    assert (second.kind, second.order_key) == ("slack:card", "slack:1")


async def test_pending_row_not_yet_available_blocks_its_key(uow_factory, store):
    await _add(
        uow_factory,
        Effect("send:smtp", "send:1", delay=timedelta(minutes=5)),
        Effect("send:smtp", "send:1"),
    )
    assert await store.claim(KINDS, "w1", at(1), LEASE, 10) == []
    assert len(await store.claim(KINDS, "w1", at(6), LEASE, 10)) == 1


async def test_failed_and_done_rows_do_not_block(uow_factory, store):
    await _add(uow_factory, *(Effect("slack:message", "slack:1") for _ in range(3)))
    [first] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    await store.fail(first.id, "w1", "channel_not_found", at(2))
    [second] = await store.claim(KINDS, "w1", at(3), LEASE, 10)
    assert second.id > first.id
    await store.complete(second.id, "w1", at(4))
    [third] = await store.claim(KINDS, "w1", at(5), LEASE, 10)
    assert third.id > second.id
    rows = {r["id"]: r for r in await store.rows()}
    assert rows[first.id]["status"] == "failed"
    assert rows[first.id]["attempts"] == 1
    assert rows[first.id]["last_error"] == "channel_not_found"
    assert rows[first.id]["finished_at"] == at(2)
    assert rows[second.id]["status"] == "done" and rows[second.id]["finished_at"] == at(4)


async def test_kinds_filter_and_limit_take_lowest_ids(uow_factory, store):
    await _add(uow_factory, *(Effect("slack:message", f"slack:{n}") for n in range(5)))
    await _add(uow_factory, Effect("send:smtp", "send:1"))
    assert await store.claim(["telegram:message"], "w1", at(1), LEASE, 10) == []
    assert await store.claim([], "w1", at(1), LEASE, 10) == []
    two = await store.claim(["slack:message"], "w1", at(1), LEASE, 2)
    assert [r.order_key for r in two] == ["slack:0", "slack:1"]
    rest = await store.claim(["slack:message"], "w1", at(1), LEASE, 10)
    assert [r.order_key for r in rest] == ["slack:2", "slack:3", "slack:4"]
    assert [r.kind for r in await store.claim(KINDS, "w1", at(1), LEASE, 10)] == ["send:smtp"]


async def test_an_expired_lease_is_reclaimed_but_its_followers_wait(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("slack:card", "slack:1"))
    [head] = await store.claim(KINDS, "crashed", at(1), LEASE, 10)
    assert await store.claim(KINDS, "w2", at(1) + LEASE, LEASE, 10) == []  # not yet expired
    [again] = await store.claim(KINDS, "w2", at(2) + LEASE, LEASE, 10)
    assert again.id == head.id
    assert (again.crashes, again.attempts) == (1, 0)  # a lease expiry is not an attempt
    # The crashed worker wakes up: it no longer holds the lease, so nothing changes.
    assert await store.complete(head.id, "crashed", at(3) + LEASE) is False
    assert await store.fail(head.id, "crashed", "late", at(3) + LEASE) is False
    assert await store.retry(head.id, "crashed", at(100), "late", at(3) + LEASE) is False
    [row, follower] = await store.rows()
    assert (row["status"], row["locked_by"], row["attempts"]) == ("processing", "w2", 0)
    assert (row["crashes"], row["last_failure"]) == (1, "crash")
    assert row["last_error"] == "the lease of crashed expired"
    assert follower["status"] == "pending"
    await store.complete(head.id, "w2", at(4) + LEASE)
    [nxt] = await store.claim(KINDS, "w2", at(5) + LEASE, LEASE, 10)
    assert nxt.kind == "slack:card"


async def test_retry_bumps_attempts_and_waits_until_available(uow_factory, store):
    await _add(uow_factory, Effect("send:smtp", "send:1"), Effect("send:smtp", "send:1"))
    [row] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    await store.retry(row.id, "w1", at(30), "503 try later", at(2))
    stored = (await store.rows())[0]
    assert (stored["status"], stored["attempts"], stored["available_at"]) == ("pending", 1, at(30))
    assert stored["last_error"] == "503 try later" and stored["locked_by"] is None
    # Still first in its key's queue: the row behind it keeps waiting.
    assert await store.claim(KINDS, "w1", at(10), LEASE, 10) == []
    [again] = await store.claim(KINDS, "w1", at(30), LEASE, 10)
    assert (again.id, again.attempts) == (row.id, 1)


async def test_settling_unknown_rows_changes_nothing(store):
    assert await store.complete(12345, "w1", at(0)) is False
    assert await store.retry(12345, "w1", at(1), "x", at(0)) is False
    assert await store.fail(12345, "w1", "x", at(0)) is False
    assert await store.rows() == []


async def test_counts_and_rows_filter(uow_factory, store):
    await _add(uow_factory, *(Effect("slack:message", f"slack:{n}") for n in range(3)))
    assert await store.counts() == {"pending": 3, "processing": 0, "done": 0, "failed": 0}
    a, b, _ = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    await store.complete(a.id, "w1", at(2))
    await store.fail(b.id, "w1", "bad", at(2))
    assert await store.counts() == {"pending": 0, "processing": 1, "done": 1, "failed": 1}
    assert [r["id"] for r in await store.rows("failed")] == [b.id]
    assert len(await store.rows(limit=2)) == 2


async def test_concurrent_workers_never_share_a_row(uow_factory, db_url, backend):
    keys = 40
    await _add(uow_factory, *(Effect("slack:message", f"slack:{n % keys}") for n in range(120)))
    engines = [create_engine(db_url) for _ in range(4)]
    seen: list[int] = []
    order: dict[str, list[int]] = {}

    async def worker(name: str, store: OutboxStore) -> None:
        for _ in range(200):
            rows = await store.claim(KINDS, name, at(1), LEASE, 7)
            if not rows:
                if (await store.counts())["pending"] == 0:
                    return
                await asyncio.sleep(0.001)
                continue
            for row in rows:
                seen.append(row.id)
                order.setdefault(row.order_key, []).append(row.id)
                await store.complete(row.id, name, at(2))

    try:
        await asyncio.gather(*(worker(f"w{i}", OutboxStore(e)) for i, e in enumerate(engines)))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 120
    assert all(ids == sorted(ids) for ids in order.values())


async def test_prune_deletes_only_old_done_rows(uow_factory, store):
    await _add(uow_factory, *(Effect("slack:message", f"slack:{n}") for n in range(4)))
    a, b, c, d = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    await store.complete(a.id, "w1", at(2))
    await store.complete(b.id, "w1", at(20))
    await store.fail(c.id, "w1", "boom", at(2))
    assert await store.prune(at(10)) == 1
    left = {r["id"]: r["status"] for r in await store.rows()}
    assert left == {b.id: "done", c.id: "failed", d.id: "processing"}
