"""FETCH rounds against a real Dovecot: mail arriving mid-round, sizes and the cap, and
re-syncs that must not fetch or store anything twice."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from pathlib import Path

from bridges.email.config import MB
from bridges.email.imap_session import ImapSession, MessageInfo
from bridges.email.parsing import message_id_of, parse_email
from bridges.email.sync import plan_rounds
from tests.bridges.email.conftest import (
    all_messages,
    customer_mail,
    email_of,
    eventually,
    inbound_count,
    start_sync,
    stop_sync,
    sync_of,
)

CORPUS = Path(__file__).parent / "corpus"
PDF = b"%PDF-1.4\n% a small invoice\n%%EOF\n"


def _config(runtime):
    return next(iter(email_of(runtime).mailboxes.values())).config


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def _count_is(runtime, expected: int) -> bool:
    return await inbound_count(runtime) == expected


def _waiting(sync):
    async def check() -> bool:
        return sync.stats.waiting.is_set()

    return check


# -- new mail announced inside a FETCH round ---------------------------------------------

async def test_mail_arriving_during_a_fetch_round_is_not_left_for_idle(make_runtime, dovecot,
                                                                       mailbox_user):
    for n in range(12):
        dovecot.append(mailbox_user, customer_mail(mailbox_user, subject=f"Early {n}"))
    rt = await make_runtime(EMAIL_POLL_SECONDS=3600)
    config = _config(rt)
    config.fetch_round_messages = 5  # 3 rounds: the burst is announced in round 2's answer
    config.idle_renew_seconds = 3600  # a stall would wait an hour, far beyond the timeout
    sync = sync_of(rt)
    burst = [customer_mail(mailbox_user, subject=f"Burst {n}") for n in range(40)]
    handle, appended = sync.handle, []

    async def append_during_round(fetched):
        if not appended:  # between FETCH rounds, on another connection
            await asyncio.to_thread(dovecot.append_many, mailbox_user, burst)
            appended.append(True)
        return await handle(fetched)

    sync.handle = append_during_round
    await start_sync(rt)
    await eventually(lambda: _count_is(rt, 52), "the burst, without an IDLE renewal", 60)
    await eventually(_waiting(sync), "the worker idling after the burst")
    assert sync.stats.delivered == 52 and sync.stats.sessions == 1
    state = await rt.inbox.load_sync_state("email", "imap:INBOX")
    assert state["last_uid"] == 52

    dovecot.append(mailbox_user, customer_mail(mailbox_user, subject="After the burst"))
    await eventually(lambda: _count_is(rt, 53), "mail announced in IDLE afterwards")


# -- sizes: rounds bounded by bytes, a cap per message ----------------------------------

def test_rounds_are_bounded_by_bytes_and_count_and_keep_uid_order():
    sizes = {1: 8, 2: 8, 3: 5, 4: 200, 5: 30, 6: 1, 7: 1, 8: 300, 9: 400, 10: 2}
    infos = [MessageInfo(uid, size, b"") for uid, size in sizes.items()]
    rounds = plan_rounds(infos, max_message=100, max_bytes=20, max_count=3)
    assert [(r.uids, r.headers_only) for r in rounds] == [
        ([1, 2], False), ([3], False),  # 8 + 8 + 5 would pass 20 bytes
        ([4], True),  # above the cap: its header only
        ([5], False),  # above a round's budget, below the cap: alone
        ([6, 7], False), ([8, 9], True), ([10], False)]
    assert plan_rounds([MessageInfo(u, 1, b"") for u in range(1, 8)], 100, 20, 3)[0].uids == [
        1, 2, 3]


def _big_mail(to: str, megabytes: float) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Íñigo Ruiz <inigo@customer.example>"
    msg["To"] = to
    msg["Subject"] = "Scans of the damaged parcel"
    msg["Date"] = "Tue, 04 Mar 2025 10:15:00 +0100"
    msg["Message-ID"] = "<big-scan-1@customer.example>"
    msg.set_content("All the photos attached.")
    msg.add_attachment(os.urandom(int(megabytes * MB)), maintype="image", subtype="tiff",
                       filename="scans.tiff")
    return msg.as_bytes()


async def test_message_above_the_cap_is_stored_with_its_headers(make_runtime, dovecot,
                                                                mailbox_user, tmp_path,
                                                                monkeypatch):
    small = [customer_mail(mailbox_user, subject=f"Small {n}",
                           attachments=[("note.txt", "text/plain", os.urandom(150_000))])
             for n in range(4)]
    for raw in [small[0], small[1], _big_mail(mailbox_user, 3), small[2], small[3]]:
        dovecot.append(mailbox_user, raw)
    rounds: list[tuple[list[int], bool, int]] = []
    fetch = ImapSession.fetch

    def recording_fetch(self, uids, headers_only=False):
        out = fetch(self, uids, headers_only)
        rounds.append((list(uids), headers_only, sum(len(m.raw) for m in out)))
        return out

    monkeypatch.setattr(ImapSession, "fetch", recording_fetch)
    rt = await make_runtime(EMAIL_MAX_MESSAGE_MB=1)
    config = _config(rt)
    assert config.max_message_bytes == MB
    config.fetch_round_bytes = 450_000  # two small ones (~205 kB each) a round
    await start_sync(rt)
    sync = sync_of(rt)
    await eventually(lambda: _count_is(rt, 5), "all five, the big one included")
    await eventually(_waiting(sync), "the worker idling")

    assert [(uids, headers_only) for uids, headers_only, _ in rounds] == [
        ([1, 2], False), ([3], True), ([4, 5], False)]
    assert all(size <= 450_000 for *_, size in rounds)  # never more bytes than the budget
    assert rounds[1][2] < 2000  # the big one: its header alone came over the wire
    messages = [m for _, m in await all_messages(rt)]
    big = next(m for m in messages if m.subject == "Scans of the damaged parcel")
    assert big.body.startswith("This email is too large to import (4.")  # MB, base64
    assert "the limit is 1 MB, EMAIL_MAX_MESSAGE_MB" in big.body
    for line in ("From: Íñigo Ruiz <inigo@customer.example>",
                 "Subject: Scans of the damaged parcel", "Date: 2025-03-04T09:15:00+00:00",
                 "Message-ID: <big-scan-1@customer.example>"):
        assert line in big.body.splitlines()
    assert big.attachments == [] and big.meta["too_large"]["limit_bytes"] == MB
    assert len(_files(tmp_path / "files")) == 4  # the small ones' attachments only
    state = await rt.inbox.load_sync_state("email", "imap:INBOX")
    assert state["last_uid"] == 5  # the cursor moved past it
    assert all(b"\\Seen" not in flags for _, flags in dovecot.fetch_all(mailbox_user, "INBOX"))


def test_the_cap_can_be_set_per_account(tmp_path):
    from threadline.config import parse_config
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    mailbox = {"EMAIL_IMAP_HOST": "imap.acme.example", "EMAIL_IMAP_USER": "u",
               "EMAIL_IMAP_PASSWORD": "pw"}
    cfg = parse_config({"accounts": [
        {"id": "sales", "channel": "email", "provider": "email", "address": "s@acme.example",
         "settings": {**mailbox, "EMAIL_MAX_MESSAGE_MB": "2.5"}},
        {"id": "help", "channel": "email", "provider": "email", "address": "h@acme.example",
         "settings": mailbox}]})
    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    email = next(i for i in Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=url,
                                             EMAIL_MAX_MESSAGE_MB=8), cfg).integrations
                 if i.name == "email")
    assert email.mailboxes["sales"].config.max_message_bytes == int(2.5 * MB)
    assert email.mailboxes["help"].config.max_message_bytes == 8 * MB
    assert Settings(_env_file=None, THREADLINE_DATABASE_URL=url).email_max_message_mb == 50


# -- re-syncs never store attachments twice ----------------------------------------------

def _without_message_id(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Old Client <old@customer.example>"
    msg["To"] = to
    msg["Subject"] = "No Message-ID here"
    msg.set_content("Sent by a very old mail program.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="old.pdf")
    return msg.as_bytes()


async def test_resync_fetches_and_writes_nothing_twice(make_runtime, dovecot, mailbox_user,
                                                       tmp_path):
    mails = [customer_mail(mailbox_user, subject=f"Invoice {n}",
                           attachments=[(f"invoice-{n}.pdf", "application/pdf", PDF)])
             for n in range(19)] + [_without_message_id(mailbox_user)]
    for raw in mails:
        dovecot.append(mailbox_user, raw, folder="Support")
    store = tmp_path / "files"
    first = await make_runtime(EMAIL_IMAP_FOLDER="Support")
    await start_sync(first)
    await eventually(lambda: _count_is(first, 20), "the first sync of 20 mails")
    assert len(_files(store)) == 20
    # A restart with an old cursor: everything after UID 0 comes back.
    state = await first.inbox.load_sync_state("email", "imap:Support")
    await first.inbox.save_sync_state("email", "imap:Support", {**state, "last_uid": 0})
    await stop_sync(first)

    second = await make_runtime(EMAIL_IMAP_FOLDER="Support")
    await start_sync(second)
    sync = sync_of(second)
    await eventually(_waiting(sync), "the replay to finish")
    # 19 skipped before their bodies were fetched; the one without a Message-ID is fetched
    # (its id is a hash of its bytes) but found stored before it is parsed.
    assert (sync.stats.skipped, sync.stats.delivered) == (19, 1)
    assert len(_files(store)) == 20 and await inbound_count(second) == 20
    await stop_sync(second)

    dovecot.recreate_folder(mailbox_user, "Support")  # new UIDVALIDITY: a full resync
    for raw in mails:
        dovecot.append(mailbox_user, raw, folder="Support")
    third = await make_runtime(EMAIL_IMAP_FOLDER="Support")
    await start_sync(third)
    sync = sync_of(third)
    await eventually(_waiting(sync), "the resync to finish")
    assert sync.stats.resyncs == 1 and sync.stats.skipped == 19
    assert len(_files(store)) == 20 and await inbound_count(third) == 20


async def test_known_provider_ids_answers_from_the_dedupe_links(make_runtime, dovecot,
                                                                mailbox_user):
    for n in range(3):
        dovecot.append(mailbox_user, customer_mail(mailbox_user, message_id=f"<k{n}@c.example>"))
    rt = await make_runtime()
    await start_sync(rt)
    await eventually(lambda: _count_is(rt, 3), "3 stored mails")
    ask = rt.inbox.known_provider_ids
    assert await ask("email", []) == set()
    assert await ask("email", ["<new@c.example>", "<other@c.example>"]) == set()
    assert await ask("email", ["<new@c.example>", "<k2@c.example>", "<x@c.example>",
                               "<k0@c.example>", "<k2@c.example>"]) == {"<k0@c.example>",
                                                                        "<k2@c.example>"}
    assert await ask("whatsapp_cloud", ["<k0@c.example>"]) == set()  # per surface


def test_message_id_from_the_header_alone_matches_the_full_parse():
    raws = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    raws.append(b"Message-ID:\r\n  <folded@c.example>\r\nSubject: x\r\n\r\nbody\r\n")
    raws.append(b"Subject: no id\r\n\r\nbody\r\n")
    assert len(raws) > 10
    for raw in raws:
        header = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n")[0]
        assert message_id_of(raw) == message_id_of(header + b"\r\n") == parse_email(
            raw).message_id
