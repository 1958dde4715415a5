"""The dispatcher against the real OutboxStore on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.delivery import PermanentError, RetryAfter, TransientError
from storage.outbox_store import OutboxStore
from tests.app.helpers import T0, add_rows, effect
from threadline.dispatcher import Dispatcher


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def store(engine):
    return OutboxStore(engine)


def make(store, clock, **kw) -> Dispatcher:
    kw.setdefault("rng", random.Random(7))
    return Dispatcher(store, clock, "w1", lease=timedelta(seconds=30), batch=10, **kw)


async def by_id(store) -> dict[int, dict]:
    return {r["id"]: r for r in await store.rows(limit=1000)}


async def test_success_completes_rows(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1", n=1),
                                 effect("slack:new", "slack:2", n=2)])
    seen = []

    async def handler(row):
        seen.append(row.payload["n"])

    d = make(store, clock, handlers={"slack:new": handler})
    assert await d.run_once() == 2
    assert sorted(seen) == [1, 2]
    assert (await store.counts())["done"] == 2
    assert await d.run_once() == 0


async def test_transient_error_retries_with_capped_exponential_backoff(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("send:email", "send:1")])
    calls = []

    async def flaky(row):
        calls.append(row.attempts)
        if len(calls) < 4:
            raise TransientError("smtp 451", "451")

    d = make(store, clock, handlers={"send:email": flaky}, base_delay=timedelta(seconds=2),
             max_delay=timedelta(seconds=5))
    for expected_cap in (2, 4, 5):
        assert await d.run_once() == 1
        row = next(iter((await by_id(store)).values()))
        assert row["status"] == "pending" and row["last_error"] == "[451] smtp 451"
        wait = (row["available_at"] - clock.now()).total_seconds()
        assert 0 <= wait <= expected_cap
        assert await d.run_once() == 0 or wait == 0  # not due before available_at
        clock.set(row["available_at"])
    assert await d.run_once() == 1
    assert calls == [0, 1, 2, 3]
    assert (await store.counts())["done"] == 1


async def test_unexpected_exception_is_retried(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])

    async def buggy(row):
        raise KeyError("oops")

    d = make(store, clock, handlers={"slack:new": buggy})
    await d.run_once()
    row = next(iter((await by_id(store)).values()))
    assert row["status"] == "pending" and "KeyError" in row["last_error"]


async def test_retry_after_is_honoured(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])
    calls = 0

    async def limited(row):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(30)

    d = make(store, clock, handlers={"slack:new": limited})
    await d.run_once()
    row = next(iter((await by_id(store)).values()))
    assert row["available_at"] == T0 + timedelta(seconds=30)
    clock.advance(timedelta(seconds=29))
    assert await d.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await d.run_once() == 1
    assert (await store.counts())["done"] == 1


async def test_permanent_failure_is_recorded_and_hook_called(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("send:whatsapp_cloud", "send:9", message_id=5)])
    hooked = []

    async def bad(row):
        raise PermanentError("template not approved", "132001")

    async def on_fail(row, error):
        hooked.append((row.payload["message_id"], error.code))

    d = make(store, clock)
    d.register("send:whatsapp_cloud", bad, on_permanent_failure=on_fail)
    await d.run_once()
    row = next(iter((await by_id(store)).values()))
    assert row["status"] == "failed" and row["last_error"] == "[132001] template not approved"
    assert hooked == [(5, "132001")]


async def test_unexpected_errors_fail_after_max_attempts_and_free_the_key(
        store, clock, uow_factory):
    # THREADLINE_DISPATCH_MAX_ATTEMPTS now caps bugs only (delivery errors: the horizon).
    await add_rows(uow_factory, [effect("slack:new", "slack:1", n=1),
                                 effect("slack:new", "slack:1", n=2)])
    hooked, done = [], []

    async def buggy(row):
        if row.payload["n"] == 1:
            raise KeyError("oops")
        done.append(row.payload["n"])

    async def on_fail(row, error):
        hooked.append(error.code)

    d = make(store, clock, max_attempts=3, max_delay=timedelta(seconds=1))
    d.register("slack:new", buggy, on_fail)
    for _ in range(3):
        assert await d.run_once() == 1
        clock.advance(timedelta(seconds=2))
    first = (await by_id(store))[1]
    assert first["status"] == "failed" and first["unexpected_errors"] == 3
    assert first["last_error"].startswith("gave up after 3 unexpected errors: KeyError")
    assert hooked == ["max_attempts"]
    await d.drain()
    assert done == [2]  # the conversation's queue moves on


async def test_transient_failures_are_not_capped_by_max_attempts(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])

    async def down(row):
        raise TransientError("503")

    d = make(store, clock, max_attempts=3, max_delay=timedelta(seconds=1))
    d.register("slack:new", down)
    for _ in range(10):
        clock.advance(timedelta(seconds=2))
        assert await d.run_once() == 1
    row = (await by_id(store))[1]
    assert (row["status"], row["attempts"], row["unexpected_errors"]) == ("pending", 10, 0)


async def test_unregistered_kinds_stay_pending(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("telegram:new", "telegram:1"),
                                 effect("slack:new", "slack:1")])
    done = []

    async def handler(row):
        done.append(row.kind)

    d = make(store, clock, handlers={"slack:new": handler})
    assert await d.drain() == 1
    assert done == ["slack:new"]
    assert (await store.counts())["pending"] == 1
    d.register("telegram:new", handler)  # enabling a front end later still delivers
    assert await d.drain() == 1
    assert (await store.counts())["pending"] == 0


async def test_order_key_order_and_concurrency_across_keys(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:ev", f"slack:{k}", key=k, seq=s)
                                 for s in range(4) for k in ("a", "b", "c")])
    log: list[tuple[str, int]] = []
    running = 0
    peak = 0

    async def handler(row):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        log.append((row.payload["key"], row.payload["seq"]))
        running -= 1

    d = make(store, clock, handlers={"slack:ev": handler})
    assert await d.drain() == 12
    for key in "abc":
        assert [s for k, s in log if k == key] == [0, 1, 2, 3]
    assert peak == 3  # one head per key, run side by side


async def test_a_failing_head_holds_back_its_key_only(store, clock, uow_factory):
    # Key b is another target: a success of the same target would wake a (see
    # test_dispatch_reliability).
    await add_rows(uow_factory, [effect("slack:ev", "slack:a", n=1),
                                 effect("slack:ev", "slack:a", n=2),
                                 effect("other:ev", "other:b", n=3)])
    done = []

    async def handler(row):
        if row.payload["n"] == 1 and not done.count(-1):
            done.append(-1)
            raise TransientError("later")
        done.append(row.payload["n"])

    d = make(store, clock, handlers={"slack:ev": handler, "other:ev": handler},
             max_delay=timedelta(seconds=1))
    await d.drain()
    assert done == [-1, 3]  # n=2 waits behind its failed head
    clock.advance(timedelta(seconds=2))
    await d.drain()
    assert done == [-1, 3, 1, 2]


async def test_run_forever_stops(store, clock, uow_factory):
    await add_rows(uow_factory, [effect("slack:new", "slack:1")])
    handled = asyncio.Event()

    async def handler(row):
        handled.set()

    d = make(store, clock, handlers={"slack:new": handler})
    stop = asyncio.Event()
    task = asyncio.create_task(d.run_forever(stop, idle_sleep=0.01))
    await asyncio.wait_for(handled.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)


def test_backoff_is_full_jitter_and_capped():
    d = Dispatcher(None, FixedClock(T0), "w", base_delay=1, max_delay=60, rng=random.Random(1))
    samples = [d.backoff(n).total_seconds() for n in range(1, 30) for _ in range(20)]
    assert max(samples) <= 60 and min(samples) >= 0
    assert max(d.backoff(3).total_seconds() for _ in range(200)) <= 4


async def test_runtime_announces_closed_whatsapp_windows_once(engine, tmp_path):
    from datetime import timedelta

    from core.clock import FixedClock
    from core.inbound import InboundMessage
    from core.model import Channel
    from threadline.config import ThreadlineConfig
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    clock = FixedClock(T0)
    cfg = ThreadlineConfig.model_validate({"accounts": [
        {"id": "wa", "channel": "whatsapp", "provider": "whatsapp_cloud", "address": "1"}]})
    rt = Runtime(Settings(_env_file=None, THREADLINE_FILES_DIR=str(tmp_path)), cfg,
                 engine=engine, clock=clock)
    await rt.inbox.receive(InboundMessage(Channel.WHATSAPP, "wa", "whatsapp_cloud", "w1",
                                          "+34600111222", "hola", T0))
    assert await rt.announce_closed_windows() == 0  # first run: starts the cursor
    clock.advance(timedelta(hours=25))
    assert await rt.announce_closed_windows() == 1
    assert await rt.announce_closed_windows() == 0  # not twice
