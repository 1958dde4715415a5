"""One mailbox's translation layer: fetched IMAP mail -> core receive, outbox row -> SMTP.

It only translates: threading, dedupe and the rules stay in the core (Inbox), and every
database access goes through the core's use cases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bridges.email.compose import (
    OutgoingAttachment,
    OutgoingMail,
    build_mail,
    is_our_message_id,
    make_message_id,
)
from bridges.email.config import MB, MailboxConfig
from bridges.email.imap_session import FetchedMessage
from bridges.email.oauth import OAuthError, TokenSource
from bridges.email.parsing import (
    ParsedEmail,
    message_id_of,
    parse_email,
    parse_headers,
    synthetic_message_id,
)
from bridges.email.sent_copy import Placed, SentFolder, SentFolderUnavailable
from bridges.email.smtp_sender import SmtpAuthError, send_mail
from core.addresses import normalize_email
from core.delivery import (
    CANNOT_TELL,
    DeliveryError,
    OutcomeUnknown,
    PermanentError,
    TransientError,
)
from core.errors import InvalidEmailAddress
from core.inbound import InboundMessage, InboundResult
from core.model import Attachment, Channel, DeliveryStatus
from core.ports import FileStore
from core.usecases import Inbox, OutboundContext

log = logging.getLogger("threadline.email")

SURFACE = "email"
UNKNOWN_SENDER = "unknown-sender@threadline.invalid"
MAX_CC = 20  # more is a mailing list's work, not a support reply's
Receive = Callable[[InboundMessage], Awaitable[InboundResult]]


class EmailBridge:
    def __init__(self, config: MailboxConfig, inbox: Inbox, receive: Receive, files: FileStore,
                 own_addresses: frozenset[str] = frozenset(),
                 tokens: TokenSource | None = None) -> None:
        self.config, self.inbox, self._receive, self.files = config, inbox, receive, files
        self.own_addresses = own_addresses | {config.address.lower()}
        self.tokens = tokens
        self.sent = SentFolder(config)

    # -- inbound ------------------------------------------------------------------------
    async def known_message_ids(self, ids: list[str]) -> set[str]:
        """Which of these Message-IDs are stored already (the sync asks before fetching)."""
        return await self.inbox.known_provider_ids(SURFACE, ids)

    async def handle_fetched(self, fetched: FetchedMessage) -> InboundResult | None:
        if not fetched.screened and await self._stored_already(fetched):
            return None  # parsing it again would only write its attachments twice
        parse = parse_headers if fetched.headers_only else parse_email
        try:
            parsed = await asyncio.to_thread(parse, fetched.raw, self.own_addresses)
        except Exception:  # a message the parser cannot read is still recorded, whole
            log.exception("email %s: cannot parse UID %s; recording it raw",
                          self.config.account, fetched.uid)
            return await self._receive_unparsed(fetched)
        report = parsed.report
        if report is not None and report.failed and is_our_message_id(report.original_message_id):
            # Before the bounce is stored: a replay skips stored mail, so a crash in
            # between must leave the bounce unstored, not the failure unrecorded.
            detail = report.diagnostic or "the receiving server returned the message"
            await self.inbox.record_delivery_by_provider_id(
                SURFACE, report.original_message_id, DeliveryStatus.FAILED,
                report.status or "bounce", f"bounced: {detail}")
        return await self._receive(await self.to_inbound(parsed, fetched))

    async def _stored_already(self, fetched: FetchedMessage) -> bool:
        """The dedupe question, asked before parsing: by the provider id to_inbound gives."""
        provider_id = await asyncio.to_thread(
            lambda: message_id_of(fetched.raw)
            or synthetic_message_id(self.config.account, fetched.raw))
        return bool(await self.inbox.known_provider_ids(SURFACE, [provider_id]))

    def too_large_note(self, parsed: ParsedEmail, fetched: FetchedMessage) -> str:
        size = f"{fetched.size / MB:.1f} MB" if fetched.size else "unknown size"
        sender = parsed.sender_address
        if parsed.sender_name and sender:
            sender = f"{parsed.sender_name} <{sender}>"
        lines = [f"This email is too large to import ({size}; the limit is "
                 f"{self.config.max_message_bytes / MB:g} MB, EMAIL_MAX_MESSAGE_MB). "
                 "Open it in your mail client:"]
        for name, value in (("From", sender), ("Subject", parsed.subject),
                            ("Date", parsed.date.isoformat() if parsed.date else None),
                            ("Message-ID", parsed.message_id)):
            if value:
                lines.append(f"{name}: {value}")
        return "\n".join(lines)

    async def to_inbound(self, parsed: ParsedEmail, fetched: FetchedMessage) -> InboundMessage:
        attachments = []
        for item in parsed.attachments:
            key = await self.files.put(item.data, item.filename, item.content_type)
            attachments.append(Attachment(item.filename, item.content_type, len(item.data),
                                          key, item.content_id))
        try:
            address = normalize_email(parsed.sender_address)
        except InvalidEmailAddress:
            address = UNKNOWN_SENDER
        in_reply_to = parsed.in_reply_to
        if parsed.report is not None and parsed.report.original_message_id:
            # A bounce belongs to the conversation of the mail that bounced.
            in_reply_to = in_reply_to or parsed.report.original_message_id
        body = parsed.new_text
        meta: dict = {"imap_uid": fetched.uid, "full_text": parsed.full_text,
                      "to": parsed.to, "cc": parsed.cc}
        if fetched.headers_only:  # stored all the same, so staff see it and open it elsewhere
            body = meta["full_text"] = self.too_large_note(parsed, fetched)
            meta["too_large"] = {"bytes": fetched.size,
                                 "limit_bytes": self.config.max_message_bytes}
        if parsed.signature:
            meta["signature"] = parsed.signature
        if parsed.automated_reasons:
            meta["automated_reasons"] = parsed.automated_reasons
        if parsed.date is not None:
            meta["date"] = parsed.date.isoformat()
        if address == UNKNOWN_SENDER:
            meta["raw_sender"] = parsed.sender_address
        if parsed.report is not None:
            meta["delivery_report"] = {"original_message_id": parsed.report.original_message_id,
                                       "action": parsed.report.action,
                                       "status": parsed.report.status,
                                       "diagnostic": parsed.report.diagnostic}
        received = fetched.internal_date or parsed.date or datetime.now(UTC)
        if received.tzinfo is None:  # imapclient gives naive local times
            received = received.astimezone(UTC)
        return InboundMessage(
            channel=Channel.EMAIL,
            account=self.config.account,
            provider=SURFACE,
            provider_message_id=parsed.message_id
            or synthetic_message_id(self.config.account, fetched.raw),
            sender=address,
            body=body,
            received_at=received,
            sender_name=parsed.sender_name,
            subject=parsed.subject,
            body_html=parsed.html,
            attachments=attachments,
            in_reply_to=in_reply_to,
            references=parsed.references,
            provider_thread_id=fetched.gmail_thread_id,
            automated=parsed.automated,
            meta=meta,
        )

    async def _receive_unparsed(self, fetched: FetchedMessage) -> InboundResult | None:
        provider_id = synthetic_message_id(self.config.account, fetched.raw)
        if await self.inbox.known_provider_ids(SURFACE, [provider_id]):
            return None  # recorded raw before: keep the one copy of its bytes
        key = await self.files.put(fetched.raw, "message.eml", "message/rfc822")
        return await self._receive(InboundMessage(
            channel=Channel.EMAIL, account=self.config.account, provider=SURFACE,
            provider_message_id=provider_id,
            sender=UNKNOWN_SENDER, body="(this email could not be read; the original is attached)",
            received_at=datetime.now(UTC),
            attachments=[Attachment("message.eml", "message/rfc822", len(fetched.raw), key)],
            automated=True, meta={"imap_uid": fetched.uid, "unparsed": True},
        ))

    # -- outbound -------------------------------------------------------------------------
    def message_id_for(self, ctx: OutboundContext) -> str:
        """Every attempt to send one stored message uses this same Message-ID."""
        message = ctx.message
        assert message.id is not None and ctx.conversation.id is not None
        return make_message_id(ctx.account.id, self.config.address, ctx.conversation.id,
                               message.id, message.created_at)

    def from_name(self, ctx: OutboundContext) -> str:
        """The display name of a reply's From: the account's, or "Ana at Support" when the
        account is set to show the agent (EMAIL_FROM_STYLE=agent) and an agent wrote it.
        A name that is only the address again is left out (From: help@shop.example)."""
        base = (self.config.from_name or ctx.account.name or "").strip()
        if base.lower() == self.config.address.lower():
            base = ""
        automatic = bool(ctx.message.meta.get("automatic"))
        if self.config.from_style == "agent" and ctx.author_name and not automatic:
            return f"{ctx.author_name} at {base}" if base else ctx.author_name
        return base

    def reply_all(self, ctx: OutboundContext) -> list[str]:
        """Who else gets a staff reply (Cc): the sender of the customer's last mail, when a
        colleague of theirs wrote it, and everyone it went To or Cc, except our own
        addresses and the conversation's contact (already in To). Automatic mail copies
        nobody; EMAIL_REPLY_ALL=false turns it off."""
        last = ctx.last_inbound
        if not self.config.reply_all or last is None or ctx.message.meta.get("automatic"):
            return []
        seen = {ctx.contact.address.lower(), *self.own_addresses, UNKNOWN_SENDER}
        out: list[str] = []
        for address in (ctx.last_inbound_sender, *(last.meta.get("to") or []),
                        *(last.meta.get("cc") or [])):
            address = str(address or "").strip().lower()
            if "@" in address and address not in seen and len(out) < MAX_CC:
                seen.add(address)
                out.append(address)
        return out

    async def build_outgoing(self, ctx: OutboundContext) -> OutgoingMail:
        message, conv = ctx.message, ctx.conversation
        assert message.id is not None and conv.id is not None
        attachments, total = [], 0
        for item in message.attachments:
            if not item.storage_key:
                continue
            data = await self.files.get(item.storage_key)
            total += len(data)
            attachments.append(OutgoingAttachment(item.filename, item.content_type, data))
        if total > self.config.max_attachment_bytes:
            limit = self.config.max_attachment_bytes // (1024 * 1024)
            raise PermanentError(f"attachments too large for email ({total} bytes; limit "
                                 f"{limit} MB, EMAIL_MAX_ATTACHMENT_MB)", "too_large")
        return OutgoingMail(
            from_address=self.config.address,
            from_name=self.from_name(ctx),
            to_address=ctx.contact.address,
            to_name=ctx.contact.name,
            subject=conv.subject or "",
            body=message.body,
            message_id=self.message_id_for(ctx),
            date=datetime.now(UTC),
            thread_ids=list(ctx.thread_ids),
            attachments=attachments,
            automatic=bool(message.meta.get("automatic")),
            cc=self.reply_all(ctx),
        )

    async def send(self, ctx: OutboundContext) -> str:
        """The outbox's send function: returns the Message-ID it sent (stored by mark_sent).
        Our own Sent copy goes in before SMTP (see sent_copy: it answers `lookup`)."""
        outgoing = await self.build_outgoing(ctx)
        msg = build_mail(outgoing, reply=bool(outgoing.thread_ids))
        raw, mid = msg.as_bytes(), outgoing.message_id
        token = await self._token_for_send()
        placed = Placed()
        if self.config.sent_copies == "own":
            placed = await self._imap(self.sent.prepare, raw, outgoing.date, mid, token)
            if placed.sent_already:
                log.info("email %s: %s is in the Sent folder already: not sent again",
                         self.config.account, mid)
                return mid
        try:
            await asyncio.to_thread(send_mail, self.config, msg,
                                    [outgoing.to_address, *outgoing.cc], token)
        except OutcomeUnknown:  # the server may have it: the copy keeps saying "sending"
            placed.drop()
            raise
        except DeliveryError as exc:
            if isinstance(exc, SmtpAuthError) and self.tokens is not None:
                self.tokens.invalidate()  # expired early or revoked: fetch a new one next try
            await asyncio.to_thread(self.sent.discard, placed, mid, token)
            raise
        except BaseException:  # a bug or a cancel: the outcome is unknown, the copy says so
            placed.drop()
            raise
        await asyncio.to_thread(self.sent.confirm, placed, mid, raw, outgoing.date, token)
        return mid

    async def lookup(self, ctx: OutboundContext) -> str | None:
        """The outbox's lookup for a send a crash left unknown, in the Sent folder. IMAP
        unreachable raises a TransientError rather than answering CANNOT_TELL: a resend
        would need IMAP anyway (the copy goes first), and the lookup failing leaves the
        attempt unknown, so the next try asks again instead of risking a second copy to
        the customer because of a passing outage."""
        if self.config.sent_copies == "none":
            return CANNOT_TELL
        token = await self._token_for_send()
        return await self._imap(self.sent.lookup, self.message_id_for(ctx), token)

    async def _imap(self, call, *args):
        try:
            return await asyncio.to_thread(call, *args)
        except SentFolderUnavailable:
            if self.tokens is not None:
                self.tokens.invalidate()  # a refused token is refreshed before the next try
            raise

    async def _token_for_send(self) -> str | None:
        if self.tokens is None:
            return None
        try:
            return await self.tokens.token()
        except OAuthError as exc:
            if exc.permanent:
                raise PermanentError(str(exc), "oauth") from exc
            raise TransientError(str(exc), "oauth") from exc
