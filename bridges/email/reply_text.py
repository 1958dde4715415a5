"""The new text of a reply, apart from the quoted history and the signature. Pure.

mail-parser-reply finds signatures and most English quote headers; its Spanish
"El ... escribió:" pattern never matches (its look-ahead excludes what it then matches), and
it leaves bare `>` quoting in place, so the attribution lines of both languages and the
trailing quote block are cut here first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

# A line that introduces the quoted history (may be wrapped over two lines by the client).
_ATTRIBUTION = [
    r"^On\b.{0,200}?\bwrote:\s*$",                         # Gmail, Apple Mail, Thunderbird
    r"^El\b.{0,200}?\bescribi[oó]:\s*$",                   # Gmail / Apple Mail in Spanish
    r"^-{2,}\s*(Original Message|Mensaje original|Forwarded message|Mensaje reenviado)\s*-{2,}",
    r"^_{10,}\s*$",                                        # Outlook separator line
    r"^(From|De):\s.*\n(\s*\*?(Sent|Date|Enviado|Fecha|To|Para|Subject|Asunto)\*?:.*\n?){1,}",
    r"^\*?(From|De):\*?\s.*\n\*?(Sent|Date|Enviado el|Enviado|Fecha)\*?:",  # Outlook bold
]
_ATTRIBUTION_RE = [re.compile(p, re.I | re.M) for p in _ATTRIBUTION]
# "On Mon, 3 Mar 2025 at 10:00, Ana <ana@example.com>\nwrote:" — wrapped attribution.
_WRAPPED = re.compile(r"^(On|El)\b[^\n]{0,200}\n[^\n]{0,120}\b(wrote|escribi[oó]):\s*$",
                      re.I | re.M)
_QUOTED_LINE = re.compile(r"^\s*>")
_SIG_DASHES = re.compile(r"^-- ?$", re.M)
_PHONE_SIGS = re.compile(
    r"^(Sent from my|Sent from Outlook|Get Outlook for|Enviado desde mi|Enviado desde Outlook)"
    r"\b.*$",
    re.I | re.M,
)
_PARSER = EmailReplyParser(languages=["en", "es"])


@dataclass(frozen=True, slots=True)
class ReplyText:
    new_text: str  # what the customer wrote now, no signature
    signature: str  # the signature that was cut off (may be empty)
    quoted: bool  # whether quoted history was found and removed


def _cut_history(text: str) -> tuple[str, bool]:
    cut = len(text)
    for pattern in (*_ATTRIBUTION_RE, _WRAPPED):
        found = pattern.search(text)
        if found and found.start() < cut:
            cut = found.start()
    head = text[:cut]
    lines = head.split("\n")
    # Bottom-posted quote block (`> ...` lines at the end) is history too.
    while lines and (not lines[-1].strip() or _QUOTED_LINE.match(lines[-1])):
        lines.pop()
    # Interleaved quotes (`>` lines between the customer's answers) are dropped as well.
    kept = [line for line in lines if not _QUOTED_LINE.match(line)]
    quoted = cut < len(text) or len(kept) != len(text[:cut].split("\n"))
    return "\n".join(kept).strip(), quoted


def _cut_signature(text: str) -> tuple[str, str]:
    dashes = _SIG_DASHES.search(text)
    if dashes and dashes.start() > 0:
        return text[: dashes.start()].rstrip(), text[dashes.start():].strip()
    phone = _PHONE_SIGS.search(text)
    if phone and phone.start() > 0:
        return text[: phone.start()].rstrip(), text[phone.start():].strip()
    return text, ""


def split_reply(text: str) -> ReplyText:
    """Split plain text into new text / signature; the quoted history is dropped."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    head, quoted = _cut_history(text)
    head, signature = _cut_signature(head)
    try:
        replies = _PARSER.read(head).replies
    except Exception:  # the parser is regex-heavy; never let it lose a message
        replies = []
    if replies:
        first = replies[0]
        body = first.body.strip()
        if body:
            if first.signatures:
                signature = "\n".join(s for s in (first.signatures, signature) if s)
            return ReplyText(body, signature.strip(), quoted or len(replies) > 1)
    if head.strip():
        return ReplyText(head.strip(), signature, quoted)
    # Nothing new above the history (a bare forward): the whole text is the message.
    return ReplyText(text.strip(), "", False)
