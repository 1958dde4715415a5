"""Concurrent deliveries from one person, on PostgreSQL with several processes: the
unit of work's lock serialises "find or create the contact, find or open the
conversation", so two first messages at once give one contact and one open conversation.
SQLite's BEGIN IMMEDIATE serialises whole transactions already, so races only show here."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Account, Actor, Channel, Contact
from core.usecases import Inbox
from storage.engine import create_engine
from storage.tables import contacts, conversations, messages
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.inbound_race_proc import NOW

SCRIPT = Path(__file__).with_name("inbound_race_proc.py")
ROUNDS = 20  # one new sender per round; before the lock most rounds raced
ACCOUNTS = {"wa": Account("wa", Channel.WHATSAPP, "whatsapp_cloud", "+34910000000", "Shop")}
DEADLINE = 120  # seconds: only guards against a hang, never decides a result

# Advisory locks of this test's database only (the server is shared).
_ADVISORY = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
             " (SELECT oid FROM pg_database WHERE datname = current_database())")
_WAITING = text(_ADVISORY + " AND NOT granted AND classid::bigint = 0"
                " AND objid::bigint = :k AND objsubid = 1")
_ANY_WAITING = text(_ADVISORY + " AND NOT granted")


def senders(prefix: str = "+3460011") -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(ROUNDS)]


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            output, _ = p.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            p.kill()
            output, _ = p.communicate()
            pytest.fail(f"delivery process did not finish:\n{output}")
        assert p.returncode == 0, output


async def until(condition, what: str, procs: list[subprocess.Popen] = ()) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await condition():
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"a process ended while {what}:\n{p.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        await asyncio.sleep(0.01)


async def race(url: str, tmp_path: Path, numbers: list[str], same_id: bool = False) -> list:
    """Two processes deliver round by round; each round starts for both at once."""
    out = tmp_path / "race.log"
    base = random.randrange(1 << 20, 1 << 30)
    engine = create_engine(url)
    procs: list[subprocess.Popen] = []
    try:
        async with engine.connect() as gate:
            for i in range(len(numbers)):
                await gate.execute(text("SELECT pg_advisory_lock(:k)"), {"k": base + i})
            await gate.commit()
            extra = ["--same-id"] if same_id else []
            procs = [spawn(url, f"p{n}", str(out), str(base), ",".join(numbers), *extra)
                     for n in range(2)]
            for i in range(len(numbers)):
                async def both_wait(k=base + i) -> bool:
                    waiting = (await gate.execute(_WAITING, {"k": k})).scalar_one()
                    await gate.commit()
                    return waiting == 2
                await until(both_wait, f"both processes reach round {i}", procs)
                await gate.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": base + i})
                await gate.commit()
    finally:
        await engine.dispose()
        await asyncio.to_thread(finish, procs)
    return [line.split(" ", 2) for line in out.read_text().splitlines()]


async def open_conversations(url: str, address: str) -> list[tuple[int, list[str]]]:
    """(conversation id, inbound bodies) of the address's unresolved conversations."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            ids = (await conn.execute(
                select(conversations.c.id)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .where(contacts.c.address == address, conversations.c.status != "resolved")
            )).scalars().all()
            found = []
            for conv_id in sorted(ids):
                bodies = (await conn.execute(
                    select(messages.c.body).where(messages.c.conversation_id == conv_id,
                                                  messages.c.direction == "in")
                )).scalars().all()
                found.append((conv_id, sorted(bodies)))
            return found
    finally:
        await engine.dispose()


def assert_one_conversation_each(lines: list, found: dict[str, list]) -> None:
    errors = [" ".join(line) for line in lines if line[1] != "ok"]
    assert not errors, f"{len(errors)} deliveries failed: {errors[:3]}"
    assert len(lines) == 2 * ROUNDS
    raced = {n: convs for n, convs in found.items() if len(convs) != 1}
    assert not raced, f"{len(raced)} of {ROUNDS} contacts got {raced}"
    for i, (n, convs) in enumerate(sorted(found.items())):
        assert convs[0][1] == [f"p0 {i}", f"p1 {i}"], (n, convs)


async def test_two_first_messages_of_a_new_contact_open_one_conversation(pg_url, tmp_path):
    numbers = senders()
    lines = await race(pg_url, tmp_path, numbers)
    found = {n: await open_conversations(pg_url, n) for n in numbers}
    assert_one_conversation_each(lines, found)
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            count = select(func.count()).select_from(contacts)
            assert (await conn.execute(count)).scalar_one() == ROUNDS  # one contact each
    finally:
        await engine.dispose()


async def test_two_messages_after_a_long_resolved_conversation_open_one(pg_url, tmp_path):
    numbers = senders("+3460012")
    engine = create_engine(pg_url)
    old = NOW - timedelta(days=30)
    try:
        inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(old), ACCOUNTS,
                      ZoneInfo("UTC"))
        for n in numbers:
            r = await inbox.receive(InboundMessage(
                Channel.WHATSAPP, "wa", "whatsapp_cloud", f"wamid.old.{n}", n, "old",
                old, sender_name="Ana"))
            await inbox.resolve(r.conversation_id, Actor.system())
    finally:
        await engine.dispose()
    lines = await race(pg_url, tmp_path, numbers)
    found = {n: await open_conversations(pg_url, n) for n in numbers}
    assert_one_conversation_each(lines, found)


async def test_one_message_delivered_twice_at_once_is_stored_once(pg_url, tmp_path):
    numbers = senders("+3460013")
    lines = await race(pg_url, tmp_path, numbers, same_id=True)
    assert [line for line in lines if line[1] != "ok"] == []
    by_round: dict[str, list[str]] = {}
    for i, _, rest in lines:
        by_round.setdefault(i, []).append(rest)
    for i, results in by_round.items():
        conv_ids = {r.split()[0] for r in results}
        assert len(conv_ids) == 1 and sorted(r.split()[1] for r in results) == [
            "False", "True"], (i, results)  # one stored it, the other saw a duplicate
    for n in numbers:
        (conv,) = await open_conversations(pg_url, n)
        assert len(conv[1]) == 1


async def test_a_killed_lock_holder_frees_the_contact_and_dedupe_holds(pg_url, tmp_path):
    out = tmp_path / "hold.log"
    holder = spawn(pg_url, "hold", str(out), "34600140000")
    engine = create_engine(pg_url)
    try:
        async def locked() -> bool:
            return out.exists() and out.read_text() == "locked\n"
        await until(locked, "the holder takes the contact lock", [holder])
        inbox = Inbox(SqlUnitOfWorkFactory(engine), FixedClock(NOW), ACCOUNTS,
                      ZoneInfo("UTC"))
        msg = InboundMessage(Channel.WHATSAPP, "wa", "whatsapp_cloud", "wamid.k9",
                             "34600140000", "after the kill", NOW)
        delivery = asyncio.create_task(inbox.receive(msg))

        async def waiting() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(_ANY_WAITING)).scalar_one() == 1
        await until(waiting, "the delivery waits for the holder", [holder])
        assert not delivery.done()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        first = await asyncio.wait_for(delivery, DEADLINE)
        again = await inbox.receive(msg)
        assert not first.duplicate and again.duplicate
        assert again.message_id == first.message_id
        assert len(await inbox.thread(first.conversation_id)) == 1
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        await engine.dispose()


# -- the lock port itself -------------------------------------------------------------


@pytest.mark.only_backend("postgresql")
async def test_lock_waits_for_the_holder_to_commit(uow_factory, engine):
    events: list[str] = []
    async with uow_factory() as first:
        await first.lock("k")

        async def second() -> None:
            async with uow_factory() as uow:
                await uow.lock("k")
                events.append("second locked")

        task = asyncio.create_task(second())

        async def waiting() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(_ANY_WAITING)).scalar_one() == 1
        await until(waiting, "the second unit of work waits")
        assert not task.done()
        async with uow_factory() as other:  # another name is not held up
            await other.lock("other")
        events.append("first commits")
        await first.commit()
        await asyncio.wait_for(task, DEADLINE)
    assert events == ["first commits", "second locked"]


@pytest.mark.only_backend("postgresql")
async def test_rollback_releases_the_lock(uow_factory, engine):
    async with uow_factory() as first:
        await first.lock("k")
        await first.rollback()
        async with uow_factory() as second:
            await second.lock("k")  # would wait forever if the rollback kept it
        async with engine.connect() as conn:
            assert (await conn.execute(text(_ADVISORY))).scalar_one() == 0


async def test_lock_keeps_the_transaction_usable(uow_factory):
    # On SQLite the lock is a no-op; on both, work after it commits as usual.
    async with uow_factory() as uow:
        await uow.lock("contact:whatsapp:+34600111222")
        await uow.lock("contact:whatsapp:+34600111222")  # re-entrant in one transaction
        await uow.contacts.add(Contact(Channel.WHATSAPP, "+34600111222"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.contacts.by_address(Channel.WHATSAPP, "+34600111222") is not None
