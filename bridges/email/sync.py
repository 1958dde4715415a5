"""The IMAP sync worker of one mailbox: catch up, then IDLE (or poll) for new mail.

Runs only while this process is the leader, so two processes never sync one mailbox.
The cursor `(folder, UIDVALIDITY, last UID)` is kept through the core's sync state after
every batch: a restart resumes where it stopped; what a crash replays is deduplicated by
the core on the Message-ID. Network trouble and server restarts reconnect with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from bridges.email.config import MailboxConfig
from bridges.email.imap_session import IMAP_ERRORS, FetchedMessage, FolderState, ImapSession
from bridges.email.oauth import OAuthError, TokenSource

log = logging.getLogger("threadline.email.sync")

BATCH = 100  # messages per FETCH, and per cursor save
Handler = Callable[[FetchedMessage], Awaitable[object]]


class SyncStateStore(Protocol):
    async def load_sync_state(self, account: str, key: str) -> dict | None: ...
    async def save_sync_state(self, account: str, key: str, value: dict) -> None: ...


@dataclass
class SyncStats:
    """What the worker did (logs, tests, the benchmark)."""

    sessions: int = 0
    delivered: int = 0
    resyncs: int = 0
    errors: int = 0
    mode: str = ""  # "idle" or "poll" once connected
    waiting: asyncio.Event = field(default_factory=asyncio.Event)  # idle/polling now
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)


class MailboxSync:
    def __init__(self, config: MailboxConfig, handle: Handler, state: SyncStateStore,
                 is_leader: Callable[[], bool], tokens: TokenSource | None = None,
                 today: Callable[[], date] | None = None) -> None:
        self.config, self.handle, self.state = config, handle, state
        self.is_leader, self.tokens = is_leader, tokens
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
        folder = await asyncio.to_thread(session.select, self.config.folder)
        await self.catch_up(session, folder)
        self.stats.caught_up.set()

    async def catch_up(self, session: ImapSession, folder: FolderState) -> None:
        saved = await self.state.load_sync_state(self.config.account, self.key)
        initial = False
        if saved and int(saved.get("uidvalidity", -1)) == folder.uidvalidity:
            uids = await asyncio.to_thread(session.uids_after, int(saved["last_uid"]))
            last_uid = int(saved["last_uid"])
        else:
            if saved:
                self.stats.resyncs += 1
                log.warning("email %s: UIDVALIDITY of %s changed (%s -> %s): full resync; "
                            "duplicates are dropped by Message-ID", self.config.account,
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
                return
            # A crash during the initial sync resumes after the last saved batch.
            last_uid = uids[0] - 1
            await self._save(folder.uidvalidity, last_uid)
        total, done = len(uids), 0
        if initial:
            log.info("email %s: initial sync of %s: %d messages", self.config.account,
                     self.config.folder, total)
        for start in range(0, total, BATCH):
            batch = uids[start:start + BATCH]
            for fetched in await asyncio.to_thread(session.fetch, batch):
                await self.handle(fetched)
                self.stats.delivered += 1
            done += len(batch)
            last_uid = max(last_uid, batch[-1])
            await self._save(folder.uidvalidity, last_uid)
            if initial and total > BATCH:
                log.info("email %s: initial sync %d/%d", self.config.account, done, total)
        if initial and uids:
            # Mail older than the look-back below UIDNEXT is skipped on purpose.
            await self._save(folder.uidvalidity, max(last_uid, (folder.uidnext or 1) - 1))

    async def _save(self, uidvalidity: int, last_uid: int) -> None:
        await self.state.save_sync_state(self.config.account, self.key, {
            "folder": self.config.folder, "uidvalidity": uidvalidity, "last_uid": last_uid})


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        pass
