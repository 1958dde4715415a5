"""The IMAP sync worker of one mailbox: catch up, then IDLE (or poll) for new mail.

Runs only while this process is the leader, so two processes never sync one mailbox.
The cursor `(folder, UIDVALIDITY, last UID)` is kept through the core's sync state after
every round: a restart resumes where it stopped; what a crash replays is deduplicated by
the core on the Message-ID, and mail whose Message-ID is stored already is not fetched at
all. Sizes are read first: bodies come in rounds bounded by bytes, and a message above the
cap arrives as its header only. Network trouble and server restarts reconnect with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from bridges.email.config import ROUND_MESSAGES, MailboxConfig
from bridges.email.imap_session import (
    IMAP_ERRORS,
    FetchedMessage,
    FolderState,
    ImapSession,
    MessageInfo,
)
from bridges.email.oauth import OAuthError, TokenSource
from bridges.email.parsing import message_id_of

log = logging.getLogger("threadline.email.sync")

BATCH = ROUND_MESSAGES  # the default messages per FETCH round (the benchmark uses it)
SCAN = 500  # UIDs per size/Message-ID FETCH, and per "already stored?" question
Handler = Callable[[FetchedMessage], Awaitable[object]]
Known = Callable[[list[str]], Awaitable[set[str]]]  # Message-IDs -> those stored already


@dataclass(frozen=True, slots=True)
class Round:
    uids: list[int]
    headers_only: bool = False


def plan_rounds(infos: list[MessageInfo], max_message: int, max_bytes: int,
                max_count: int) -> list[Round]:
    """FETCH rounds in UID order: full bodies up to `max_bytes` and `max_count` a round (one
    bigger message goes alone); messages above `max_message` by their header only."""
    rounds: list[Round] = []
    current: list[int] = []
    total = 0
    for info in infos:
        if info.size > max_message:
            if current:
                rounds.append(Round(current))
                current, total = [], 0
            if rounds and rounds[-1].headers_only and len(rounds[-1].uids) < max_count:
                rounds[-1].uids.append(info.uid)
            else:
                rounds.append(Round([info.uid], headers_only=True))
            continue
        if current and (len(current) >= max_count or total + info.size > max_bytes):
            rounds.append(Round(current))
            current, total = [], 0
        current.append(info.uid)
        total += info.size
    if current:
        rounds.append(Round(current))
    return rounds


class SyncStateStore(Protocol):
    async def load_sync_state(self, account: str, key: str) -> dict | None: ...
    async def save_sync_state(self, account: str, key: str, value: dict) -> None: ...


@dataclass
class SyncStats:
    """What the worker did (logs, tests, the benchmark)."""

    sessions: int = 0
    delivered: int = 0
    skipped: int = 0  # stored already (a resync or an old cursor): not fetched again
    resyncs: int = 0
    errors: int = 0
    mode: str = ""  # "idle" or "poll" once connected
    waiting: asyncio.Event = field(default_factory=asyncio.Event)  # idle/polling now
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)


class MailboxSync:
    def __init__(self, config: MailboxConfig, handle: Handler, state: SyncStateStore,
                 is_leader: Callable[[], bool], tokens: TokenSource | None = None,
                 today: Callable[[], date] | None = None, known: Known | None = None) -> None:
        self.config, self.handle, self.state = config, handle, state
        self.is_leader, self.tokens, self.known = is_leader, tokens, known
        self._today = today or (lambda: datetime.now(UTC).date())
        self.stats = SyncStats()
        self._session: ImapSession | None = None
        self.key = f"imap:{config.folder}"

    # -- the loop -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        watcher = asyncio.create_task(self._abort_on(stop))
        delay = 1.0
        try:
            while not stop.is_set():
                if not self.is_leader():
                    await _wait(stop, self.config.wait_slice_seconds)
                    continue
                try:
                    await self._run_session(stop)
                    delay = 1.0
                except (*IMAP_ERRORS, OAuthError) as exc:
                    if stop.is_set():
                        break
                    self._note_error(exc, delay)
                    await _wait(stop, delay)
                    delay = min(delay * 2, self.config.backoff_max_seconds)
                except Exception:  # e.g. the database is away: keep the cursor, retry
                    if stop.is_set():
                        break
                    log.exception("email %s: sync failed; retrying in %.0fs",
                                  self.config.account, delay)
                    self.stats.errors += 1
                    await _wait(stop, delay)
                    delay = min(delay * 2, self.config.backoff_max_seconds)
        finally:
            watcher.cancel()

    def _note_error(self, exc: BaseException, delay: float) -> None:
        self.stats.errors += 1
        self.stats.waiting.clear()
        if isinstance(exc, OAuthError) and exc.permanent:
            log.error("email %s: OAuth refused (%s); retrying in %.0fs", self.config.account,
                      exc, delay)
        else:
            log.warning("email %s: IMAP connection problem (%s: %s); reconnecting in %.0fs",
                        self.config.account, type(exc).__name__, exc, delay)

    async def _abort_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        if self._session is not None:
            self._session.abort()  # breaks a blocking IDLE wait in its thread

    async def _connect(self) -> ImapSession:
        session = ImapSession(self.config)
        token = await self.tokens.token() if self.tokens is not None else None
        try:
            await asyncio.to_thread(session.connect, token)
        except IMAP_ERRORS:
            if self.tokens is not None:
                self.tokens.invalidate()  # an expired or revoked token: refresh next time
            raise
        return session

    async def _run_session(self, stop: asyncio.Event) -> None:
        session = await self._connect()
        self._session = session
        self.stats.sessions += 1
        try:
            await self._select_and_catch_up(session)
            idle = self.config.use_idle and session.has_idle
            self.stats.mode = "idle" if idle else "poll"
            log.info("email %s: synced; waiting for new mail (%s)", self.config.account,
                     self.stats.mode)
            while not stop.is_set() and self.is_leader():
                if idle:
                    await self._idle(session, stop)
                else:
                    self.stats.waiting.set()
                    await _wait(stop, self.config.poll_seconds)
                    self.stats.waiting.clear()
                if stop.is_set() or not self.is_leader():
                    break
                await self._select_and_catch_up(session)
        finally:
            self._session = None
            self.stats.waiting.clear()
            await asyncio.to_thread(session.close)

    async def _idle(self, session: ImapSession, stop: asyncio.Event) -> None:
        await asyncio.to_thread(session.idle_start)
        started = time.monotonic()
        self.stats.waiting.set()
        try:
            while not stop.is_set() and self.is_leader():
                left = self.config.idle_renew_seconds - (time.monotonic() - started)
                if left <= 0:
                    break  # re-issue IDLE before the server's inactivity timeout
                timeout = min(self.config.wait_slice_seconds, left)
                if await asyncio.to_thread(session.idle_wait, timeout):
                    break
        finally:
            self.stats.waiting.clear()
            if not stop.is_set():
                await asyncio.to_thread(session.idle_stop)

    # -- catching up ----------------------------------------------------------------------
    async def _select_and_catch_up(self, session: ImapSession) -> None:
        # Mail that arrives during a SEARCH or FETCH is announced (`* n EXISTS`) in that
        # command's answer, which imapclient keeps to itself, and the server never repeats
        # it in IDLE. So every round ends with a fresh EXAMINE, the last command before
        # IDLE: mail below its UIDNEXT is caught up now, anything newer is announced in
        # IDLE. Not an EXISTS count (an expunge can hide an arrival), nor one more SEARCH
        # (mail arriving while it runs can be announced in its answer yet miss its result).
        folder = await asyncio.to_thread(session.select, self.config.folder)
        cursor = None
        while self.is_leader():
            before, cursor = cursor, await self.catch_up(session, folder)
            again = await asyncio.to_thread(session.select, self.config.folder)
            if again.uidvalidity == folder.uidvalidity and (
                    again.uidnext - 1 <= cursor if again.uidnext is not None
                    else cursor == before):  # without UIDNEXT: until a SEARCH finds nothing
                break
            folder = again
        self.stats.caught_up.set()

    async def catch_up(self, session: ImapSession, folder: FolderState) -> int:
        """Hand over every message after the cursor; returns the cursor saved last."""
        saved = await self.state.load_sync_state(self.config.account, self.key)
        initial = False
        if saved and int(saved.get("uidvalidity", -1)) == folder.uidvalidity:
            uids = await asyncio.to_thread(session.uids_after, int(saved["last_uid"]))
            last_uid = int(saved["last_uid"])
        else:
            if saved:
                self.stats.resyncs += 1
                log.warning("email %s: UIDVALIDITY of %s changed (%s -> %s): full resync; "
                            "stored mail is skipped by Message-ID", self.config.account,
                            self.config.folder, saved.get("uidvalidity"), folder.uidvalidity)
            initial = True
            last_uid = max((folder.uidnext or 1) - 1, 0)
            if self.config.lookback_days > 0:
                since = self._today() - timedelta(days=self.config.lookback_days)
                uids = await asyncio.to_thread(session.uids_since, since)
            else:
                uids = []  # no look-back: only mail from now on
            if not uids:
                await self._save(folder.uidvalidity, last_uid)
                return last_uid
            # A crash during the initial sync resumes after the last saved round.
            last_uid = uids[0] - 1
            await self._save(folder.uidvalidity, last_uid)
        total = len(uids)
        if initial:
            log.info("email %s: initial sync of %s: %d messages", self.config.account,
                     self.config.folder, total)
        for start in range(0, total, SCAN):
            last_uid = await self._deliver(session, folder.uidvalidity,
                                           uids[start:start + SCAN], last_uid)
            if initial and total > SCAN:
                log.info("email %s: initial sync %d/%d", self.config.account,
                         min(start + SCAN, total), total)
        if uids and folder.uidnext and folder.uidnext - 1 > last_uid:
            # The SEARCH followed the EXAMINE that gave UIDNEXT, so it saw everything below
            # it (older mail outside the look-back is skipped on purpose).
            last_uid = folder.uidnext - 1
            await self._save(folder.uidvalidity, last_uid)
        return last_uid

    async def _deliver(self, session: ImapSession, uidvalidity: int, uids: list[int],
                       last_uid: int) -> int:
        infos = await asyncio.to_thread(session.scan, uids)
        ids = await asyncio.to_thread(
            lambda: {i.uid: mid for i in infos if (mid := message_id_of(i.id_header))})
        infos = await self._drop_known(infos, ids)
        cfg = self.config
        for round_ in plan_rounds(infos, cfg.max_message_bytes, cfg.fetch_round_bytes,
                                  cfg.fetch_round_messages):
            fetched = await asyncio.to_thread(session.fetch, round_.uids, round_.headers_only)
            for message in fetched:
                message.message_id = ids.get(message.uid)
                message.screened = self.known is not None and message.message_id is not None
                if message.headers_only:
                    log.warning("email %s: UID %s is %s bytes, above EMAIL_MAX_MESSAGE_MB: "
                                "importing its header only", cfg.account, message.uid,
                                message.size)
                await self.handle(message)
                self.stats.delivered += 1
            last_uid = max(last_uid, round_.uids[-1])
            await self._save(uidvalidity, last_uid)
        if uids[-1] > last_uid:  # the rest was stored already or vanished
            last_uid = uids[-1]
            await self._save(uidvalidity, last_uid)
        return last_uid

    async def _drop_known(self, infos: list[MessageInfo], ids: dict[int, str]
                          ) -> list[MessageInfo]:
        """Without mail stored already (asked before any body is fetched, so a resync
        neither downloads nor parses it again, nor writes its attachments twice)."""
        if self.known is None or not ids:
            return infos
        known = await self.known(list(dict.fromkeys(ids.values())))
        out, seen = [], set()
        for info in infos:
            mid = ids.get(info.uid)
            if mid is not None and (mid in known or mid in seen):
                self.stats.skipped += 1  # a second copy in the folder is a duplicate too
                continue
            if mid is not None:
                seen.add(mid)
            out.append(info)
        return out

    async def _save(self, uidvalidity: int, last_uid: int) -> None:
        await self.state.save_sync_state(self.config.account, self.key, {
            "folder": self.config.folder, "uidvalidity": uidvalidity, "last_uid": last_uid})


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        pass
