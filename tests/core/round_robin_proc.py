"""One inbound process for the round-robin fairness test (run as a script, not collected).

    python round_robin_proc.py URL PREFIX COUNT

Receives COUNT WhatsApp messages from distinct senders (+34 PREFIX nnnn), each opening a
conversation that the rule assigns to the Billing team round robin.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.automation.contract import Assign, Automations, Rule, Trigger  # noqa: E402
from core.inbound import InboundMessage  # noqa: E402
from core.model import Channel  # noqa: E402
from core.usecases import Inbox  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tests.core.conftest import ACCOUNTS  # noqa: E402
from threadline.runtime import SystemClock  # noqa: E402

RULE = Rule("billing round robin", frozenset({Trigger.CONVERSATION_OPENED}),
            (Assign(team="Billing"),))


async def main(url: str, prefix: str, count: int) -> None:
    engine = create_engine(url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), SystemClock(), ACCOUNTS, ZoneInfo("UTC"),
                  automations=Automations((RULE,)))
    try:
        for n in range(count):
            await inbox.receive(InboundMessage(
                Channel.WHATSAPP, "wa", "whatsapp_cloud", f"wamid.{prefix}.{n}",
                f"+34{prefix}{n:04d}", "hola", datetime.now(UTC)))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
