"""Delivery reports (RFC 3464 multipart/report) and the classic bounce shapes. Pure.

A bounce names the message that failed (the Message-ID in the returned headers) and why
(Status + Diagnostic-Code); the bridge records it as a failed delivery of our message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from bridges.email.headers import normalize_message_id

_STATUS = re.compile(r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
_ACTION = re.compile(r"^Action:\s*(\w+)", re.I | re.M)
_DIAGNOSTIC = re.compile(r"^Diagnostic-Code:\s*(?:smtp;\s*)?(.+(?:\n[ \t].+)*)", re.I | re.M)
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.I | re.M)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    original_message_id: str | None
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str | None  # enhanced status code, e.g. 5.1.1
    diagnostic: str | None

    @property
    def failed(self) -> bool:
        return self.action == "failed"


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/delivery-status: a list of header blocks
        return "\n".join(p.as_string() if hasattr(p, "as_string") else str(p) for p in payload)
    if isinstance(payload, str):
        data = part.get_payload(decode=True)
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else payload
    return str(payload)


def _original_id(msg: EmailMessage) -> str | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if hasattr(inner, "get"):
                mid = normalize_message_id(inner.get("Message-ID"))
                if mid:
                    return mid
        elif ctype == "text/rfc822-headers":
            found = _MESSAGE_ID.search(_part_text(part))
            if found:
                return normalize_message_id(found.group(1))
    return None


def delivery_report(msg: EmailMessage) -> DeliveryReport | None:
    """The report this mail carries, or None when it is not a delivery report."""
    if msg.get_content_type() != "multipart/report":
        return None
    status_text = ""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            status_text = _part_text(part)
            break
    action = _ACTION.search(status_text)
    status = _STATUS.search(status_text)
    diagnostic = _DIAGNOSTIC.search(status_text)
    return DeliveryReport(
        original_message_id=_original_id(msg),
        action=(action.group(1).lower() if action else "failed"),
        status=status.group(1) if status else None,
        diagnostic=" ".join(diagnostic.group(1).split()) if diagnostic else None,
    )
