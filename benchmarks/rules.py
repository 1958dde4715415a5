"""Rules benchmark: the inbound use case with 50 rules configured vs with none.

The same messages go through `Inbox.receive` twice on fresh migrated databases: once with
no rules at all (not even the built-in one), once with 50 rules of the kinds support teams
write (keyword and channel matches that tag, tag triggers, a catch-all that tags every
conversation about an order, an opening rule for email, a no_reply timer) and business
hours. Prints messages/s for both and the ratio (target >= 0.8). Each side runs twice,
interleaved, and keeps its best run, so a slow moment of the machine hits both.

    python -m benchmarks.rules [-n 2000] [--conversations 400] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.ingest import ACCOUNTS, T0, fresh_pg_database, run_cli, workload
from core.automation.contract import (
    AddTags,
    Automations,
    Conditions,
    Notify,
    Rule,
    Trigger,
    urgent_ping_rule,
)
from core.business_hours import BusinessHours
from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Channel, Role
from core.usecases import Inbox
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

MADRID = ZoneInfo("Europe/Madrid")
WORDS = ["factura", "invoice", "devolución", "refund", "garantía", "warranty", "roto",
         "broken", "envío", "shipping", "precio", "price", "descuento", "discount", "cita",
         "appointment", "queja", "complaint", "abogado", "lawyer", "cancelar", "cancel",
         "urgente", "asap", "presupuesto", "quote", "catálogo", "catalogue", "stock",
         "recambio", "spare", "tarifa", "rate", "horario", "hours", "dirección", "address",
         "pago", "payment", "transferencia"]


def fifty_rules() -> Automations:
    rules: list[Rule] = [urgent_ping_rule()]
    message = frozenset({Trigger.MESSAGE_RECEIVED})
    for i, word in enumerate(WORDS[:39]):  # keyword rules; the workload matches none
        rules.append(Rule(f"keyword {word}", message, (AddTags((f"kw-{i}",)),), Conditions(
            channel=frozenset({Channel.WHATSAPP if i % 2 else Channel.EMAIL}),
            text_matches=re.compile(rf"(?i)\b{word}\b"), tags_none=frozenset({"spam"}))))
    for i in range(5):  # tag triggers
        rules.append(Rule(f"on kw-{i}", frozenset({Trigger.TAG_ADDED}),
                          (Notify(role=Role.MANAGER),), Conditions(tag=frozenset({f"kw-{i}"}))))
    rules.append(Rule("orders", message, (AddTags(("pedido",)),),  # matches every message
                      Conditions(text_matches=re.compile(r"(?i)pedido"))))
    rules.append(Rule("email welcome", frozenset({Trigger.CONVERSATION_OPENED}),
                      (AddTags(("new",)),), Conditions(channel=frozenset({Channel.EMAIL}))))
    rules.append(Rule("after hours", message, (AddTags(("after-hours",)),),
                      Conditions(business_hours=False, account=frozenset({"mail"}))))
    rules.append(Rule("vip", message, (AddTags(("vip-seen",)),),
                      Conditions(tags_any=frozenset({"vip"}), contact_is_customer=True)))
    rules.append(Rule("chase", frozenset({Trigger.NO_REPLY}), (Notify(role=Role.MANAGER),),
                      after=timedelta(hours=4)))
    assert len(rules) == 50
    hours = BusinessHours.from_ranges(MADRID, {d: ["09:00-18:00"] for d in (
        "monday", "tuesday", "wednesday", "thursday", "friday")})
    return Automations(tuple(rules), (), hours)


async def run(url: str, messages: list[InboundMessage], automations: Automations) -> float:
    engine = create_engine(url)
    await upgrade(engine)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(T0), ACCOUNTS, MADRID,
                  frontends=("slack",), automations=automations)
    start = time.perf_counter()
    for msg in messages:
        await inbox.receive(msg)
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


async def bench(label: str, fresh_url, messages: list[InboundMessage]) -> float:
    none, rules = Automations(()), fifty_rules()
    best = {"none": float("inf"), "rules": float("inf")}
    for round_ in range(2):
        for name, automations in (("none", none), ("rules", rules)):
            url = await fresh_url(f"{name}_{round_}")
            best[name] = min(best[name], await run(url, messages, automations))
    n, ratio = len(messages), best["none"] / best["rules"]
    print(f"{label:<11} 50 rules {n / best['rules']:8.0f} msg/s | no rules "
          f"{n / best['none']:8.0f} msg/s | ratio {ratio:.2f} (target >= 0.8)")
    return ratio


async def main_async(args: argparse.Namespace, pg_admin: str) -> None:
    messages = workload(args.n, args.conversations)
    print(f"{args.n} inbound messages over {args.conversations} conversations, "
          "one transaction each")
    with tempfile.TemporaryDirectory() as tmp:
        async def sqlite(name: str) -> str:
            return f"sqlite+aiosqlite:///{Path(tmp) / name}.db"

        await bench("SQLite", sqlite, messages)

    async def pg(name: str) -> str:
        return await fresh_pg_database(pg_admin, f"bench_rules_{name}")

    await bench("PostgreSQL", pg, messages)


def main() -> None:
    run_cli(main_async, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
