"""Several dispatcher processes share one outbox: no row twice, per-key order kept, and a
killed worker's row is reclaimed after its lease."""

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


async def seed(url: str, keys: int, per_key: int, slow: tuple[str, int] | None = None) -> int:
    engine = create_engine(url)
    try:
        effects = []
        for seq in range(per_key):
            for k in range(keys):
                extra = {"slow": True} if slow == (f"k{k}", seq) else {}
                effects.append(effect("test:ev", f"k{k}", seq=seq, **extra))
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
