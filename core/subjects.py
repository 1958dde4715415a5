"""Email subjects without reply/forward prefixes, for the last-resort threading fallback."""

from __future__ import annotations

import re

# Re, Aw (de), Sv (sv/da/no), Rv/Res (es/pt), R (it), Fw/Fwd/Tr/Rif, optional [n] counters.
_PREFIX = re.compile(r"^\s*(?:re|aw|sv|rv|res|r|fw|fwd|tr|rif|wg)\s*(?:\[\d+\])?\s*:\s*",
                     re.IGNORECASE)
_REPLY = re.compile(r"^\s*(?:re|aw|sv|rv|res|r)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)


def is_reply_subject(subject: str | None) -> bool:
    return bool(subject and _REPLY.match(subject))


def base_subject(subject: str | None) -> str:
    text = subject or ""
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split()).casefold()
