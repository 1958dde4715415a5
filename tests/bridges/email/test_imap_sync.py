"""IMAP sync against a real Dovecot: IDLE, polling, restarts, UIDVALIDITY, server restarts."""

from __future__ import annotations

import asyncio

from tests.bridges.email.conftest import (
    customer_mail,
    eventually,
    inbound_count,
    start_sync,
    stop_sync,
    sync_of,
)


async def test_initial_sync_then_new_mail_arrives_via_idle(make_runtime, dovecot, mailbox_user):
    for n in range(2):
        dovecot.append(mailbox_user, customer_mail(mailbox_user, subject=f"Before start {n}"))
    rt = await make_runtime(EMAIL_POLL_SECONDS=3600)  # only IDLE can notice new mail
    await start_sync(rt)
    sync = sync_of(rt)
    await eventually(lambda: _is(inbound_count(rt), 2), "the initial sync of 2 messages")
    await eventually(_event(sync.stats.waiting), "the worker waiting in IDLE")
    assert sync.stats.mode == "idle"

    dovecot.append(mailbox_user, customer_mail(mailbox_user, subject="While idling"))
    await eventually(lambda: _is(inbound_count(rt), 3), "the new mail announced by IDLE")
    # BODY.PEEK: the sync never marks anything read.
    assert all(b"\\Seen" not in flags for _, flags in dovecot.fetch_all(mailbox_user, "INBOX"))
    state = await rt.inbox.load_sync_state("email", "imap:INBOX")
    assert state is not None and state["last_uid"] == 3 and state["folder"] == "INBOX"


async def test_polling_when_idle_is_off(make_runtime, dovecot, mailbox_user):
    rt = await make_runtime(EMAIL_IMAP_IDLE=False, EMAIL_POLL_SECONDS=0.2)
    await start_sync(rt)
    sync = sync_of(rt)
    await eventually(_event(sync.stats.caught_up), "the first catch-up")
    assert sync.stats.mode == "poll"
    dovecot.append(mailbox_user, customer_mail(mailbox_user, subject="Polled"))
    await eventually(lambda: _is(inbound_count(rt), 1), "the polled message")


async def test_restart_neither_misses_nor_duplicates(make_runtime, dovecot, mailbox_user):
    for n in range(3):
        dovecot.append(mailbox_user, customer_mail(mailbox_user, subject=f"First run {n}"))
    first = await make_runtime()
    await start_sync(first)
    await eventually(lambda: _is(inbound_count(first), 3), "the first run's 3 messages")
    await stop_sync(first)

    for n in range(2):  # arrives while nobody syncs
        dovecot.append(mailbox_user, customer_mail(mailbox_user, subject=f"While down {n}"))
    second = await make_runtime()
    await start_sync(second)
    sync = sync_of(second)
    await eventually(lambda: _is(inbound_count(second), 5), "the 2 messages sent while down")
    await eventually(_event(sync.stats.waiting), "the second run idling")
    assert sync.stats.delivered == 2  # the cursor resumed: old mail was not fetched again
    assert await inbound_count(second) == 5


async def test_uidvalidity_change_resyncs_without_duplicates(make_runtime, dovecot,
                                                             mailbox_user):
    kept = [customer_mail(mailbox_user, subject=f"Kept {n}") for n in range(2)]
    for raw in kept:
        dovecot.append(mailbox_user, raw, folder="Support")
    first = await make_runtime(EMAIL_IMAP_FOLDER="Support")
    await start_sync(first)
    await eventually(lambda: _is(inbound_count(first), 2), "the first sync of Support")
    before = await first.inbox.load_sync_state("email", "imap:Support")
    await stop_sync(first)

    dovecot.recreate_folder(mailbox_user, "Support")  # new UIDVALIDITY, UIDs start again
    for raw in [*kept, customer_mail(mailbox_user, subject="New after the change")]:
        dovecot.append(mailbox_user, raw, folder="Support")
    second = await make_runtime(EMAIL_IMAP_FOLDER="Support")
    await start_sync(second)
    sync = sync_of(second)
    await eventually(_event(sync.stats.waiting), "the resync to finish")
    after = await second.inbox.load_sync_state("email", "imap:Support")
    assert after["uidvalidity"] != before["uidvalidity"]
    assert sync.stats.resyncs == 1
    # The 2 old ones are known by Message-ID: skipped before their bodies were fetched.
    assert (sync.stats.delivered, sync.stats.skipped) == (1, 2)
    assert await inbound_count(second) == 3


async def test_server_restart_mid_sync_reconnects(make_runtime, dovecot, mailbox_user):
    rt = await make_runtime()
    await start_sync(rt)
    sync = sync_of(rt)
    await eventually(_event(sync.stats.waiting), "the worker idling")
    await asyncio.to_thread(dovecot.stop)
    await eventually(lambda: _true(sync.stats.errors >= 1), "the worker noticing the outage")
    await asyncio.to_thread(dovecot.start)
    dovecot.append(mailbox_user, customer_mail(mailbox_user, subject="After the restart"))
    await eventually(lambda: _is(inbound_count(rt), 1), "mail after the server restart")
    assert sync.stats.sessions >= 2


async def test_sync_waits_for_leadership(make_runtime, dovecot, mailbox_user):
    dovecot.append(mailbox_user, customer_mail(mailbox_user))
    rt = await make_runtime()
    await rt.leader.release()  # another process leads: this one must not touch the mailbox
    await start_sync(rt)
    await asyncio.sleep(1.0)
    assert sync_of(rt).stats.sessions == 0 and await inbound_count(rt) == 0
    assert await rt.leader.try_acquire()
    await eventually(lambda: _is(inbound_count(rt), 1), "the sync once this process leads")
    await stop_sync(rt)


async def _is(count_coro, expected: int) -> bool:
    return await count_coro == expected


async def _true(value: bool) -> bool:
    return value


def _event(event: asyncio.Event):
    async def check() -> bool:
        return event.is_set()

    return check
