"""receive_many on PostgreSQL when a concurrent delivery of the same provider id holds it
under another sender's lock: the batch's claim waits, loses, and the batch runs again,
finding the winner's link; nothing of the first attempt stays."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from core.clock import FixedClock
from core.ports import Link
from core.usecases import Inbox
from tests.core.conftest import ACCOUNTS, T0, wa_msg
from tests.storage.test_inbound_race import DEADLINE, until

_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'")


async def rows(engine, table: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


@pytest.mark.only_backend("postgresql")
async def test_a_claim_lost_to_another_sender_runs_the_batch_again(uow_factory, engine):
    inbox = Inbox(uow_factory, FixedClock(T0), ACCOUNTS, ZoneInfo("Europe/Madrid"))
    async with uow_factory() as holder:
        # The other delivery: same wamid, claimed under another sender's lock, uncommitted.
        assert await holder.links.claim(Link("whatsapp_cloud", "wamid.X", 999, 998))
        task = asyncio.create_task(inbox.receive_many([
            wa_msg("mine", sender="+34600111222", mid="wamid.A"),
            wa_msg("contested", sender="+34600333444", mid="wamid.X"),
        ]))

        async def waiting() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(_WAITING)).scalar_one() >= 1
        await until(waiting, "the batch's claim waits for the holder")
        await holder.commit()
    mine, contested = await asyncio.wait_for(task, DEADLINE)
    assert not mine.duplicate
    assert contested.duplicate and (contested.conversation_id, contested.message_id) == (
        999, 998)
    # The first attempt (contact, conversation, message of the contested one) is gone.
    assert await rows(engine, "messages") == 1
    assert await rows(engine, "contacts") == 1 and await rows(engine, "conversations") == 1
    assert [m.body for m in await inbox.thread(mine.conversation_id)] == ["mine"]
