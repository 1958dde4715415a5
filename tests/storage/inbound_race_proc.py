"""A webhook-like process for the inbound race tests (run as a script, not collected).

    python inbound_race_proc.py URL NAME OUT BARRIER SENDER[,SENDER...] [--same-id]

For round i (one per sender), waits at barrier key BARRIER+i (a shared PostgreSQL
advisory lock the test holds exclusively until every process waits there), then delivers
one WhatsApp message from sender i through the real use case and appends
"<i> ok <conversation id> <duplicate>" or "<i> error <exception>" to OUT (one O_APPEND
write per line). --same-id: every process uses the same provider id per round.

    python inbound_race_proc.py URL hold OUT SENDER

Holds the sender's contact lock in an open transaction, writes "locked" to OUT and
sleeps until killed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text  # noqa: E402

from core.clock import FixedClock  # noqa: E402
from core.inbound import InboundMessage  # noqa: E402
from core.model import Account, Channel  # noqa: E402
from core.usecases import Inbox  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tests.process_output import append  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNTS = {"wa": Account("wa", Channel.WHATSAPP, "whatsapp_cloud", "+34910000000", "Shop")}


async def deliver(url: str, name: str, out: str, barrier: int, senders: list[str],
                  same_id: bool) -> None:
    engine = create_engine(url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(NOW), ACCOUNTS, ZoneInfo("UTC"),
                  frontends=("slack",))
    try:
        async with engine.connect() as gate:  # its own connection: never the use case's
            await gate.execute(text("SELECT 1"))
            async with engine.connect() as warm:  # the use case's first connect is done
                await warm.execute(text("SELECT 1"))
            for i, sender in enumerate(senders):
                await gate.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": barrier + i})
                await gate.execute(text("SELECT pg_advisory_unlock_shared(:k)"),
                                   {"k": barrier + i})
                await gate.commit()
                mid = f"wamid.race.{i}" if same_id else f"wamid.{name}.{i}"
                try:
                    r = await inbox.receive(InboundMessage(
                        channel=Channel.WHATSAPP, account="wa", provider="whatsapp_cloud",
                        provider_message_id=mid, sender=sender, body=f"{name} {i}",
                        received_at=NOW, sender_name=name))
                except Exception as exc:  # reported, so the test shows every failure
                    detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
                    append(out, f"{i} error {detail}\n")
                else:
                    append(out, f"{i} ok {r.conversation_id} {r.duplicate}\n")
    finally:
        await engine.dispose()


async def hold(url: str, out: str, sender: str) -> None:
    from core.addresses import inbound_address
    from core.usecases.inbound import contact_lock

    engine = create_engine(url)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.lock(contact_lock(Channel.WHATSAPP, inbound_address(Channel.WHATSAPP,
                                                                      sender).address))
        append(out, "locked\n")
        await asyncio.sleep(3600)


if __name__ == "__main__":
    if sys.argv[2] == "hold":
        asyncio.run(hold(sys.argv[1], sys.argv[3], sys.argv[4]))
    else:
        url, name, out, barrier, senders = sys.argv[1:6]
        asyncio.run(deliver(url, name, out, int(barrier), senders.split(","),
                            "--same-id" in sys.argv[6:]))
