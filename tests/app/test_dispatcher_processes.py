"""Several dispatcher processes share one outbox: no row twice, per-key order kept, a
killed worker's row is reclaimed after its lease, a row that keeps killing its worker is
failed, and a handler that outlives its lease keeps it (renewed) instead of running twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import FixedClock
from storage.engine import create_engine
from storage.outbox_store import OutboxStore
from storage.uow import SqlUnitOfWorkFactory
from tests.app.helpers import add_rows, effect
from threadline.dispatcher import Dispatcher
from threadline.runtime import SystemClock

SCRIPT = Path(__file__).with_name("dispatch_proc.py")


def spawn(url: str, worker: str, out: Path, lease: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), url, worker, str(out), str(lease)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse(out: Path) -> list[tuple[int, str, int, str]]:
    if not out.exists():
        return []
    rows = []
    for line in out.read_text().splitlines():
        row_id, key, seq, worker = line.split()
        rows.append((int(row_id), key, int(seq), worker))
    return rows


async def seed(url: str, keys: int, per_key: int, slow: tuple[str, int] | None = None,
               extra: dict | None = None) -> int:
    """`keys` x `per_key` rows; the row at `slow` (key, seq) gets `extra` ({"slow": True})."""
    engine = create_engine(url)
    try:
        effects = []
        for seq in range(per_key):
            for k in range(keys):
                special = (extra or {"slow": True}) if slow == (f"k{k}", seq) else {}
                effects.append(effect("test:ev", f"k{k}", seq=seq, **special))
        await add_rows(SqlUnitOfWorkFactory(engine), effects, SystemClock().now())
        return len(effects)
    finally:
        await engine.dispose()


async def seed_more(url: str) -> int:
    """The rest of k0 behind the stuck head, and an independent key k1."""
    engine = create_engine(url)
    try:
        effects = [effect("test:ev", "k0", seq=s) for s in (1, 2)]
        effects += [effect("test:ev", "k1", seq=s) for s in range(3)]
        await add_rows(SqlUnitOfWorkFactory(engine), effects, SystemClock().now())
        return len(effects)
    finally:
        await engine.dispose()


def wait_all(procs: list[subprocess.Popen], timeout: float) -> None:
    for p in procs:
        try:
            output, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            output, _ = p.communicate()
            pytest.fail(f"dispatcher process did not finish:\n{output}")
        assert p.returncode == 0, output


async def test_two_processes_never_share_a_row_and_keep_order(pg_url, tmp_path):
    total = await seed(pg_url, keys=8, per_key=20)
    out = tmp_path / "handled.log"
    procs = [spawn(pg_url, f"w{i}", out, lease=60) for i in range(2)]
    await asyncio.to_thread(wait_all, procs, 120)

    handled = parse(out)
    ids = [r[0] for r in handled]
    assert len(ids) == total and len(set(ids)) == total, "a row was handled twice or lost"
    per_key: dict[str, list[int]] = defaultdict(list)
    for _, key, seq, _ in handled:
        per_key[key].append(seq)
    assert all(seqs == list(range(20)) for seqs in per_key.values()), per_key
    assert {r[3] for r in handled} == {"w0", "w1"}, "both processes should have worked"


async def test_killed_worker_row_is_reclaimed_after_lease(db_url, tmp_path):
    # Only the slow head row exists while the doomed worker runs, so the kill always lands
    # inside its handler (delivery is at-least-once: a kill between a handler's side effect
    # and its completion would legitimately run that row again).
    total = await seed(db_url, keys=1, per_key=1, slow=("k0", 0))
    out = tmp_path / "handled.log"
    lease = 20.0
    proc = spawn(db_url, "doomed", out, lease=lease)
    started = Path(str(out) + ".started")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the slow handler never started"
        await asyncio.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    slow_id = int(started.read_text().split()[1])
    total += await seed_more(db_url)

    engine = create_engine(db_url)
    try:
        store = OutboxStore(engine)
        assert (await store.counts())["processing"] >= 1
        handled: list[tuple[int, str, int]] = []

        async def handler(row):
            handled.append((row.id, row.order_key, row.payload["seq"]))

        clock = FixedClock(SystemClock().now())
        d = Dispatcher(store, clock, "rescuer", {"test:ev": handler},
                       lease=timedelta(seconds=30))
        await d.drain()
        assert slow_id not in [h[0] for h in handled], "reclaimed before the lease ran out"
        assert [key for _, key, _ in handled] == ["k1"] * 3  # k0 waits behind its stuck head
        clock.advance(timedelta(seconds=lease + 1))  # the doomed worker's lease runs out
        await d.drain()
        counts = await store.counts()
    finally:
        await engine.dispose()

    before = [r[0] for r in parse(out)]
    after = [h[0] for h in handled]
    assert slow_id in after
    assert sorted(before + after) == sorted(set(before + after)), "a row ran twice"
    assert len(set(before + after)) == total
    assert counts["done"] == total and counts["pending"] == counts["processing"] == 0
    k0 = [seq for _, key, seq in handled if key == "k0"]
    assert k0 == [0, 1, 2]  # the rest of k0 waited behind the stuck head


def started_lines(out: Path) -> list[tuple[int, str]]:
    path = Path(str(out) + ".started")
    if not path.exists():
        return []
    return [(int(p[1]), p[2]) for p in (line.split() for line in path.read_text().splitlines())]


async def outbox_rows(url: str) -> dict[int, dict]:
    engine = create_engine(url)
    try:
        return {r["id"]: r for r in await OutboxStore(engine).rows(limit=1000)}
    finally:
        await engine.dispose()


async def test_a_row_that_kills_its_worker_three_times_is_failed(pg_url, tmp_path):
    await seed(pg_url, keys=1, per_key=3, slow=("k0", 0), extra={"poison": True})
    out = tmp_path / "handled.log"
    for n in range(3):  # each worker takes the poison row (after the last one's lease) and dies
        proc = spawn(pg_url, f"victim{n}", out, lease=1)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode == -signal.SIGKILL, output
    survivor = spawn(pg_url, "survivor", out, lease=1)
    await asyncio.to_thread(wait_all, [survivor], 120)

    started = started_lines(out)
    assert [w for _, w in started] == ["victim0", "victim1", "victim2"]  # never a 4th run
    poison_id = started[0][0]
    assert {i for i, _ in started} == {poison_id}
    failed = Path(str(out) + ".failed").read_text()
    assert failed == f"failed {poison_id} its handler stopped the worker 3 times\n"
    assert [(key, seq, w) for _, key, seq, w in parse(out)] == [
        ("k0", 1, "survivor"), ("k0", 2, "survivor")]  # the conversation's queue moved on
    row = (await outbox_rows(pg_url))[poison_id]
    assert (row["status"], row["crashes"], row["last_failure"]) == ("failed", 3, "crash")


async def test_a_handler_longer_than_its_lease_keeps_it_and_runs_once(pg_url, tmp_path):
    lease, runs_for = 1.5, 5.0  # the handler outlives three leases
    total = await seed(pg_url, keys=4, per_key=5, slow=("k0", 0), extra={"sleep": runs_for})
    out = tmp_path / "handled.log"
    first = spawn(pg_url, "first", out, lease=lease)
    deadline = time.monotonic() + 60
    while not started_lines(out):  # the long handler is running in `first`...
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "the long handler never started"
        await asyncio.sleep(0.05)
    second = spawn(pg_url, "second", out, lease=lease)  # ...while `second` polls for work
    await asyncio.to_thread(wait_all, [first, second], 120)

    [(long_id, runner)] = started_lines(out)
    assert runner == "first"
    handled = parse(out)
    ids = [r[0] for r in handled]
    assert len(ids) == total and len(set(ids)) == total, "a row ran twice or was lost"
    assert [w for i, _, _, w in handled if i == long_id] == ["first"]
    rows = await outbox_rows(pg_url)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert rows[long_id]["crashes"] == 0  # its lease never ran out
