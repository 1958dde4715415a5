"""Races on one message between processes, on PostgreSQL (SQLite's BEGIN IMMEDIATE would
hide them): a send against Undo, and a multi-part send against status reports and
reactions. Each side runs in its own process and they hit the same message together."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Actor, Channel, DeliveryStatus, MessageKind
from core.usecases import Inbox
from storage.engine import create_engine
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.message_race_proc import ACCOUNTS, SURFACE, T0

pytestmark = pytest.mark.only_backend("postgresql")
SCRIPT = Path(__file__).with_name("message_race_proc.py")
RACES = 25


async def queued_replies(url: str, n: int, parts: bool = False) -> list[int]:
    engine = create_engine(url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(T0), ACCOUNTS, ZoneInfo("UTC"))
    try:
        ids = []
        for i in range(n):
            r = await inbox.receive(InboundMessage(
                Channel.WHATSAPP, "wa", "whatsapp_cloud", f"wamid.in{i}", f"+3460011{i:04d}",
                "hola", T0))
            reply = await inbox.reply(r.conversation_id, f"respuesta {i}", Actor.system(),
                                      delay=timedelta(minutes=10))
            if parts:
                await inbox.record_sent_part(reply.id, SURFACE, f"p{reply.id}.1")
            ids.append(reply.id)
        return ids
    finally:
        await engine.dispose()


async def messages(url: str, ids: list[int]):
    engine = create_engine(url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(T0), ACCOUNTS, ZoneInfo("UTC"))
    try:
        return {i: await inbox.message(i) for i in ids}
    finally:
        await engine.dispose()


def race(url: str, roles: tuple[str, str], ids: list[int], tmp_path: Path) -> list[str]:
    out = tmp_path / "race.out"
    start = time.time() + 2.0  # both processes are up and connected by then
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), url, role, str(out), str(start),
                               *map(str, ids)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for role in roles]
    for proc in procs:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
    return out.read_text().splitlines() if out.exists() else []


def test_undo_and_the_send_never_both_win(db_url, tmp_path):
    ids = asyncio.run(queued_replies(db_url, RACES))
    lines = race(db_url, ("send", "undo"), ids, tmp_path)
    stored = asyncio.run(messages(db_url, ids))
    for mid in ids:
        sent, withdrawn = f"sent {mid}" in lines, f"withdrawn {mid}" in lines
        assert sent != withdrawn, (mid, lines)  # exactly one side won
        message = stored[mid]
        if sent:  # staff were told it was too late, and the thread says it was sent
            assert f"late {mid}" in lines and message.delivery_status is DeliveryStatus.SENT
        else:  # withdrawn: the customer never got it
            assert message.kind is MessageKind.NOTE and message.meta.get("withdrawn")


def test_parts_reports_and_reactions_all_survive_each_other(db_url, tmp_path):
    ids = asyncio.run(queued_replies(db_url, 6, parts=True))
    race(db_url, ("parts", "reports"), ids, tmp_path)
    for mid, message in asyncio.run(messages(db_url, ids)).items():
        assert message.meta["sent_parts"] == [f"p{mid}.{k}" for k in range(1, 22)]
        assert len(message.meta["reactions"]) == 20  # one per actor, none lost
        assert message.delivery_status is DeliveryStatus.READ
