"""Webhook ingest benchmark: signed Meta webhooks over HTTP into the running app.

For each backend (SQLite, PostgreSQL) it starts the real FastAPI app under uvicorn on a
loopback port, posts N signed WhatsApp deliveries (one text message each) with a concurrent
httpx client, and prints messages/s and p50/p99 latency to the 200 next to the raw
insert+commit baseline (benchmarks.ingest.run_baseline) of the same store, same run.

    python -m benchmarks.webhook_ingest [-n 1000] [--conversations 200] [--concurrency 16]
                                        [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn

from benchmarks.ingest import T0, fresh_pg_database, pg_admin_url, run_baseline, workload
from storage.migrate import upgrade
from tests.bridges.whatsapp.payloads import change, delivery, message, signed_meta
from threadline.app import create_app
from threadline.config import parse_config
from threadline.runtime import Runtime
from threadline.settings import Settings

SECRET = "bench-app-secret"
PHONE_ID = "106540352242922"


def payloads(n: int, conversations: int) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(n):
        sender = f"3460{(i % conversations):07d}"
        ts = str(int((T0 + timedelta(seconds=i)).timestamp()))
        msg = message("text", {"body": f"Hola, pregunta número {i}"}, wamid=f"wamid.bench.{i}",
                      sender=sender, ts=ts)
        out.append(signed_meta(SECRET, delivery(change([msg], phone_id=PHONE_ID,
                                                       sender=sender, name=f"Customer {i}"))))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_webhooks(url: str, files: str, bodies, concurrency: int) -> tuple[float, list]:
    await upgrade(url)
    settings = Settings(_env_file=None, THREADLINE_DATABASE_URL=url, THREADLINE_FILES_DIR=files,
                        WHATSAPP_CLOUD_TOKEN="t", WHATSAPP_CLOUD_APP_SECRET=SECRET,
                        WHATSAPP_CLOUD_VERIFY_TOKEN="v", WHATSAPP_CLOUD_PHONE_NUMBER_ID=PHONE_ID,
                        WHATSAPP_GRAPH_URL="http://127.0.0.1:9")
    config = parse_config({"accounts": [{"id": "wa", "channel": "whatsapp",
                                         "provider": "whatsapp_cloud", "address": PHONE_ID}]})
    runtime = Runtime(settings, config)
    app = create_app(settings, runtime, start_workers=False, close_runtime=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    latencies: list[float] = []
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                 timeout=60) as client:
        async def worker() -> None:
            while queue:
                body, headers = queue.pop()
                t = time.perf_counter()
                r = await client.post("/webhooks/whatsapp", content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200 or json.loads(r.content)["stored"] != 1:
                    raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    server.should_exit = True
    await serving
    return elapsed, latencies


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


async def bench(label: str, urls: tuple[str, str], files: str, args) -> None:
    bodies = payloads(args.n, args.conversations)
    elapsed, lat = await run_webhooks(urls[0], files, bodies, args.concurrency)
    baseline = await run_baseline(urls[1], workload(args.n, args.conversations))
    rate, base = args.n / elapsed, args.n / baseline
    print(f"{label:<11} webhooks {rate:7.0f} msg/s | baseline {base:7.0f} msg/s | "
          f"ratio {rate / base:.2f} | p50 {_pct(lat, 50):6.1f} ms | p99 {_pct(lat, 99):6.1f} ms")


async def main_async(args, pg_admin_url: str) -> None:
    print(f"{args.n} signed Meta webhooks (one message each) over {args.conversations} "
          f"conversations, {args.concurrency} in flight")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = tuple(f"sqlite+aiosqlite:///{Path(tmp) / n}.db" for n in ("hooks", "base"))
        await bench("SQLite", sqlite, str(Path(tmp) / "files"), args)
        pg = (await fresh_pg_database(pg_admin_url, "bench_webhooks"),
              await fresh_pg_database(pg_admin_url, "bench_webhooks_base"))
        await bench("PostgreSQL", pg, str(Path(tmp) / "files"), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg-url", default=os.environ.get("THREADLINE_BENCH_PG_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with ExitStack() as stack:
        asyncio.run(main_async(args, pg_admin_url(stack, args.pg_url)))


if __name__ == "__main__":
    main()
