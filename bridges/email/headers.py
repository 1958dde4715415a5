"""Header helpers: message ids, addresses, subjects and loop protection. Pure functions."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

_MSGID = re.compile(r"<([^<>\s]+)>")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|rv|fw|fwd|res)\s*(\[\d+\])?\s*:\s*)+", re.I)


def normalize_message_id(value: str | None) -> str | None:
    """`<id@host>` with the brackets, whitespace removed; None when there is no id."""
    if not value:
        return None
    found = _MSGID.search(str(value))
    if found:
        return f"<{found.group(1)}>"
    bare = "".join(str(value).split())
    return f"<{bare.strip('<>')}>" if bare.strip("<>") else None


def message_ids(value: str | None) -> list[str]:
    """Every `<id>` of a References / In-Reply-To header, in order, without repeats."""
    if not value:
        return []
    seen: list[str] = []
    for found in _MSGID.findall(str(value)):
        mid = f"<{found}>"
        if mid not in seen:
            seen.append(mid)
    return seen


def header_text(msg: EmailMessage, name: str) -> str | None:
    """A header decoded (RFC 2047) to text; broken encodings degrade, never raise."""
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse at all
        raw = msg.get_all(name, failobj=[None])  # pragma: no cover - defensive
        value = raw[0] if raw else None
    if value is None:
        return None
    return " ".join(str(value).split())


def sender(msg: EmailMessage) -> tuple[str, str]:
    """(display name, lower-case address) of From (Sender / Return-Path as fallback)."""
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        text = header_text(msg, name)
        if not text:
            continue
        pairs = getaddresses([text])
        for display, address in pairs:
            if "@" in address:
                return display.strip().strip('"'), address.strip().lower()
        display, address = parseaddr(text)
        if "@" in address:
            return display.strip(), address.strip().lower()
    return "", ""


def strip_reply_prefixes(subject: str | None) -> str:
    """`Re: RE: Fwd: hello` -> `hello` (English, German, Nordic, Spanish `RV`/`RE`)."""
    return _REPLY_PREFIX.sub("", subject or "").strip()


def reply_subject(subject: str | None) -> str:
    """The subject of a reply: one `Re:` in front, never `Re: Re:`."""
    base = strip_reply_prefixes(subject)
    return f"Re: {base}" if base else "Re:"


# -- loop and noise protection ------------------------------------------------------------

_BULK_PRECEDENCE = {"bulk", "junk", "list"}
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Owner",
                 "List-Subscribe", "List-Archive")


def automated_reasons(msg: EmailMessage, own_addresses: frozenset[str] = frozenset()) -> list[str]:
    """Why this mail must never get an automatic answer (empty: a person wrote it)."""
    reasons = []
    auto = (header_text(msg, "Auto-Submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        reasons.append(f"auto-submitted:{auto.split(';')[0]}")
    precedence = (header_text(msg, "Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"precedence:{precedence}")
    if any(msg.get(h) is not None for h in _LIST_HEADERS):
        reasons.append("mailing-list")
    if "Return-Path" in msg:
        path = (header_text(msg, "Return-Path") or "").strip()
        if path in ("", "<>"):
            reasons.append("empty-return-path")
    if msg.get_content_type() == "multipart/report":
        reasons.append("delivery-report")
    # (X-Auto-Response-Suppress is not a sign: Outlook puts it on ordinary mail too.)
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        reasons.append("autoresponder-header")
    _, address = sender(msg)
    if address and address in own_addresses:
        reasons.append("own-address")
    return reasons
