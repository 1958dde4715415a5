"""One blocking IMAP connection (imapclient). The async worker calls it via to_thread.

A provider client: talks IMAP only, never touches the database.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import date, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from bridges.email.config import MailboxConfig

log = logging.getLogger("threadline.email.imap")

# What a dropped connection, a restarted server or a timeout raises from imapclient.
NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort, EOFError)
IMAP_ERRORS = (*NETWORK_ERRORS, imaplib.IMAP4.error, IMAPClientError)


@dataclass(frozen=True, slots=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """What is read before any body: the size and the Message-ID header lines."""

    uid: int
    size: int
    id_header: bytes  # b"" when the message has no Message-ID


@dataclass(slots=True)
class FetchedMessage:
    uid: int
    raw: bytes  # the whole message, or only its header when headers_only
    internal_date: datetime | None
    gmail_thread_id: str | None = None
    headers_only: bool = False  # too large to import: the header and size alone
    size: int | None = None  # RFC822.SIZE, when it was read
    message_id: str | None = None  # the Message-ID the sync read before fetching
    screened: bool = False  # the sync already asked whether message_id is stored


class ImapSession:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self.client: IMAPClient | None = None
        self.capabilities: set[bytes] = set()
        self._idling = False

    # -- connection -----------------------------------------------------------------------
    def connect(self, access_token: str | None = None) -> None:
        cfg = self.config
        client = IMAPClient(cfg.imap_host, port=cfg.imap_port, ssl=cfg.imap_ssl,
                            timeout=cfg.timeout_seconds)
        try:
            if not cfg.imap_ssl and client.has_capability("STARTTLS"):
                # Never send a password in clear text when the server offers TLS.
                client.starttls(ssl.create_default_context())
            if access_token is not None:
                client.oauth2_login(cfg.imap_user, access_token)
            else:
                client.login(cfg.imap_user, cfg.imap_password or "")
            self.capabilities = set(client.capabilities())
        except BaseException:
            self._shutdown(client)
            raise
        self.client = client

    @property
    def has_idle(self) -> bool:
        return b"IDLE" in self.capabilities

    @property
    def is_gmail(self) -> bool:
        return b"X-GM-EXT-1" in self.capabilities

    def _c(self) -> IMAPClient:
        if self.client is None:
            raise imaplib.IMAP4.abort("not connected")
        return self.client

    def select(self, folder: str) -> FolderState:
        # Read-only (EXAMINE): the sync can never change flags, so nothing is marked read.
        info = self._c().select_folder(folder, readonly=True)
        return FolderState(int(info[b"UIDVALIDITY"]),
                           int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
                           int(info.get(b"EXISTS", 0)))

    # -- reading --------------------------------------------------------------------------
    def uids_after(self, last_uid: int) -> list[int]:
        # `n+1:*` returns the last message even when it is <= n: drop those.
        found = self._c().search(["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in found if uid > last_uid)

    def uids_since(self, day: date | None) -> list[int]:
        return sorted(self._c().search(["SINCE", day] if day else ["ALL"]))

    def scan(self, uids: list[int]) -> list[MessageInfo]:
        """Size and Message-ID of each message, so bodies can be fetched by the byte."""
        data = self._c().fetch(uids, ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        wanted, out = set(uids), []
        for uid in sorted(data):
            row = data[uid]
            if uid not in wanted or b"RFC822.SIZE" not in row:
                continue  # an unsolicited FETCH, or vanished since the SEARCH
            # Servers spell the item back in their own way: match its prefix.
            header = next((v for k, v in row.items() if k.startswith(b"BODY[HEADER.FIELDS")),
                          None)
            out.append(MessageInfo(uid, int(row[b"RFC822.SIZE"]), bytes(header or b"")))
        return out

    def fetch(self, uids: list[int], headers_only: bool = False) -> list[FetchedMessage]:
        section = "HEADER" if headers_only else ""
        items = [f"BODY.PEEK[{section}]", "INTERNALDATE"]
        if headers_only:
            items.append("RFC822.SIZE")
        if self.is_gmail:
            items.append("X-GM-THRID")
        data = self._c().fetch(uids, items)
        wanted, key, out = set(uids), f"BODY[{section}]".encode(), []
        for uid in sorted(data):
            row = data[uid]
            raw = row.get(key)
            if uid not in wanted or raw is None:  # unsolicited, or vanished since the SEARCH
                continue
            thrid = row.get(b"X-GM-THRID")
            size = row.get(b"RFC822.SIZE")
            out.append(FetchedMessage(uid, bytes(raw), row.get(b"INTERNALDATE"),
                                      str(thrid) if thrid is not None else None,
                                      headers_only=headers_only,
                                      size=int(size) if size is not None else None))
        return out

    def noop(self) -> None:
        self._c().noop()

    # -- waiting for new mail -------------------------------------------------------------
    def idle_start(self) -> None:
        self._c().idle()
        self._idling = True

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s in IDLE; True if the server announced new mail."""
        started = time.monotonic()
        responses = self._c().idle_check(timeout=timeout)
        if not responses and time.monotonic() - started < timeout / 2:
            # imapclient swallows EOF in IDLE: readable with nothing to read = closed.
            raise imaplib.IMAP4.abort("the server closed the connection during IDLE")
        return any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def idle_stop(self) -> None:
        if self._idling:
            self._idling = False
            self._c().idle_done()

    # -- writing (the Sent copy of our replies) ------------------------------------------
    def sent_folder(self) -> str | None:
        """The folder flagged \\Sent (RFC 6154), else a folder with a usual name."""
        c = self._c()
        try:
            found = c.find_special_folder(b"\\Sent")
        except IMAP_ERRORS:
            found = None
        if found:
            return found
        for name in ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent", "Enviados"):
            if c.folder_exists(name):
                return name
        return None

    def append(self, folder: str, raw: bytes, when: datetime | None,
               flags: tuple[bytes, ...] = (b"\\Seen",)) -> None:
        self._c().append(folder, raw, flags=list(flags), msg_time=when)

    def select_writable(self, folder: str) -> bool:
        """SELECT read-write (flags will change); True when the folder keeps keywords of
        our own (`\\*` in PERMANENTFLAGS, RFC 3501 7.1)."""
        info = self._c().select_folder(folder)
        return b"\\*" in info.get(b"PERMANENTFLAGS", ())

    def with_message_id(self, message_id: str) -> list[tuple[int, bytes, frozenset[bytes]]]:
        """(UID, Message-ID header lines, flags) of the selected folder's messages whose
        Message-ID header contains `message_id` (SEARCH HEADER matches substrings: the
        caller compares the header itself)."""
        c = self._c()
        uids = c.search(["HEADER", "Message-ID", message_id])
        if not uids:
            return []
        data = c.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        out = []
        for uid in sorted(set(uids) & set(data)):
            row = data[uid]
            header = next((v for k, v in row.items() if k.startswith(b"BODY[HEADER.FIELDS")),
                          b"")
            out.append((uid, bytes(header or b""), frozenset(row.get(b"FLAGS", ()))))
        return out

    def remove_flags(self, uids: list[int], flags: list[bytes]) -> None:
        self._c().remove_flags(uids, flags, silent=True)

    def delete(self, uids: list[int]) -> None:
        """Flag deleted and expunge these UIDs only (UID EXPUNGE needs UIDPLUS; without it
        they stay flagged \\Deleted rather than expunging other people's deletions)."""
        self._c().add_flags(uids, [b"\\Deleted"], silent=True)
        if b"UIDPLUS" in self.capabilities:
            self._c().uid_expunge(uids)

    # -- closing --------------------------------------------------------------------------
    def abort(self) -> None:
        """Break a blocking wait from another thread (stop, lost leadership)."""
        client = self.client
        if client is not None:
            try:
                client.socket().shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            self._shutdown(client)

    @staticmethod
    def _shutdown(client: IMAPClient) -> None:
        try:
            client.logout()
        except Exception:  # the connection may be dead already
            try:
                client.shutdown()
            except Exception:
                pass
