"""One side of a race on a message, run as its own process (not collected).

    python message_race_proc.py URL ROLE OUT_FILE START_EPOCH MESSAGE_ID...

ROLE is one of:
  send      begin_send each message (the send handler's first step) and, when it may send,
            "calls the provider" (appends "sent <id>") and records the send
  undo      withdraw each message (staff clicking Undo)
  parts     record 20 more sent parts (p2..p21) of each message, one transaction each
  reports   record reactions (one actor per turn) and delivery reports on part p1
Message i is raced at START_EPOCH + i * STEP, so both processes hit it together.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.clock import FixedClock  # noqa: E402
from core.errors import TooLateToChange  # noqa: E402
from core.model import Account, Actor, Channel, DeliveryStatus  # noqa: E402
from core.usecases import Inbox  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tests.process_output import append  # noqa: E402

STEP = 0.08
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNTS = {"wa": Account("wa", Channel.WHATSAPP, "whatsapp_cloud", "+34910000000")}
SURFACE = "whatsapp_cloud"


async def main(url: str, role: str, out: str, start: float, ids: list[int]) -> None:
    engine = create_engine(url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(T0), ACCOUNTS, ZoneInfo("UTC"))
    try:
        for n, mid in enumerate(ids):
            delay = start + n * STEP - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if role == "send":
                ctx = await inbox.begin_send(mid)
                if ctx is not None:
                    append(out, f"sent {mid}\n")  # the provider accepted it
                    await inbox.mark_sent(mid, SURFACE, f"wamid.{mid}")
            elif role == "undo":
                try:
                    await inbox.withdraw_reply(mid, Actor.system())
                    append(out, f"withdrawn {mid}\n")
                except TooLateToChange:
                    append(out, f"late {mid}\n")
            elif role == "parts":
                for k in range(2, 22):
                    await inbox.record_sent_part(mid, SURFACE, f"p{mid}.{k}")
            elif role == "reports":
                for k in range(20):
                    at = T0 + timedelta(seconds=k)
                    await inbox.react(SURFACE, f"p{mid}.1", "👍", f"r{k}", at)
                    status = (DeliveryStatus.DELIVERED, DeliveryStatus.READ)[k % 2]
                    await inbox.record_delivery_by_provider_id(SURFACE, f"p{mid}.1", status)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, role, out, start = sys.argv[1:5]
    asyncio.run(main(url, role, out, float(start), [int(i) for i in sys.argv[5:]]))
