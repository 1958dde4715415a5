"""Raw RFC 5322 bytes -> ParsedEmail: what the bridge needs, decoded. Pure (no I/O).

`email.policy.default` decodes RFC 2047 headers and charsets; broken charsets degrade to
replacement characters instead of failing, so a message is never lost to its encoding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from bridges.email.bounces import DeliveryReport, delivery_report
from bridges.email.headers import (
    automated_reasons,
    header_text,
    message_ids,
    normalize_message_id,
    sender,
)
from bridges.email.html_text import html_to_text, strip_quoted_html
from bridges.email.reply_text import split_reply
from bridges.email.tnef import is_tnef, unpack

_PARSER = BytesParser(policy=policy.default)
PREVIEW_MAX = 40_000  # Slack's message text limit; the full text stays in meta


@dataclass(slots=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # inline images referenced as cid: in the HTML
    inline: bool = False


@dataclass(slots=True)
class ParsedEmail:
    message_id: str | None
    subject: str | None
    sender_name: str
    sender_address: str
    date: datetime | None
    new_text: str  # the customer's new words: no quotes, no signature
    full_text: str  # the whole text body (plain part, or the HTML converted)
    signature: str
    html: str | None
    in_reply_to: str | None
    references: list[str]
    to: list[str]
    cc: list[str]
    automated_reasons: list[str]
    attachments: list[ParsedAttachment] = field(default_factory=list)
    report: DeliveryReport | None = None

    @property
    def automated(self) -> bool:
        return bool(self.automated_reasons)


def parse_bytes(raw: bytes) -> EmailMessage:
    return _PARSER.parsebytes(raw)  # type: ignore[return-value]


def synthetic_message_id(account: str, raw: bytes) -> str:
    """A stable id for mail without Message-ID: the same bytes give the same id, whatever
    UID or UIDVALIDITY the server gives them (so a resync still dedupes)."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"<{digest}.{account}@threadline.invalid>"


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return str(content)


def _filename(part: EmailMessage, index: int) -> str:
    try:
        name = part.get_filename()  # RFC 2231 and RFC 2047 names decoded by the policy
    except Exception:
        name = None
    if name:
        return " ".join(name.replace("/", "_").replace("\\", "_").split())
    ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
           "application/pdf": ".pdf", "message/rfc822": ".eml"}.get(part.get_content_type(), "")
    return f"attachment-{index}{ext}"


def _boundary_missing(part: EmailMessage) -> bool:
    """A multipart whose declared boundary never appears: Python keeps the whole body as
    one string payload. It is the sender's text all the same."""
    return part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str)


def _leaves(part: EmailMessage):
    """The leaf parts, without descending into attached mails or delivery-status blocks."""
    ctype = part.get_content_type()
    if part.is_multipart() and not ctype.startswith("message/"):
        for sub in part.iter_parts():
            yield from _leaves(sub)  # type: ignore[arg-type]
    else:
        yield part


def _walk(msg: EmailMessage) -> tuple[str | None, str | None, list[ParsedAttachment]]:
    """First text/plain and text/html bodies, and every other part as an attachment."""
    plain = html = None
    attachments: list[ParsedAttachment] = []
    for part in _leaves(msg):
        if _boundary_missing(part):
            text = part.get_payload()
            if plain is None and text.strip():
                plain = text
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        is_attachment = disposition == "attachment" or (
            part.get_filename() is not None and ctype not in ("text/plain", "text/html")
        )
        if ctype == "text/plain" and plain is None and not is_attachment:
            plain = _text_of(part)
        elif ctype == "text/html" and html is None and not is_attachment:
            html = _text_of(part)
        elif ctype in ("message/delivery-status", "text/rfc822-headers"):
            continue  # read by the bounce parser; not for the customer's thread
        elif part is not msg or is_attachment or not ctype.startswith("text/"):
            data = part.get_payload(decode=True)
            if data is None:  # message/rfc822 parts: keep the attached mail whole
                inner = part.get_payload()
                inner = inner[0] if isinstance(inner, list) and inner else inner
                data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            cid = normalize_message_id(part.get("Content-ID"))
            attachments.append(ParsedAttachment(
                filename=_filename(part, len(attachments) + 1),
                content_type=ctype,
                data=data,
                content_id=cid.strip("<>") if cid else None,
                inline=disposition == "inline" or (cid is not None and disposition is None),
            ))
    return plain, html, attachments


def _unpack_tnef(walked):
    """Replace a readable winmail.dat by the files inside it (kept whole if unreadable)."""
    plain, html, attachments = walked
    out: list[ParsedAttachment] = []
    for attachment in attachments:
        inner = unpack(attachment.data) if is_tnef(attachment.filename,
                                                   attachment.content_type) else []
        if inner:
            out.extend(ParsedAttachment(name, ctype, data) for name, ctype, data in inner)
        else:
            out.append(attachment)
    return plain, html, out


def _date(msg: EmailMessage) -> datetime | None:
    value = header_text(msg, "Date")
    if not value:
        return None
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    from email.utils import getaddresses

    text = header_text(msg, name)
    return [a.lower() for _, a in getaddresses([text])] if text else []


def _unreadable(text: str) -> bool:
    """Binary data in a text part (a wrong charset or content type): mostly control
    characters or undecodable bytes, which would be posted as garbage."""
    sample = text[:20_000]
    if not sample.strip():
        return False
    bad = sum(1 for c in sample if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t\f"))
    return bad > 0.1 * len(sample)


def _as_attachment(text: str, index: int) -> ParsedAttachment:
    return ParsedAttachment(f"unreadable-text-{index}.bin", "application/octet-stream",
                            text.encode("utf-8", errors="surrogateescape"))


JUNK_NOTE = ("(the text of this email is not readable — binary data in a text part; it is "
             "kept as an attachment)")


def parse_email(raw: bytes, own_addresses: frozenset[str] = frozenset()) -> ParsedEmail:
    msg = parse_bytes(raw)
    plain, html, attachments = _unpack_tnef(_walk(msg))
    junk = False
    if plain is not None and _unreadable(plain):
        attachments.append(_as_attachment(plain, len(attachments) + 1))
        plain, junk = None, True
    if html is not None and _unreadable(html):
        attachments.append(_as_attachment(html, len(attachments) + 1))
        html, junk = None, True
    if plain is not None and plain.strip():
        full_text = plain
        reply = split_reply(plain)
        new_text, signature = reply.new_text, reply.signature
        if html is not None and not reply.quoted:
            # Some clients put the quote only in the HTML structure: prefer it when the
            # plain part showed no history but the HTML has quote containers.
            cleaned, removed = strip_quoted_html(html)
            if removed:
                html_reply = split_reply(html_to_text(cleaned))
                if html_reply.new_text:
                    new_text, signature = html_reply.new_text, html_reply.signature
    elif html is not None:
        full_text = html_to_text(html)
        cleaned, _ = strip_quoted_html(html)
        reply = split_reply(html_to_text(cleaned))
        new_text, signature = reply.new_text, reply.signature
        if not new_text:
            new_text = full_text
    else:
        full_text = new_text = signature = ""
        if junk:
            full_text = new_text = JUNK_NOTE
    return _parsed(msg, own_addresses, new_text=new_text[:PREVIEW_MAX], full_text=full_text,
                   signature=signature, html=html, attachments=attachments,
                   report=delivery_report(msg))


def parse_headers(raw: bytes, own_addresses: frozenset[str] = frozenset()) -> ParsedEmail:
    """A message's header alone (mail too large to import): no body, no attachments."""
    msg = _PARSER.parsebytes(raw, headersonly=True)
    return _parsed(msg, own_addresses, new_text="", full_text="", signature="", html=None,
                   attachments=[], report=None)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID exactly as parse_email reads it, from the header alone (cheap)."""
    try:
        return normalize_message_id(header_text(_PARSER.parsebytes(raw, headersonly=True),
                                                "Message-ID"))
    except Exception:  # a header the parser cannot read: the caller falls back to a hash
        return None


def _parsed(msg: EmailMessage, own_addresses: frozenset[str], **body) -> ParsedEmail:
    name, address = sender(msg)
    in_reply_to = message_ids(header_text(msg, "In-Reply-To"))
    return ParsedEmail(
        message_id=normalize_message_id(header_text(msg, "Message-ID")),
        subject=header_text(msg, "Subject"),
        sender_name=name,
        sender_address=address,
        date=_date(msg),
        in_reply_to=in_reply_to[-1] if in_reply_to else None,
        references=message_ids(header_text(msg, "References")),
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        automated_reasons=automated_reasons(msg, own_addresses),
        **body,
    )
