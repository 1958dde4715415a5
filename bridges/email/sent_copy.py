"""The Sent-folder copy of our mail, placed so that it can also tell, after a crash, whether
a send whose outcome is unknown went out (the outbox's lookup). Blocking: call in a thread.

Our own copies ("own": we APPEND them) go in *before* SMTP, carrying the keyword SENDING,
which comes off once the SMTP server has accepted the mail. So, for one Message-ID:
  no copy                   the attempt stopped before SMTP was called: not sent (None)
  copies with SENDING only  it stopped between the APPEND and the end of SMTP: the server
                            may or may not have the mail: CANNOT_TELL
  a copy without SENDING    the SMTP server accepted it: sent
The usual order (SMTP, then APPEND) could never say "not sent": a crash between the SMTP
accept and the APPEND leaves no copy of mail that did go out. For the same reason a mail
whose copy cannot be placed first (IMAP down, the folder refusing it) is not sent now but
retried (TransientError); a mailbox that wants no copies sets EMAIL_SENT_FOLDER=none. A
folder that cannot keep keywords (no \\* in PERMANENTFLAGS) gets its copy after SMTP as
before, and there a missing copy proves nothing.

Provider copies ("provider": Gmail's SMTP files what it accepts): a copy means sent; none,
after the provider had time to file it, means not sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bridges.email.config import MailboxConfig
from bridges.email.imap_session import IMAP_ERRORS, ImapSession
from bridges.email.parsing import message_id_of
from core.delivery import CANNOT_TELL, TransientError

log = logging.getLogger("threadline.email.sent")

SENDING = b"ThreadlineSending"  # IMAP keyword: SMTP has not (yet) accepted this mail
_SENDING = SENDING.lower()  # keywords compare case-insensitively


class SentFolderUnavailable(TransientError):
    """The Sent folder could not be reached or refused the copy: try again later."""


@dataclass
class Placed:
    """What one attempt found or put in the Sent folder before SMTP."""

    session: ImapSession | None = None  # kept open for confirm() / discard()
    folder: str | None = None  # None: no Sent folder, the mail goes without a copy
    after: bool = False  # the folder keeps no keywords: the copy is appended after SMTP
    sent_already: bool = False  # a confirmed copy exists: an earlier attempt sent it

    def drop(self) -> None:
        """Let go of the connection without waiting on it (the copy stays as it is)."""
        session, self.session = self.session, None
        if session is not None:
            session.abort()
            session.close()


def _sending(flags: frozenset[bytes]) -> bool:
    return _SENDING in {f.lower() for f in flags}


class SentFolder:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config

    def _open(self, token: str | None) -> tuple[ImapSession, str | None]:
        session = ImapSession(self.config)
        session.connect(token)
        try:
            return session, self.config.sent_folder or session.sent_folder()
        except BaseException:
            session.close()
            raise

    def _copies(self, session: ImapSession, message_id: str):
        """(UID, flags) of the selected folder's mail with exactly this Message-ID."""
        return [(uid, flags) for uid, header, flags in session.with_message_id(message_id)
                if message_id_of(header) == message_id]

    # -- the send (own copies) ------------------------------------------------------------
    def prepare(self, raw: bytes, when, message_id: str, token: str | None) -> Placed:
        """Before SMTP: the copy marked SENDING, unless one is there already (an earlier
        attempt's, reused; or a confirmed one: then the mail went out and is not sent)."""
        session = None
        try:
            session, folder = self._open(token)
            if folder is None:
                log.warning("email %s: no Sent folder found; set EMAIL_SENT_FOLDER (sending "
                            "without a copy)", self.config.account)
                session.close()
                return Placed()
            keeps_keywords = session.select_writable(folder)
            copies = self._copies(session, message_id)
            if any(not _sending(flags) for _, flags in copies):
                session.close()
                return Placed(folder=folder, sent_already=True)
            if keeps_keywords and not copies:
                session.append(folder, raw, when, (b"\\Seen", SENDING))
            return Placed(session, folder, after=not keeps_keywords)
        except IMAP_ERRORS as exc:
            if session is not None:
                session.close()
            raise SentFolderUnavailable(f"the Sent copy must be saved before sending and "
                                        f"could not be: {exc}", "imap") from exc

    def confirm(self, placed: Placed, message_id: str, raw: bytes, when,
                token: str | None) -> None:
        """SMTP accepted the mail: take SENDING off (or append, where keywords are not
        kept). The mail is out, so failures are logged, never raised (that would resend)."""
        def finish(session: ImapSession) -> None:
            if placed.after:
                session.append(placed.folder, raw, when)
                return
            pending = [uid for uid, flags in self._copies(session, message_id)
                       if _sending(flags)]
            if pending:
                session.remove_flags(pending, [SENDING])

        self._on_copy(placed, token, finish, "sent, but its Sent copy is still marked "
                      "sending (a lookup would say it cannot tell)")

    def discard(self, placed: Placed, message_id: str, token: str | None) -> None:
        """SMTP refused the mail: remove the unconfirmed copy, never a confirmed one."""
        def remove(session: ImapSession) -> None:
            pending = [uid for uid, flags in self._copies(session, message_id)
                       if _sending(flags)]
            if pending:
                session.delete(pending)

        self._on_copy(placed, token, None if placed.after else remove,
                      "not sent, and its unsent copy is left in the Sent folder")

    def _on_copy(self, placed: Placed, token, action, failed: str) -> None:
        session, placed.session = placed.session, None
        if action is None or session is None:
            if session is not None:
                session.close()
            return
        try:
            action(session)
            return
        except IMAP_ERRORS:
            pass  # the connection may have dropped during SMTP: once more on a new one
        finally:
            session.close()
        try:
            session, _ = self._open(token)
            try:
                session.select_writable(placed.folder)
                action(session)
            finally:
                session.close()
        except IMAP_ERRORS as exc:
            log.warning("email %s: %s: %s", self.config.account, failed, exc)

    # -- after a crash --------------------------------------------------------------------
    def lookup(self, message_id: str, token: str | None) -> str | None:
        """The outbox's question for an attempt a crash left unknown: `message_id` if it was
        sent, None if certainly not, CANNOT_TELL. IMAP unreachable: SentFolderUnavailable,
        which keeps the attempt unknown for the next try (see EmailBridge.lookup)."""
        mode = self.config.sent_copies
        if mode == "none":
            return CANNOT_TELL
        try:
            session, folder = self._open(token)
        except IMAP_ERRORS as exc:
            raise SentFolderUnavailable(f"cannot look in the Sent folder whether an "
                                        f"interrupted send went out: {exc}", "imap") from exc
        try:
            if folder is None:
                return CANNOT_TELL
            keeps_keywords = session.select_writable(folder)
            copies = self._copies(session, message_id)
            if any(not _sending(flags) for _, flags in copies):
                return message_id
            if mode == "provider":
                # The provider files a copy when it accepts the mail; give it time to show.
                time.sleep(self.config.sent_settle_seconds)
                session.noop()
                copies = self._copies(session, message_id)
                return message_id if any(not _sending(f) for _, f in copies) else None
            if copies:
                return CANNOT_TELL  # placed before SMTP, never confirmed: either way
            return None if keeps_keywords else CANNOT_TELL
        except IMAP_ERRORS as exc:
            raise SentFolderUnavailable(f"cannot look in the Sent folder whether an "
                                        f"interrupted send went out: {exc}", "imap") from exc
        finally:
            session.close()
