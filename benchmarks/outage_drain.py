"""Outage drain benchmark: Slack rows queued during an outage, posted once Slack is back.

For each backend (SQLite, PostgreSQL) it runs the runtime's own dispatcher (production
settings: lease, batch, backoff, horizons) over 1,000 `slack:bench` rows on 60 order keys;
their handler posts through the Slack gateway and ChannelPacer the mirror uses, to a fake
Slack on a loopback socket that enforces the same per-channel rate:
  * floor — Slack up throughout: the time to post every row at the pace;
  * outage — Slack answers 503 while the rows are queued and for --outage seconds (the
    heads of the 60 keys fail and back off), then comes back: the time from recovery
    until every row is done.
and prints both and their ratio (target <= 1.2), with losses, duplicates and per-key order
violations (all must be 0). `--without-wake` adds a run with the wake-on-success switched
off, i.e. the jittered backoff alone.

    python -m benchmarks.outage_drain [--rows 1000] [--keys 60] [--rate 50] [--burst 5]
                                      [--outage 20] [--without-wake] [--pg-url URL]

Without --pg-url (or THREADLINE_BENCH_PG_URL) a throwaway PostgreSQL cluster is started
from the installed server binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.ingest import fresh_pg_database, pg_admin_url
from bot.slack.gateway import SlackGateway
from bot.slack.pacing import ChannelPacer
from core.effects import Effect
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.fakes.slack_api import FakeSlack
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

CHANNEL = "C0OUTAGE"
KIND = "slack:bench"
TOKEN = "xoxb-bench"


async def run(url: str, files: str, args, outage: float | None, wake: bool = True) -> dict:
    """One drain on a fresh database; `outage` None: Slack is up from the start."""
    engine = create_engine(url)
    await upgrade(engine)
    settings = Settings(_env_file=None, THREADLINE_DATABASE_URL=url, THREADLINE_FILES_DIR=files)
    runtime = Runtime(settings, ThreadlineConfig(), engine=engine)
    if not wake:
        async def no_wake(target, now) -> int:
            return 0

        runtime.outbox.wake = no_wake
    posted: dict[str, list[int]] = {}
    async with FakeSlack(token=TOKEN) as slack:
        slack.set_channel_rate(per_second=args.rate, burst=args.burst,
                               fractional_retry_after=True)
        client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
        seconds = lambda: runtime.clock.now().timestamp()  # noqa: E731  (as the mirror does)
        gateway = SlackGateway(client, ChannelPacer(args.rate, args.burst, seconds=seconds))

        async def post(row) -> None:
            key, seq = row.order_key, row.payload["seq"]
            await gateway.post(CHANNEL, text=f"msg {key} {seq}")
            posted.setdefault(key, []).append(seq)

        runtime.dispatcher.register(KIND, post)
        slack.set_down(outage is not None)
        async with runtime.uow_factory() as uow:
            for n in range(args.rows):
                key = f"slack:{n % args.keys}"
                await uow.outbox.add(Effect(KIND, key, {"seq": n // args.keys}),
                                     runtime.clock.now())
            await uow.commit()
        stop = asyncio.Event()
        loop = asyncio.create_task(runtime.dispatcher.run_forever(
            stop, settings.dispatch_idle_seconds))
        if outage is not None:
            await asyncio.sleep(outage)
            failed_calls = len(slack.calls("chat.postMessage"))
            slack.set_down(False)
        start = time.perf_counter()
        while (await runtime.outbox.counts())["done"] < args.rows:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - start
        stop.set()
        await loop
        counts = await runtime.outbox.counts()
        limited = slack.rate_limited_count
    await runtime.close()
    await engine.dispose()
    delivered = {(key, seq) for key, seqs in posted.items() for seq in seqs}
    return {
        "elapsed": elapsed, "failed_rows": counts["failed"], "rate_limited": limited,
        "failed_calls": failed_calls if outage is not None else 0,
        "losses": args.rows - len(delivered),
        "duplicates": sum(map(len, posted.values())) - len(delivered),
        "order_violations": sum(seqs != sorted(seqs) for seqs in posted.values()),
    }


def report(label: str, what: str, r: dict) -> None:
    print(f"  {label:<11} {what:<22} {r['elapsed']:6.2f} s | 429s {r['rate_limited']:4d} | "
          f"losses {r['losses']} | duplicates {r['duplicates']} | order violations "
          f"{r['order_violations']} | failed rows {r['failed_rows']}")


async def bench(label: str, urls: list[str], files: str, args) -> None:
    floor = await run(urls[0], files, args, None)
    report(label, "floor (no outage)", floor)
    drain = await run(urls[1], files, args, args.outage)
    report(label, "drain after recovery", drain)
    print(f"  {label:<11} ratio {drain['elapsed'] / floor['elapsed']:.2f} (target <= 1.2); "
          f"{drain['failed_calls']} posts refused during the {args.outage:g} s outage")
    if args.without_wake:
        plain = await run(urls[2], files, args, args.outage, wake=False)
        report(label, "drain, no wake", plain)
        print(f"  {label:<11} ratio without the wake {plain['elapsed'] / floor['elapsed']:.2f}")


async def main_async(args, admin_url: str) -> None:
    print(f"{args.rows} Slack rows over {args.keys} order keys, one channel paced at "
          f"{args.rate:g} posts/s (burst {args.burst}); theoretical floor "
          f"{(args.rows - args.burst) / args.rate:.1f} s")
    names = ("floor", "drain", "nowake")
    with tempfile.TemporaryDirectory() as tmp:
        files = str(Path(tmp) / "files")
        await bench("SQLite", [f"sqlite+aiosqlite:///{Path(tmp) / n}.db" for n in names],
                    files, args)
        pg = [await fresh_pg_database(admin_url, f"bench_outage_{n}") for n in names]
        await bench("PostgreSQL", pg, files, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--outage", type=float, default=20.0)
    parser.add_argument("--without-wake", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("THREADLINE_BENCH_PG_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("threadline").setLevel(logging.ERROR)  # one warning per retry otherwise
    with ExitStack() as stack:
        asyncio.run(main_async(args, pg_admin_url(stack, args.pg_url)))


if __name__ == "__main__":
    main()
