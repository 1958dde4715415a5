"""OutboxStore: what each failure kind counts, lease expiries, renewal, late settles, waking a
target's rows and operator retries of failed rows."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from core.effects import Effect
from storage.outbox_store import OutboxStore
from tests.storage.helpers import at

LEASE = timedelta(minutes=1)
KINDS = ("slack:message", "slack:message_changed", "slack:card", "telegram:message",
         "send:email")


@pytest.fixture
def store(engine) -> OutboxStore:
    return OutboxStore(engine)


async def _add(uow_factory, *effects: Effect, now=None) -> None:
    async with uow_factory() as uow:
        for effect in effects:
            await uow.outbox.add(effect, now or at(0))
        await uow.commit()


async def _by_id(store) -> dict[int, dict]:
    return {r["id"]: r for r in await store.rows(limit=1000)}


async def _fail_all(store, error="boom") -> list[int]:
    rows = await store.claim(KINDS, "w1", at(1), LEASE, 100)
    for row in rows:
        assert await store.fail(row.id, "w1", error, at(2))
    return [r.id for r in rows]


async def test_each_failure_kind_counts_what_it_should(uow_factory, store):
    await _add(uow_factory, *(Effect("send:email", f"send:{n}") for n in range(4)))
    transient, limited, bug, released = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    assert await store.retry(transient.id, "w1", at(5), "503", at(1), "transient")
    assert await store.retry(limited.id, "w1", at(5), "429", at(1), "retry_after")
    assert await store.retry(bug.id, "w1", at(5), "KeyError", at(1), "unexpected")
    assert await store.retry(released.id, "w1", at(1), "no handler", at(1), None)
    rows = await _by_id(store)
    got = {rid: (rows[rid]["attempts"], rows[rid]["unexpected_errors"], rows[rid]["last_failure"])
           for rid in rows}
    assert got == {transient.id: (1, 0, "transient"), limited.id: (0, 0, "retry_after"),
                   bug.id: (1, 1, "unexpected"), released.id: (0, 0, None)}


async def test_late_settle_returns_false_and_logs_who_holds_the_row(uow_factory, store, caplog):
    await _add(uow_factory, Effect("slack:message", "slack:1"))
    [row] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    [again] = await store.claim(KINDS, "w2", at(3), LEASE, 10)
    assert again.id == row.id
    with caplog.at_level(logging.WARNING, logger="threadline.outbox"):
        assert await store.complete(row.id, "w1", at(4)) is False
    [message] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"row {row.id}" in message and "late complete by w1" in message
    assert "held by w2" in message
    assert await store.complete(row.id, "w2", at(4)) is True


async def test_renew_extends_only_the_holders_lease(uow_factory, store):
    await _add(uow_factory, Effect("send:email", "send:1"))
    [row] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    assert await store.renew(row.id, "w1", at(10)) is True
    assert await store.claim(KINDS, "w2", at(5), LEASE, 10) == []  # not expired: renewed
    assert await store.renew(row.id, "w2", at(20)) is False
    assert (await _by_id(store))[row.id]["locked_until"] == at(10)
    assert await store.complete(row.id, "w1", at(6))
    assert await store.renew(row.id, "w1", at(30)) is False  # done rows are not leased


async def test_wake_makes_a_targets_transient_rows_due_now(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("slack:card", "slack:2"),
               Effect("slack:message", "slack:3"), Effect("telegram:message", "telegram:1"),
               Effect("send:email", "send:1"))
    s1, s2, s3, t1, e1 = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    for row in (s1, s2, t1, e1):
        await store.retry(row.id, "w1", at(60), "503", at(1), "transient")
    await store.retry(s3.id, "w1", at(60), "429", at(1), "retry_after")
    assert await store.wake("slack", at(2)) == 2
    rows = await _by_id(store)
    assert {rid for rid, r in rows.items() if r["available_at"] == at(2)} == {s1.id, s2.id}
    assert rows[s3.id]["available_at"] == rows[t1.id]["available_at"] == at(60)
    assert rows[s1.id]["attempts"] == 1  # the backoff keeps growing on the next failure
    assert await store.wake("slack", at(3)) == 0  # already due: nothing to write


async def test_retry_failed_by_id_kind_and_target(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("slack:card", "slack:2"),
               Effect("slack:message_changed", "slack:3"), Effect("send:email", "send:1"))
    msg, card, changed, email = await _fail_all(store, "channel_not_found")
    assert await store.retry_failed(None, email, at(10)) == 1
    assert await store.retry_failed("slack:message", None, at(11)) == 1  # exact kind
    assert await store.retry_failed("slack:", None, at(12)) == 2  # the rest of the target
    assert await store.retry_failed("slack", None, at(13)) == 0  # nothing failed is left
    rows = await _by_id(store)
    assert {r["status"] for r in rows.values()} == {"pending"}
    assert rows[email]["available_at"] == rows[email]["retried_at"] == at(10)
    assert rows[msg]["retried_at"] == at(11)
    assert rows[changed]["retried_at"] == rows[card]["retried_at"] == at(12)
    assert all(r["last_error"] == "channel_not_found" for r in rows.values())  # kept
    assert all((r["attempts"], r["crashes"], r["finished_at"]) == (0, 0, None)
               for r in rows.values())
    again = await store.claim(KINDS, "w1", at(13), LEASE, 10)
    assert sorted(r.id for r in again) == sorted(rows)
    assert all(r.retrying_since == rows[r.id]["retried_at"] for r in again)


async def test_retry_failed_resets_crashes_and_matches_nothing_else(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("slack:message", "slack:2"))
    [poison, healthy] = await store.claim(KINDS, "dead", at(1), LEASE, 10)
    [poison] = [r for r in await store.claim(KINDS, "w1", at(3), LEASE, 10) if r.id == poison.id]
    assert poison.crashes == 1
    await store.fail(poison.id, "w1", "its handler stopped the worker 1 times", at(4), "crash")
    assert await store.retry_failed("telegram", None, at(5)) == 0
    assert await store.retry_failed(None, healthy.id, at(5)) == 0  # not failed
    assert await store.retry_failed(None, None, at(5)) == 1
    row = (await _by_id(store))[poison.id]
    assert (row["status"], row["crashes"], row["last_failure"]) == ("pending", 0, None)
    assert [r["id"] for r in await store.failed()] == []


async def test_a_retried_row_does_not_overtake_a_later_row_in_flight(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("slack:message", "slack:1"))
    [first] = await store.claim(KINDS, "w1", at(1), LEASE, 10)
    await store.fail(first.id, "w1", "boom", at(2))
    [second] = await store.claim(KINDS, "w1", at(3), LEASE, 10)
    assert await store.retry_failed(None, first.id, at(4)) == 1
    assert await store.claim(KINDS, "w2", at(4), LEASE, 10) == []  # second is in flight
    await store.complete(second.id, "w1", at(5))
    [again] = await store.claim(KINDS, "w2", at(6), LEASE, 10)
    assert again.id == first.id


async def test_failed_lists_what_retry_failed_would_take(uow_factory, store):
    await _add(uow_factory, Effect("slack:message", "slack:1"), Effect("send:email", "send:1"))
    slack_id, email_id = await _fail_all(store)
    assert [r["id"] for r in await store.failed("send")] == [email_id]
    assert [r["id"] for r in await store.failed(None, slack_id)] == [slack_id]
    assert [r["id"] for r in await store.failed()] == [slack_id, email_id]
