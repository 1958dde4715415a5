"""Meta delivery benchmark: one signed webhook carrying 50 messages, batched vs one by one.

For each backend (SQLite, PostgreSQL) it starts the real app on a fresh migrated database
and posts --rounds signed Meta deliveries of --messages text messages each (over
--contacts senders, half of them new in each round) to /webhooks/whatsapp, in process
(ASGI), and times each delivery to its 200:
  * batch — the webhook as shipped: the delivery's messages in one transaction
    (`Inbox.receive_many`);
  * per message — the same webhook with `Inbox.receive` called for each message, one
    transaction each (the path before batching), on its own fresh database.
It prints the median and worst delivery time of both and their ratio, measured in the same
run. A warm-up delivery on each database is not counted.

    python -m benchmarks.meta_delivery [--messages 50] [--contacts 20] [--rounds 7]
                                       [--pg-url URL]

Without --pg-url (or THREADLINE_BENCH_PG_URL) a throwaway PostgreSQL cluster is started
from the installed server binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx

from benchmarks.ingest import T0, fresh_pg_database, pg_admin_url
from core.errors import InvalidInput
from storage.migrate import upgrade
from tests.bridges.whatsapp.payloads import change, delivery, message, signed_meta
from threadline.app import create_app
from threadline.config import parse_config
from threadline.runtime import Runtime
from threadline.settings import Settings

SECRET = "bench-app-secret"
PHONE_ID = "106540352242922"


def deliveries(args) -> list[tuple[bytes, dict[str, str]]]:
    """Round r: messages from the first half of the contacts (known after round 0) and
    from contacts new in that round; one change per sender, as Meta groups them."""
    out = []
    for r in range(args.rounds + 1):  # + the warm-up
        by_sender: dict[str, list[dict]] = {}
        for i in range(args.messages):
            k = i % args.contacts
            sender = f"3460{k:07d}" if k < args.contacts // 2 else f"3461{r:03d}{k:04d}"
            ts = str(int((T0 + timedelta(minutes=r, seconds=i)).timestamp()))
            by_sender.setdefault(sender, []).append(message(
                "text", {"body": f"Hola, mensaje {i} de la ronda {r}"},
                wamid=f"wamid.bench.{r}.{i}", sender=sender, ts=ts))
        out.append(signed_meta(SECRET, delivery(*[
            change(msgs, phone_id=PHONE_ID, sender=s, name=f"Customer {s}")
            for s, msgs in by_sender.items()])))
    return out


async def run(url: str, files: str, bodies, batched: bool, messages: int) -> list[float]:
    await upgrade(url)
    settings = Settings(_env_file=None, THREADLINE_DATABASE_URL=url, THREADLINE_FILES_DIR=files,
                        WHATSAPP_CLOUD_TOKEN="t", WHATSAPP_CLOUD_APP_SECRET=SECRET,
                        WHATSAPP_CLOUD_VERIFY_TOKEN="v", WHATSAPP_CLOUD_PHONE_NUMBER_ID=PHONE_ID,
                        WHATSAPP_GRAPH_URL="http://127.0.0.1:9")
    config = parse_config({"accounts": [{"id": "wa", "channel": "whatsapp",
                                         "provider": "whatsapp_cloud", "address": PHONE_ID}]})
    runtime = Runtime(settings, config)
    if not batched:
        webhook = next(i for i in runtime.integrations if i.name == "whatsapp_cloud").bridge.webhook

        async def one_by_one(inbound):
            out = []
            for msg in inbound:
                try:
                    out.append(await runtime.inbox.receive(msg))
                except InvalidInput as exc:
                    out.append(exc)
            return out

        webhook.receive_many = one_by_one
    app = create_app(settings, runtime, start_workers=False)
    times = []
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench", timeout=120) as client:
            for body, headers in bodies:
                start = time.perf_counter()
                r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
                times.append(time.perf_counter() - start)
                if r.status_code != 200 or r.json()["stored"] != messages:
                    raise RuntimeError(f"webhook answered {r.status_code}: {r.text[:300]}")
    finally:
        await runtime.close()
    return times[1:]  # without the warm-up


async def bench(label: str, urls: tuple[str, str], files: str, args) -> None:
    bodies = deliveries(args)
    batch = await run(urls[0], files, bodies, True, args.messages)
    single = await run(urls[1], files, bodies, False, args.messages)
    b, s = statistics.median(batch), statistics.median(single)
    print(f"  {label:<11} batch {b * 1000:7.1f} ms (worst {max(batch) * 1000:7.1f}) | "
          f"per message {s * 1000:7.1f} ms (worst {max(single) * 1000:7.1f}) | "
          f"per message / batch {s / b:5.1f}x")


async def main_async(args, admin_url: str) -> None:
    print(f"one signed Meta delivery of {args.messages} text messages from {args.contacts} "
          f"senders, median of {args.rounds} deliveries")
    with tempfile.TemporaryDirectory() as tmp:
        files = str(Path(tmp) / "files")
        await bench("SQLite", tuple(f"sqlite+aiosqlite:///{Path(tmp) / n}.db"
                                    for n in ("batch", "single")), files, args)
        pg = (await fresh_pg_database(admin_url, "bench_meta_batch"),
              await fresh_pg_database(admin_url, "bench_meta_single"))
        await bench("PostgreSQL", pg, files, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pg-url", default=os.environ.get("THREADLINE_BENCH_PG_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with ExitStack() as stack:
        asyncio.run(main_async(args, pg_admin_url(stack, args.pg_url)))


if __name__ == "__main__":
    main()
