"""A dispatcher process for the multi-process tests (run as a script, not collected).

    python dispatch_proc.py URL WORKER_ID OUT_FILE LEASE_SECONDS

Handles kind "test:ev": appends "<row id> <order_key> <seq> <worker>" to OUT_FILE (one
O_APPEND write per line, so lines from several processes never interleave). A row whose
payload has "slow" writes "started <id> <worker>" to OUT_FILE.started and then hangs; with
"sleep": N it does the same, sleeps N seconds and then finishes normally; with "poison"
it writes the started line and SIGKILLs its own process (like the OOM killer would).
Permanent failures append "failed <id> <error>" to OUT_FILE.failed.
Exits when no row is pending or processing.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage.engine import create_engine  # noqa: E402
from storage.outbox_store import OutboxStore  # noqa: E402
from tests.process_output import append  # noqa: E402
from threadline.dispatcher import Dispatcher  # noqa: E402
from threadline.runtime import SystemClock  # noqa: E402


async def main(url: str, worker: str, out: str, lease: float) -> None:
    engine = create_engine(url)
    store = OutboxStore(engine)

    async def handler(row) -> None:
        if row.payload.get("slow") or row.payload.get("sleep") or row.payload.get("poison"):
            append(out + ".started", f"started {row.id} {worker}\n")
        if row.payload.get("poison"):
            os.kill(os.getpid(), signal.SIGKILL)
        if row.payload.get("slow"):
            await asyncio.sleep(3600)
        await asyncio.sleep(row.payload.get("sleep") or random.uniform(0, 0.005))
        append(out, f"{row.id} {row.order_key} {row.payload['seq']} {worker}\n")

    async def on_failure(row, error) -> None:
        append(out + ".failed", f"failed {row.id} {error.text}\n")

    d = Dispatcher(store, SystemClock(), worker, lease=timedelta(seconds=lease), batch=4)
    d.register("test:ev", handler, on_failure)
    try:
        while True:
            if await d.run_once():
                continue
            counts = await store.counts()
            if counts["pending"] == 0 and counts["processing"] == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, worker, out, lease = sys.argv[1:5]
    asyncio.run(main(url, worker, out, float(lease)))
