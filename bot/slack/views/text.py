"""Text helpers shared by the Block Kit builders: escaping, splitting, truncating, formatting.

Everything here is pure. Customer-controlled text must go through `escape_mrkdwn` before it
lands in any mrkdwn field so nobody outside the workspace can ping it.
"""

from __future__ import annotations

import colorsys
import math
import re
import unicodedata
from datetime import UTC, datetime

ELLIPSIS = "…"
_WORD_JOINER = "\u2060"
# Plain "@channel" is auto-parsed in mrkdwn that is not verbatim; a word joiner keeps it inert.
_BROADCAST_RE = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_SLACK_ID_RE = re.compile(r"^[UWB][A-Z0-9]{1,30}$")


def escape_mrkdwn(text: str | None) -> str:
    """Escape `&`, `<`, `>` (Slack's control characters) and defuse literal @channel/@here.

    `<!channel>`, `<@U123>` and `<https://x|y>` come out as inert, readable text.
    """
    if not text:
        return ""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST_RE.sub(lambda m: "@" + _WORD_JOINER + m.group(1), out)


def mention(slack_user_id: str | None) -> str | None:
    """`<@U…>` for a well-formed Slack user id; None for anything else (never injected raw)."""
    if slack_user_id and _SLACK_ID_RE.match(slack_user_id):
        return f"<@{slack_user_id}>"
    return None


def link(url: str | None, label: str) -> str:
    """A mrkdwn link `<url|label>` with an escaped label; just the label when url is empty."""
    label = escape_mrkdwn(label).replace("|", "¦") or "link"
    if not url:
        return label
    safe = url.strip().replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E")
    safe = safe.replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{label}>"


def _open_token_start(text: str, cut: int) -> int:
    """Start of a Slack `<…>` token left open at `cut`, or -1."""
    lt = text.rfind("<", 0, cut)
    if lt >= 0 and text.rfind(">", lt, cut) < 0 and text.find(">", cut) >= 0:
        return lt
    return -1


def _safe_cut(text: str, cut: int) -> int:
    """Move a hard cut back so it does not split an `&amp;`-style entity, a `<…>` token or
    a combining sequence (never below 1, so progress is guaranteed)."""
    cut = max(1, min(cut, len(text)))
    start = text.rfind("&", max(0, cut - 4), cut)
    if start > 0:
        m = _ENTITY_RE.match(text, start)
        if m and m.end() > cut:
            cut = start
    lt = _open_token_start(text, cut)
    if lt > 0:
        cut = lt
    while 1 < cut < len(text) and (
        unicodedata.combining(text[cut]) or text[cut] in "\u200d\ufe0f\ufe0e"
    ):
        cut -= 1
    return cut


def _best_cut(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for minimum in (max(1, limit // 2), 1):
        candidates = [window.rfind("\n\n", 0, limit + 1), window.rfind("\n", 0, limit + 1)]
        # Last whitespace that leaves a non-empty head.
        for i in range(min(limit, len(window) - 1), minimum - 1, -1):
            if window[i].isspace():
                candidates.append(i)
                break
        for i in candidates:
            if i >= minimum and _open_token_start(text, i) < 0:
                return i
    return _safe_cut(text, limit)


def split_text(text: str | None, limit: int = 2900) -> list[str]:
    """Split text into chunks of at most `limit` characters.

    Cuts prefer paragraph breaks, then line breaks, then spaces, then a hard cut (never
    inside an `&amp;`-style entity or a `<…>` token). Only whitespace at the cuts is
    dropped; empty or blank text gives [].
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    if not text or not text.strip():
        return []
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _best_cut(rest, limit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            chunks.append(head)
    if rest:
        chunks.append(rest)
    return chunks


def truncate(text: str | None, limit: int) -> str:
    """Cut text to at most `limit` characters, ending with "…" when something was cut."""
    if not text:
        return ""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = _safe_cut(text, limit - 1)
    return text[:cut].rstrip() + ELLIPSIS


def plain_text(text: str | None, limit: int | None = None) -> dict:
    """A plain_text object (emoji on); never empty, truncated to `limit` when given."""
    value = text or " "
    if limit is not None:
        value = truncate(value, limit) or " "
    return {"type": "plain_text", "text": value, "emoji": True}


def mrkdwn(text: str, *, verbatim: bool = True) -> dict:
    """A mrkdwn text object. verbatim (default) stops Slack from auto-parsing plain "@name",
    "#channel" or URLs in customer text; our own `<@U…>` / `<url|label>` still work."""
    obj = {"type": "mrkdwn", "text": text or " "}
    if verbatim:
        obj["verbatim"] = True
    return obj


def clock(seconds: float) -> str:
    """A recording's length as players show it: 0:14, 3:05, 1:02:09."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_duration(seconds: float | None) -> str:
    """ "45 s", "12 min", "3 h 5 min", "2 d 4 h" (negative counts as its absolute value)."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def seconds_between(earlier: datetime, later: datetime) -> float:
    return (_aware(later) - _aware(earlier)).total_seconds()


def format_relative(when: datetime, now: datetime) -> str:
    """ "in 3 h", "5 min ago", "just now" (within a minute either way)."""
    delta = seconds_between(now, when)
    if abs(delta) < 60:
        return "just now"
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"


def slack_date(when: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """Slack's date token: rendered in each viewer's own time zone, UTC fallback text."""
    when = _aware(when)
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


_SQUARES = (
    ("red", ":large_red_square:"),
    ("orange", ":large_orange_square:"),
    ("yellow", ":large_yellow_square:"),
    ("green", ":large_green_square:"),
    ("blue", ":large_blue_square:"),
    ("purple", ":large_purple_square:"),
    ("brown", ":large_brown_square:"),
    ("black", ":black_large_square:"),
    ("white", ":white_large_square:"),
)
_EMOJI = dict(_SQUARES)


def _parse_hex(colour: str) -> tuple[float, float, float] | None:
    value = (colour or "").strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) == 8:  # RRGGBBAA
        value = value[:6]
    if len(value) != 6 or not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        return None
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def tag_emoji(colour_hex: str | None) -> str:
    """The coloured square emoji nearest to a hex colour (greys map to black/white)."""
    rgb = _parse_hex(colour_hex or "")
    if rgb is None:
        return _EMOJI["white"]
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    if v < 0.2:
        return _EMOJI["black"]
    if s < 0.2:
        return _EMOJI["black"] if v < 0.45 else _EMOJI["white"]
    deg = h * 360
    if deg >= 340 or deg < 15:
        name = "red"
    elif deg < 45:
        name = "brown" if v < 0.6 else "orange"
    elif deg < 70:
        name = "brown" if v < 0.5 else "yellow"
    elif deg < 170:
        name = "green"
    elif deg < 255:
        name = "blue"
    else:
        name = "purple"
    return _EMOJI[name]


# -- vocabulary shared by the builders -----------------------------------------------------
STATUS_LABELS = {
    "open": ":large_green_circle: Open",
    "pending": ":hourglass: Pending",
    "snoozed": ":zzz: Snoozed",
    "resolved": ":white_check_mark: Resolved",
}
CHANNEL_ICONS = {"email": ":email:", "whatsapp": ":speech_balloon:"}
CHANNEL_NAMES = {"email": "email", "whatsapp": "WhatsApp"}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, f":grey_question: {escape_mrkdwn(status) or 'Unknown'}")


def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, ":incoming_envelope:")


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, escape_mrkdwn(channel) or "message")


def join_limited(parts: list[str], limit: int, sep: str = "  ") -> str:
    """Join parts until `limit` chars, then "+N more" (the result never exceeds limit)."""
    out = ""
    for i, part in enumerate(parts):
        candidate = part if not out else out + sep + part
        more = f"{sep}+{len(parts) - i - 1} more" if i < len(parts) - 1 else ""
        if len(candidate) + len(more) > limit:
            tail = f"+{len(parts) - i} more"
            return (out + sep + tail) if out else truncate(tail, limit)
        out = candidate
    return out
