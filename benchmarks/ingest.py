"""Ingest benchmark: N inbound messages through the full use case vs. plain SQL inserts.

For each backend (SQLite, PostgreSQL) it runs, on fresh migrated databases:
  * use case — `Inbox.receive` for every message (dedupe, threading, reopen rules, outbox);
  * baseline — the same rows (contact, conversation insert or update, message, link, outbox)
    written with plain SQL and one commit per message, no reads, no domain logic.
and prints messages/s for both and their ratio (target >= 0.5).

    python -m benchmarks.ingest [-n 2000] [--conversations 400] [--pg-url URL]

Without --pg-url (or THREADLINE_BENCH_PG_URL) a throwaway PostgreSQL cluster is started
from the installed server binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Account, Channel
from core.usecases import Inbox
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACCOUNTS = {"wa": Account("wa", Channel.WHATSAPP, "whatsapp_cloud", "+34910000000")}


def workload(n: int, conversations: int) -> list[InboundMessage]:
    return [
        InboundMessage(
            channel=Channel.WHATSAPP,
            account="wa",
            provider="whatsapp_cloud",
            provider_message_id=f"wamid.bench.{i}",
            sender=f"+3460{(i % conversations):07d}",
            sender_name=f"Customer {i % conversations}",
            body=f"Hola, pregunta número {i} sobre el pedido A-{i % 97}",
            received_at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


async def run_use_case(url: str, messages: list[InboundMessage]) -> float:
    engine = create_engine(url)
    await upgrade(engine)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(T0), ACCOUNTS, ZoneInfo("UTC"),
                  frontends=("slack",))
    start = time.perf_counter()
    for msg in messages:
        await inbox.receive(msg)
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


async def run_baseline(url: str, messages: list[InboundMessage]) -> float:
    engine = create_engine(url)
    await upgrade(engine)
    pg = engine.dialect.name == "postgresql"
    js = "CAST(:{} AS JSONB)" if pg else ":{}"
    ins_contact = text(
        "INSERT INTO contacts (channel, address, name) VALUES (:ch, :addr, :name) RETURNING id"
    )
    ins_conv = text(
        "INSERT INTO conversations (channel, account, contact_id, status, "
        "last_customer_message_at, last_activity_at, created_at) "
        "VALUES (:ch, :acc, :contact, 'open', :at, :at, :at) RETURNING id"
    )
    upd_conv = text(
        "UPDATE conversations SET last_customer_message_at = :at, last_activity_at = :at "
        "WHERE id = :id"
    )
    ins_msg = text(
        "INSERT INTO messages (conversation_id, direction, kind, author_type, author_id, body, "
        "attachments, template_values, meta, created_at) VALUES (:conv, 'in', 'message', "
        f"'contact', :author, :body, {js.format('a')}, {js.format('t')}, {js.format('m')}, :at) "
        "RETURNING id"
    )
    ins_link = text(
        "INSERT INTO links (surface, external_id, conversation_id, message_id) "
        "VALUES ('whatsapp_cloud', :ext, :conv, :msg)"
    )
    ins_outbox = text(
        "INSERT INTO outbox (kind, order_key, payload, status, attempts, available_at, "
        f"created_at) VALUES (:kind, :key, {js.format('p')}, 'pending', 0, :at, :at)"
    )
    contacts: dict[str, int] = {}
    convs: dict[int, int] = {}
    start = time.perf_counter()
    for msg in messages:
        at = _naive(msg.received_at)
        async with engine.begin() as conn:  # one transaction and commit per message
            contact = contacts.get(msg.sender)
            if contact is None:
                contact = (await conn.execute(ins_contact, {
                    "ch": "whatsapp", "addr": msg.sender, "name": msg.sender_name,
                })).scalar_one()
                contacts[msg.sender] = contact
            conv = convs.get(contact)
            events = ["message_added"]
            if conv is None:
                conv = (await conn.execute(ins_conv, {
                    "ch": "whatsapp", "acc": "wa", "contact": contact, "at": at,
                })).scalar_one()
                convs[contact] = conv
                events.insert(0, "conversation_opened")
            else:
                await conn.execute(upd_conv, {"at": at, "id": conv})
            mid = (await conn.execute(ins_msg, {
                "conv": conv, "author": str(contact), "body": msg.body,
                "a": "[]", "t": "{}", "m": "{}", "at": at,
            })).scalar_one()
            await conn.execute(ins_link, {"ext": msg.provider_message_id, "conv": conv,
                                          "msg": mid})
            for event in events:
                payload = {"conversation_id": conv}
                if event == "message_added":
                    payload["message_id"] = mid
                await conn.execute(ins_outbox, {
                    "kind": f"slack:{event}", "key": f"slack:{conv}",
                    "p": json.dumps(payload), "at": at,
                })
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


async def fresh_pg_database(admin_url: str, name: str) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def bench(label: str, urls: tuple[str, str], messages: list[InboundMessage]) -> float:
    use_case = await run_use_case(urls[0], messages)
    baseline = await run_baseline(urls[1], messages)
    n = len(messages)
    ratio = baseline / use_case
    print(
        f"{label:<11} use case {n / use_case:8.0f} msg/s | baseline {n / baseline:8.0f} msg/s | "
        f"ratio {ratio:.2f} (target >= 0.5)"
    )
    return ratio


async def main_async(args: argparse.Namespace, pg_admin_url: str) -> None:
    messages = workload(args.n, args.conversations)
    print(f"{args.n} inbound messages over {args.conversations} conversations, "
          "one transaction each")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = tuple(f"sqlite+aiosqlite:///{Path(tmp) / name}.db" for name in ("uc", "base"))
        await bench("SQLite", sqlite, messages)
    pg = (
        await fresh_pg_database(pg_admin_url, "bench_use_case"),
        await fresh_pg_database(pg_admin_url, "bench_baseline"),
    )
    await bench("PostgreSQL", pg, messages)


def pg_admin_url(stack: ExitStack, given: str | None) -> str:
    """The PostgreSQL to benchmark on: the given URL, or a throwaway cluster."""
    if given:
        return given
    from tests.pg_cluster import PostgresCluster

    return stack.enter_context(PostgresCluster()).url


def run_cli(run, description: str) -> None:
    """-n / --conversations / --pg-url, then `run(args, pg_admin_url)` (the inbound
    benchmarks share these)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--pg-url", default=os.environ.get("THREADLINE_BENCH_PG_URL"))
    args = parser.parse_args()
    with ExitStack() as stack:
        asyncio.run(run(args, pg_admin_url(stack, args.pg_url)))


def main() -> None:
    run_cli(main_async, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
