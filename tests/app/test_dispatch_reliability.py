"""The dispatcher through outages, rate-limit storms, recoveries and dead workers, with a
fixed clock that the tests move (real OutboxStore, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.delivery import RetryAfter, TransientError
from storage.outbox_store import OutboxStore
from tests.app.helpers import T0, add_rows, effect
from threadline.dispatcher import Dispatcher

HOURS = timedelta(hours=1)
HORIZONS = {"slack": 24 * HOURS, "telegram": 24 * HOURS, "send": 72 * HOURS}


class MaxJitter(random.Random):
    """Always the longest backoff: waits are then known exactly."""

    def uniform(self, a, b):
        return b


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def store(engine):
    return OutboxStore(engine)


def make(store, clock, **kw) -> Dispatcher:
    kw.setdefault("rng", random.Random(7))
    kw.setdefault("horizons", HORIZONS)
    return Dispatcher(store, clock, "w1", lease=timedelta(seconds=30), batch=10, **kw)


async def by_id(store) -> dict[int, dict]:
    return {r["id"]: r for r in await store.rows(limit=1000)}


async def ride_outage(d, store, clock, until) -> list[str]:
    """Retry the only row whenever it is due until `until` (or it stops being pending);
    returns the statuses seen after each attempt."""
    seen = []
    while clock.now() < until:
        assert await d.run_once() == 1
        [row] = (await by_id(store)).values()
        seen.append(row["status"])
        if row["status"] != "pending":
            break
        assert row["available_at"] <= row["created_at"] + d.horizon(row["kind"])
        clock.set(max(row["available_at"], clock.now()))
    return seen


async def test_a_slack_row_rides_out_a_30_hour_outage_then_goes_out(store, clock, uow_factory):
    # The default Slack horizon is 24 h (next test); a 30 h outage needs a longer one.
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])
    slack_up = False

    async def post(row):
        if not slack_up:
            raise TransientError("Slack answered 503: service_unavailable", "503")

    d = make(store, clock, handlers={"slack:new": post},
             horizons={**HORIZONS, "slack": 36 * HOURS})
    seen = await ride_outage(d, store, clock, T0 + 30 * HOURS)
    assert set(seen) == {"pending"} and len(seen) > 100  # far past the old 12 attempts
    slack_up = True
    clock.advance(timedelta(minutes=15))  # the longest backoff
    assert await d.run_once() == 1
    [row] = (await by_id(store)).values()
    assert row["status"] == "done" and row["attempts"] == len(seen)


async def test_the_default_slack_horizon_gives_up_at_24_hours(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])
    hooked = []

    async def down(row):
        raise TransientError("Slack answered 503: service_unavailable", "503")

    async def on_fail(row, error):
        hooked.append((clock.now(), error.code))

    d = make(store, clock, max_delay=HOURS)
    d.register("slack:new", down, on_fail)
    seen = await ride_outage(d, store, clock, T0 + 30 * HOURS)
    assert seen[-1] == "failed" and set(seen[:-1]) == {"pending"}
    assert hooked == [(T0 + 24 * HOURS, "horizon")]  # the last try is at the horizon itself
    [row] = (await by_id(store)).values()
    assert row["last_error"] == ("gave up after 24 h of retries: "
                                 "[503] Slack answered 503: service_unavailable")


async def test_a_customer_send_fails_only_after_72_hours(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("send:email", "send:1", message_id=3)])
    hooked = []

    async def smtp_down(row):
        raise TransientError("connection refused", "network")

    async def on_fail(row, error):
        hooked.append((row.payload["message_id"], clock.now(), error.text))

    d = make(store, clock, rng=MaxJitter(), max_delay=HOURS)  # fewer rounds, same rule
    d.register("send:email", smtp_down, on_fail)
    seen = await ride_outage(d, store, clock, T0 + 71 * HOURS)
    assert set(seen) == {"pending"}  # a Slack row would have failed long ago
    seen = await ride_outage(d, store, clock, T0 + 80 * HOURS)
    assert seen[-1] == "failed"
    assert hooked == [(3, T0 + 72 * HOURS,
                       "gave up after 72 h of retries: [network] connection refused")]


async def test_other_targets_use_24_hours(store, clock):
    d = make(store, clock)
    assert d.horizon("ai:analyse") == 24 * HOURS and d.horizon("send:twilio") == 72 * HOURS


async def test_retry_after_storms_never_fail_and_are_not_attempts(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("send:whatsapp_cloud", "send:1")])
    limited = True

    async def throttled(row):
        if limited:
            raise RetryAfter(3600, "throughput limit", "130429")

    d = make(store, clock, handlers={"send:whatsapp_cloud": throttled}, max_attempts=2)
    for _ in range(100):  # 100 h: past the 72 h horizon and far past max_attempts
        assert await d.run_once() == 1
        [row] = (await by_id(store)).values()
        assert (row["status"], row["attempts"]) == ("pending", 0)
        assert row["available_at"] == clock.now() + HOURS
        assert row["last_failure"] == "retry_after"
        clock.set(row["available_at"])
    limited = False
    assert await d.run_once() == 1
    assert (await by_id(store))[1]["status"] == "done"


async def test_a_success_wakes_its_targets_transient_failures_only(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:a"), effect("slack:new", "slack:b"),
                                 effect("slack:card", "slack:c"),
                                 effect("telegram:new", "telegram:t")])
    up = False

    async def handler(row):
        if row.order_key == "slack:c" and not up:
            raise RetryAfter(3600, "Slack rate limit", "429")
        if not up:
            raise TransientError("503")

    d = make(store, clock, rng=MaxJitter(), base_delay=HOURS, max_delay=HOURS,
             handlers={"slack:new": handler, "slack:card": handler, "telegram:new": handler})
    assert await d.run_once() == 4
    waiting = {r["order_key"]: r["available_at"] for r in (await by_id(store)).values()}
    assert set(waiting.values()) == {T0 + HOURS}
    up = True
    clock.advance(timedelta(minutes=1))
    await add_rows(uow_factory, [effect("slack:new", "slack:new-one")], clock.now())
    assert await d.run_once() == 1  # only the new row is due: it succeeds
    rows = {r["order_key"]: r for r in (await by_id(store)).values()}
    assert rows["slack:a"]["available_at"] == rows["slack:b"]["available_at"] == clock.now()
    assert rows["slack:c"]["available_at"] == T0 + HOURS  # the rate limit is kept
    assert rows["telegram:t"]["available_at"] == T0 + HOURS  # another target
    assert await d.drain() == 2
    status = {r["order_key"]: r["status"] for r in (await by_id(store)).values()}
    assert status == {"slack:a": "done", "slack:b": "done", "slack:new-one": "done",
                      "slack:c": "pending", "telegram:t": "pending"}


async def test_wakes_are_throttled_unless_the_success_was_a_recovery(store, clock, uow_factory):
    ran = []

    async def ok(row):
        ran.append(row.order_key)

    d = make(store, clock, wake_interval=2 * HOURS, handlers={"slack:new": ok})
    await add_rows(uow_factory, [effect("slack:new", "slack:c")])
    assert await d.run_once() == 1  # a success: wakes (nothing waits yet)
    await add_rows(uow_factory, [effect("slack:new", "slack:a"), effect("slack:new", "slack:b")])
    a, b = await store.claim(["slack:new"], "w0", clock.now(), timedelta(seconds=30), 10)
    for row, wait in ((a, timedelta(minutes=10)), (b, 3 * HOURS)):
        await store.retry(row.id, "w0", clock.now() + wait, "503", clock.now(), "transient")
    await add_rows(uow_factory, [effect("slack:new", "slack:d")])
    assert await d.run_once() == 1  # d: a plain success inside the interval does not wake
    assert (await by_id(store))[b.id]["available_at"] == T0 + 3 * HOURS
    clock.advance(timedelta(minutes=10))
    assert await d.run_once() == 1  # a had failed: its success is a recovery and wakes b
    assert (await by_id(store))[b.id]["available_at"] == clock.now()
    assert await d.run_once() == 1
    assert ran == ["slack:c", "slack:d", "slack:a", "slack:b"]


async def test_a_row_whose_worker_keeps_dying_is_failed_and_frees_its_key(
        store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1", n=1),
                                 effect("slack:new", "slack:1", n=2)])
    ran, hooked = [], []

    async def handler(row):
        ran.append(row.payload["n"])

    async def on_fail(row, error):
        hooked.append((row.payload["n"], error.code, error.text))

    lease = timedelta(seconds=30)
    for crash in range(3):  # three workers take the head and die inside its handler
        [row] = await store.claim(["slack:new"], f"doomed{crash}", clock.now(), lease, 10)
        assert row.crashes == crash
        clock.advance(lease + timedelta(seconds=1))
    d = make(store, clock, max_crashes=3)
    d.register("slack:new", handler, on_fail)
    await d.drain()
    assert hooked == [(1, "crashed", "its handler stopped the worker 3 times")]
    assert ran == [2]  # the poison row never ran again; the next one did
    first = (await by_id(store))[1]
    assert (first["status"], first["crashes"], first["last_failure"]) == (
        "failed", 3, "crash")


async def test_fewer_crashes_than_the_limit_run_again(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])
    lease = timedelta(seconds=30)
    await store.claim(["slack:new"], "doomed", clock.now(), lease, 10)
    clock.advance(lease * 2)
    ran = []

    async def handler(row):
        ran.append(row.crashes)

    assert await make(store, clock, handlers={"slack:new": handler}).drain() == 1
    assert ran == [1] and (await store.counts())["done"] == 1


async def test_a_late_settle_is_dropped_logged_and_runs_no_hook(store, clock, uow_factory,
                                                                caplog):
    await add_rows(uow_factory, [effect("send:email", "send:1")])
    hooked = []

    async def slow_then_refused(row):
        clock.advance(timedelta(minutes=5))  # the lease ran out meanwhile...
        [stolen] = await store.claim(["send:email"], "w2", clock.now(), timedelta(minutes=1), 1)
        assert stolen.id == row.id  # ...and another worker took the row
        from core.delivery import PermanentError

        raise PermanentError("mailbox unavailable", "550")

    async def on_fail(row, error):
        hooked.append(row.id)

    d = make(store, clock)
    d.register("send:email", slow_then_refused, on_fail)
    with caplog.at_level(logging.WARNING, logger="threadline.outbox"):
        await d.run_once()
    [row] = (await by_id(store)).values()
    assert (row["status"], row["locked_by"]) == ("processing", "w2")
    assert hooked == []
    assert any("late fail by w1" in m and "held by w2" in m and f"row {row['id']}" in m
               for m in caplog.messages)


async def test_the_lease_of_a_running_row_is_renewed(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("send:email", "send:1")])
    renewed = asyncio.Event()
    real_renew = store.renew

    async def spy(row_id, worker_id, locked_until):
        held = await real_renew(row_id, worker_id, locked_until)
        renewed.set()
        return held

    store.renew = spy
    lease = timedelta(seconds=0.06)

    async def long_send(row):
        clock.advance(timedelta(hours=1))
        await asyncio.wait_for(renewed.wait(), 10)
        [stored] = (await by_id(store)).values()
        assert stored["locked_until"] == clock.now() + lease  # pushed past the first lease

    d = Dispatcher(store, clock, "w1", {"send:email": long_send}, lease=lease)
    await d.run_once()
    assert (await store.counts())["done"] == 1


async def test_the_leader_sweep_only_nudges_the_loop(engine, clock, tmp_path, uow_factory):
    from threadline.config import ThreadlineConfig
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    rt = Runtime(Settings(_env_file=None, THREADLINE_FILES_DIR=str(tmp_path)),
                 ThreadlineConfig(), engine=engine, clock=clock)
    handled, idle = asyncio.Event(), asyncio.Event()

    async def handler(row):
        handled.set()

    rt.dispatcher.register("test:ok", handler)
    await add_rows(uow_factory, [effect("test:ok", "k0")])
    await rt.dispatch_sweep()
    assert (await rt.outbox.counts())["pending"] == 1  # the sweep claims nothing itself
    real_claim = rt.outbox.claim

    async def claim(*args):
        rows = await real_claim(*args)
        if not rows:
            idle.set()
        return rows

    rt.outbox.claim = claim
    stop = asyncio.Event()
    loop = asyncio.create_task(rt.dispatcher.run_forever(stop, idle_sleep=3600))
    try:
        await asyncio.wait_for(handled.wait(), 10)
        await asyncio.wait_for(idle.wait(), 10)  # now asleep for an hour...
        handled.clear()
        await add_rows(uow_factory, [effect("test:ok", "k1")])
        await rt.dispatch_sweep()  # ...unless the sweep nudges it
        await asyncio.wait_for(handled.wait(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
        await rt.close()


async def test_runtime_wires_the_reliability_settings(engine, tmp_path):
    from threadline.config import ThreadlineConfig
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    def dispatcher(**env):
        rt = Runtime(Settings(_env_file=None, THREADLINE_FILES_DIR=str(tmp_path), **env),
                     ThreadlineConfig(), engine=engine)
        return rt.dispatcher

    d = dispatcher()
    assert [d.horizon(k) for k in ("slack:new", "telegram:new", "send:email", "ai:x")] == [
        24 * HOURS, 24 * HOURS, 72 * HOURS, 24 * HOURS]
    assert (d.max_delay, d.max_crashes, d.max_attempts) == (timedelta(minutes=15), 3, 12)
    d = dispatcher(THREADLINE_RETRY_HORIZON_SLACK_HOURS=30, THREADLINE_RETRY_HORIZON_SEND_HOURS=1,
                   THREADLINE_RETRY_HORIZON_TELEGRAM_HOURS=2, THREADLINE_DISPATCH_MAX_CRASHES=5,
                   THREADLINE_DISPATCH_MAX_DELAY_SECONDS=60)
    assert [d.horizon(k) for k in ("slack:new", "telegram:new", "send:email")] == [
        30 * HOURS, 2 * HOURS, HOURS]
    assert (d.max_delay, d.max_crashes) == (timedelta(minutes=1), 5)
