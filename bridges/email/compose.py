"""Outgoing mail: headers for threading and loop protection, text + HTML, attachments. Pure."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from bridges.email.headers import reply_subject

# The local part of every Message-ID Threadline generates starts with this: a bounce that
# names such an id is about our own mail (no database needed to tell).
OUR_ID_PREFIX = "threadline."
_URL = re.compile(r"(https?://[^\s<>\"]+)")


@dataclass(slots=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class OutgoingMail:
    from_address: str
    from_name: str
    to_address: str
    to_name: str
    subject: str
    body: str
    message_id: str
    date: datetime
    thread_ids: list[str] = field(default_factory=list)  # oldest first
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    automatic: bool = False  # Threadline's own automatic mail (auto-replies)
    cc: list[str] = field(default_factory=list)  # reply-all: the others the customer wrote to


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else "threadline.invalid"


def make_message_id(account: str, address: str, conversation_id: int, message_id: int,
                    created_at: datetime) -> str:
    """Stable for one stored message (a retry after a crash reuses it), unique across
    databases (the creation time and account are part of it)."""
    seed = f"{account}|{conversation_id}|{message_id}|{created_at.isoformat()}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"<{OUR_ID_PREFIX}{message_id}.{digest}@{domain_of(address)}>"


def is_our_message_id(message_id: str | None) -> bool:
    return bool(message_id) and message_id.strip("<>").startswith(OUR_ID_PREFIX)


def mark_automatic(msg: EmailMessage) -> EmailMessage:
    """Headers every automatic mail of Threadline carries (RFC 3834 + Exchange)."""
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg


def text_to_html(text: str) -> str:
    """A simple HTML alternative: escaped paragraphs, line breaks and clickable links."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph)
        escaped = _URL.sub(r'<a href="\1">\1</a>', escaped)
        out.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return ('<!DOCTYPE html><html><body style="font-family: sans-serif">\n'
            + "\n".join(out) + "\n</body></html>\n")


def _address(name: str, address: str) -> Address:
    local, _, domain = address.partition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def build_mail(mail: OutgoingMail, reply: bool) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _address(mail.from_name, mail.from_address)
    msg["To"] = _address(mail.to_name, mail.to_address)
    if mail.cc:
        msg["Cc"] = [_address("", a) for a in mail.cc]
    msg["Subject"] = reply_subject(mail.subject) if reply else (mail.subject or "")
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = mail.message_id
    if mail.thread_ids:
        msg["In-Reply-To"] = mail.thread_ids[-1]
        msg["References"] = " ".join(mail.thread_ids[-20:])  # long chains are trimmed
    if mail.automatic:
        mark_automatic(msg)
    msg.set_content(mail.body or "")
    msg.add_alternative(text_to_html(mail.body or ""), subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=attachment.filename)
    return msg
