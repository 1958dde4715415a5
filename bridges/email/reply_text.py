"""The new text of a reply, apart from the quoted history and the signature. Pure.

Line by line, because that is how mail clients write replies: find where the quoted
history starts (an attribution line in any of the clients' shapes and languages, an
"Original Message" separator, an Outlook header block, `>` quoting), take what the customer
wrote above it (or below it, when they bottom-post), then cut the signature while keeping
what customers write after it (a P.S.). mail-parser-reply, tried first, misses half of the
shapes in our corpus (tests/bridges/email/reply_corpus.jsonl): no Portuguese, no
bottom-posting, and its signature rule swallows a P.S. and dash lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERBS = (r"wrote|writes|escribi[oó]|escreveu|a [ée]crit|schrieb|ha scritto|scrisse|"
          r"schreef|skrev|napisa[lł]")
# One line (or two joined, when the client wrapped it) that introduces the quote.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    rf"(?:on|el|le|am|em|il giorno|il|op|den|w dniu)\b.{{0,300}}?\b(?:{_VERBS})\b.{{0,160}}$"
    rf"|-{{2,}}\s*(?:on|el|le|am|em|il)\b.{{0,300}}\b(?:{_VERBS})\b\s*-{{2,}}\s*$"  # Zoho
    r"|\d{4}-\d{2}-\d{2}\b.{0,200}:\s*$"  # Gmail's older "2016-10-24 15:36 GMT+02:00 Ana <a>:"
    rf"|.{{0,120}}<[^<>\s]+@[^<>\s]+>\)?\s*(?:{_VERBS})\s*:?\s*$"  # Ana Ruiz <a@b> wrote:
    r"|(?:at|a las|à|um|às|alle)\b.{0,80}\b(?:you wrote|escribiste|usted escribi[oó]|"
    r"vous avez [ée]crit|schrieben sie|voc[eê] escreveu|hai scritto)\s*:\s*$"  # Eudora
    r")", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*[-*_=>\s]*\*?\s*(?:original message|mensaje original|message d'origine|"
    r"urspr[üu]ngliche nachricht|mensagem original|messaggio originale|forwarded message|"
    r"mensaje reenviado|message transf[ée]r[ée]|weitergeleitete nachricht|"
    r"mensagem encaminhada|messaggio inoltrato|reenviado)\s*\*?[-*_=\s]*$", re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:_{8,}|-{8,})\s*$")  # Outlook's and others' divider line
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|de|von|da|van|fr[åa]n|od)\s?\*?\s?:", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|enviado(?: el)?|enviada|fecha|envoy[ée]|gesendet|datum|inviato|data|"
    r"to|para|[àa]|an|subject|asunto|objet|betreff|oggetto|assunto|cc|reply-to|"
    r"responder a|r[ée]pondre [àa]|antwort an|rispondi a)\s?\*?\s?:", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")
_SIGN_OFF = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|thanks again|best regards|kind regards|warm regards|"
    r"regards|best wishes|cheers|best|sincerely|yours sincerely|yours faithfully|"
    r"un saludo|saludos(?: cordiales)?|un cordial saludo|atentamente|gracias|muchas gracias|"
    r"cordialmente|un abrazo|"
    r"cordialement|bien [àa] vous|bien cordialement|salutations|meilleures salutations|"
    r"mit freundlichen gr[üu](?:ß|ss)en|viele gr[üu](?:ß|ss)e|beste gr[üu](?:ß|ss)e|"
    r"liebe gr[üu](?:ß|ss)e|gr[üu](?:ß|ss)e|lg|vg|mfg|"
    r"cumprimentos|atenciosamente|abra[çc]os|obrigad[oa]|"
    r"cordiali saluti|distinti saluti|saluti|un saluto|grazie)"
    r"[\s,.!]*(?:\s\S+){0,2}\s*$", re.IGNORECASE)
_SIG_DASHES = re.compile(r"^-- ?$")
_FOOTER = re.compile(
    r"^\s*(?:sent from my|sent from outlook|sent from mail for|get outlook for|"
    r"enviado desde mi|enviado desde outlook|obtener outlook para|envoy[ée] de mon|"
    r"envoy[ée] depuis|von meinem .{1,40} gesendet|gesendet von|inviato da|enviado do meu|"
    r"enviado a partir do)\b.*$", re.IGNORECASE)
_POSTSCRIPT = re.compile(r"^\s*(?:p\.?\s?d\.?|p\.?\s?s\.?|n\.?\s?b\.?)(?:[:.\s]|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReplyText:
    new_text: str  # what the customer wrote now, no signature
    signature: str  # the signature that was cut off (may be empty)
    quoted: bool  # whether quoted history was found and removed


def _is_header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at line i (its From:
    may wrap onto the next line)."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    return any(_HEADER_OTHER.match(line) for line in lines[i + 1:i + 4])


def _history_start(lines: list[str], quotes: bool = True) -> int | None:
    """The first line of the quoted history; with `quotes=False` only an attribution, a
    separator or a header block counts (below a bottom-post, `>` lines are interleaved
    answers' context, dropped one by one)."""
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        joined = f"{line.rstrip()} {lines[i + 1].strip()}" if i + 1 < len(lines) else line
        if (_ATTRIBUTION.match(line) or _SEPARATOR.match(line) or _is_header_block(lines, i)
                or (_RULE.match(line) and i + 1 < len(lines)
                    and (_is_header_block(lines, i + 1) or _HEADER_FROM.match(lines[i + 1])))):
            return i
        if i + 1 < len(lines) and lines[i + 1].strip() and _ATTRIBUTION.match(joined) \
                and not _ATTRIBUTION.match(lines[i + 1]) and len(line) < 200:
            return i  # an attribution the client wrapped over two lines
        if quotes and _QUOTED.match(line):
            return i
    return None


def _after_quote(lines: list[str], start: int) -> list[str]:
    """Bottom-posting: the new text below the attribution and its `>` block."""
    i = start + 1
    if i < len(lines) and not _QUOTED.match(lines[start]) and _ATTRIBUTION.match(
            f"{lines[start].rstrip()} {lines[i].strip()}") and not _QUOTED.match(lines[i]) \
            and lines[i].strip():
        i += 1  # the attribution's second line
    while i < len(lines) and (not lines[i].strip() or _QUOTED.match(lines[i])):
        i += 1
    return lines[i:]


def _drop_quoted(lines: list[str]) -> list[str]:
    """Interleaved answers: the `>` lines go, and the blank lines around each removed block
    become one."""
    out: list[str] = []
    removed = False
    for line in lines:
        if _QUOTED.match(line):
            removed = True
            continue
        if removed and not line.strip() and out and not out[-1].strip():
            continue
        if line.strip():
            removed = False
        out.append(line)
    return out


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(body, signature, postscript): the signature runs from a "-- " line, a sign-off line
    or a phone's footer to the end, except a P.S. the customer wrote after it."""
    start = None
    for i, line in enumerate(lines):
        if _SIG_DASHES.match(line) or _FOOTER.match(line):
            start = i
            break
        if i > 0 and _SIGN_OFF.match(line) and not lines[i - 1].rstrip().endswith(":"):
            start = i
            break
    if start is None:
        return lines, [], []
    tail = lines[start:]
    ps_at = next((j for j, line in enumerate(tail) if _POSTSCRIPT.match(line)), None)
    if ps_at is None:
        return lines[:start], tail, []
    postscript = [line for line in tail[ps_at:] if not _FOOTER.match(line)]
    dashes = next((j for j, line in enumerate(postscript) if _SIG_DASHES.match(line)), None)
    if dashes is not None:
        postscript = postscript[:dashes]
    return lines[:start], tail[:ps_at], _trim(postscript)


def split_reply(text: str) -> ReplyText:
    """Split plain text into new text / signature; the quoted history is dropped."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    start = _history_start(lines)
    quoted = start is not None
    head = lines if start is None else lines[:start]
    if start is not None and not any(line.strip() for line in head) and not (
            _SEPARATOR.match(lines[start]) or _RULE.match(lines[start])
            or _HEADER_FROM.match(lines[start])):  # a forward is not a bottom-post
        head = _after_quote(lines, start)  # bottom-posted
        below = _history_start(head, quotes=False)
        if below is not None:
            head = head[:below]
    head = _drop_quoted(head)
    head = [line for line in head if not _RULE.match(line)]
    body, signature, postscript = _cut_signature(_trim(head))
    body = _trim(body)
    if postscript:
        body = [*body, "", *postscript] if body else postscript
    new_text = "\n".join(body).strip()
    if not new_text:
        # Nothing new (a bare forward, or only a signature): the whole text is the message.
        return ReplyText(text.strip(), "", False)
    return ReplyText(new_text, "\n".join(_trim(signature)).strip(), quoted)
