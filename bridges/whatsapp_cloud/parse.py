"""Meta webhook JSON -> plain parsed items. No I/O: media are references, fetched later.

Total over any JSON: a field of the wrong type reads as absent (`pick`/`text`), so the
only error is PayloadError for a body that is not a delivery at all (answered 400). Every
message becomes something: types we do not render, or known types in a shape we cannot
read, are kept as an "unsupported" body plus their raw payload in meta, never dropped. A
part we cannot read at all (a change whose value is no object, a message with no sender)
becomes an UnreadablePart, kept raw, and the rest of the delivery is still parsed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridges.whatsapp_common.media import MediaRef, join_body
from bridges.whatsapp_common.payload import (
    MAX_BODY,
    MAX_CODE,
    MAX_ID,
    MAX_NAME,
    MAX_REASON,
    TooDeep,
    bounded,
    bounded_id,
    clean_text,
    clean_tree,
    pick,
    text,
)

MEDIA_TYPES = ("image", "video", "audio", "voice", "document", "sticker")
STATUS_VALUES = ("sent", "delivered", "read", "failed")
MAX_SENDER = 64
MAX_RAW = 64 * 1024  # bytes of one unreadable part kept (a delivery is up to 3 MB)
MAX_PATH = 500  # the unreadable_inbound.path column


class PayloadError(ValueError):
    """The body is not a WhatsApp webhook delivery (answered with 400 and this reason)."""


@dataclass(slots=True)
class ParsedMessage:
    phone_number_id: str
    wamid: str
    sender: str
    sender_name: str
    received_at: datetime
    type: str
    body: str
    media: MediaRef | None = None
    context_id: str | None = None
    meta: dict = field(default_factory=dict)
    path: str = ""  # where it was in the delivery
    item: dict | None = None  # as received: kept raw if the inbox refuses the message


@dataclass(slots=True)
class ParsedReaction:
    phone_number_id: str
    wamid: str
    sender: str
    target: str
    emoji: str
    at: datetime


@dataclass(slots=True)
class ParsedStatus:
    phone_number_id: str
    wamid: str
    status: str
    at: datetime
    error_code: str | None = None
    error_text: str | None = None


@dataclass(frozen=True, slots=True)
class UnreadablePart:
    path: str  # e.g. "entry[0].changes[1].value.messages[2]"
    reason: str
    raw: str  # JSON text, storable and bounded
    digest: str  # sha256 of the path and the whole part


@dataclass(slots=True)
class ParsedDelivery:
    messages: list[ParsedMessage] = field(default_factory=list)
    reactions: list[ParsedReaction] = field(default_factory=list)
    statuses: list[ParsedStatus] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # change fields we do not handle
    unreadable: list[UnreadablePart] = field(default_factory=list)

    def skip(self, path: str, reason: str, part) -> None:
        self.unreadable.append(unreadable_part(path, reason, part))


def _time(raw) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)  # kept, and visibly odd, rather than dropped


def _synthetic_id(item: dict) -> str:
    """A message without an id still needs a stable one so retries dedupe."""
    digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:32]
    return f"synthetic.{digest}"


def load_delivery(body: bytes) -> ParsedDelivery:
    """The raw (signed) body -> a delivery, or PayloadError with the reason."""
    try:
        data = clean_tree(json.loads(body))
    except RecursionError:
        raise PayloadError("the body is too deeply nested") from None
    except TooDeep as exc:
        raise PayloadError(str(exc)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    return parse_delivery(data)


def parse_delivery(data: object) -> ParsedDelivery:
    """PayloadError only when `data` is not a delivery at all; a narrower problem makes
    that part unreadable (kept raw in `unreadable`) and the rest is parsed."""
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    if data.get("object") != "whatsapp_business_account":
        got = bounded(repr(data.get("object")), 80)
        raise PayloadError(f"object must be 'whatsapp_business_account', got {got}")
    entries = data.get("entry")
    if entries is not None and not isinstance(entries, list):
        raise PayloadError("entry must be a list")
    out = ParsedDelivery()
    for e, entry in _objects(out, entries, "entry"):
        for c, change in _objects(out, entry.get("changes"), f"entry[{e}].changes"):
            path = f"entry[{e}].changes[{c}]"
            kind = change.get("field", "messages")
            if kind != "messages":
                out.ignored.append(bounded(str(kind), 80))
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                out.skip(f"{path}.value", f"must be an object, got {_kind(value)}", value)
                continue
            _parse_value(value, f"{path}.value", out)
    return out


def _objects(out: ParsedDelivery, value, path: str) -> Iterator[tuple[int, dict]]:
    """The object items of a list field; anything else there is unreadable."""
    if value is None:
        return
    if not isinstance(value, list):
        out.skip(path, f"must be a list, got {_kind(value)}", value)
        return
    for i, item in enumerate(value):
        if isinstance(item, dict):
            yield i, item
        else:
            out.skip(f"{path}[{i}]", f"must be an object, got {_kind(item)}", item)


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__


def _parse_value(value: dict, path: str, out: ParsedDelivery) -> None:
    phone_id = text(pick(value, "metadata", dict), "phone_number_id")
    if not phone_id and (value.get("messages") or value.get("statuses")):
        # No number to route by: the whole change is kept as one part.
        out.skip(path, "metadata.phone_number_id is missing", value)
        return
    names = {}
    for contact in pick(value, "contacts", list, []):
        if text(contact, "wa_id"):
            names[text(contact, "wa_id")] = bounded(
                text(pick(contact, "profile", dict), "name"), MAX_NAME)
    for i, item in _objects(out, value.get("messages"), f"{path}.messages"):
        sender = text(item, "from") or (next(iter(names)) if len(names) == 1 else "")
        sender = bounded(sender, MAX_SENDER)  # longer is no phone number; keeps logs sane
        if not sender:
            out.skip(f"{path}.messages[{i}]", "from is missing (and the change has not "
                     "exactly one contact to take it from)", item)
            continue
        wamid = bounded_id(text(item, "id") or _synthetic_id(item))
        at = _time(item.get("timestamp"))
        kind = text(item, "type") or "unknown"
        reaction = pick(item, "reaction", dict)
        if kind == "reaction" and text(reaction, "message_id"):
            out.reactions.append(ParsedReaction(
                phone_id, wamid, sender, bounded_id(text(reaction, "message_id")),
                bounded(text(reaction, "emoji"), 32), at))
            continue
        msg = _message(item, phone_id, wamid, sender, names.get(sender, ""), at, kind)
        msg.path, msg.item = f"{path}.messages[{i}]", item
        out.messages.append(msg)
    for _, item in _objects(out, value.get("statuses"), f"{path}.statuses"):
        errors = pick(item, "errors", list, [])
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        details = text(pick(first, "error_data", dict), "details") or None
        reason = join_body(text(first, "title") or text(first, "message"), details)
        out.statuses.append(ParsedStatus(
            phone_id, bounded_id(text(item, "id")), text(item, "status"),
            _time(item.get("timestamp")), bounded(text(first, "code"), MAX_CODE) or None,
            bounded(reason, MAX_REASON) or None,
        ))


def unreadable_part(path: str, reason: str, part) -> UnreadablePart:
    """The part as storable JSON text: cleaned, cut at MAX_RAW bytes (the digest is over
    all of it, so a redelivery is recognised however long it is)."""
    raw = clean_text(json.dumps(part, ensure_ascii=False, default=repr))
    digest = hashlib.sha256(f"{path}\n{raw}".encode()).hexdigest()
    data = raw.encode()
    if len(data) > MAX_RAW:
        raw = data[:MAX_RAW].decode(errors="ignore") + f"\n[cut: {len(data)} bytes in all]"
    return UnreadablePart(bounded(path, MAX_PATH), bounded(reason, MAX_REASON), raw, digest)


def _message(item: dict, phone_id: str, wamid: str, sender: str, name: str, at: datetime,
             kind: str) -> ParsedMessage:
    content = item.get(kind)
    meta: dict = {"type": kind}
    context = pick(item, "context", dict, {})
    if context:
        meta["context"] = context
    for extra in ("referral", "errors"):
        if item.get(extra):
            meta[extra] = item[extra]
    msg = ParsedMessage(phone_id, wamid, sender, name, at, kind, "", None,
                        bounded_id(text(context, "id")) or None, meta)
    shape, render = _RENDERERS.get(kind, (None, None))
    media_id = text(content, "id")
    if kind in MEDIA_TYPES and 0 < len(media_id) <= MAX_ID:
        voice = kind == "voice" or bool(content.get("voice"))
        msg.media = MediaRef("voice" if voice else kind, media_id,
                             text(content, "mime_type") or "application/octet-stream",
                             bounded(text(content, "filename"), MAX_NAME) or None, None)
        meta["media_id"] = msg.media.ref
        msg.body = text(content, "caption")
    elif render is not None and isinstance(content, shape):
        msg.body = render(content)
    else:
        _keep_raw(msg, item)
        msg.body = f"[unsupported WhatsApp message: {bounded(kind, 80)}]"
        title = _first_error_title(item)
        if title:
            msg.body += f" ({bounded(title, MAX_REASON)})"
    if len(msg.body) > MAX_BODY:  # the whole text stays in meta["raw"]
        _keep_raw(msg, item)
        msg.body = bounded(msg.body, MAX_BODY) + "\n[message shortened: see its raw payload]"
    if not msg.body and msg.media is None:
        msg.body = f"[empty WhatsApp {bounded(kind, 80)} message]"
    return msg


def _keep_raw(msg: ParsedMessage, item: dict) -> None:
    msg.meta["raw"] = {k: v for k, v in item.items() if k not in ("from", "id", "timestamp")}


def _first_error_title(item: dict) -> str:
    errors = pick(item, "errors", list, [])
    err = errors[0] if errors and isinstance(errors[0], dict) else {}
    return (text(pick(err, "error_data", dict), "details") or text(err, "title")
            or text(err, "message"))


def _text(c: dict) -> str:
    return text(c, "body")


def location_text(c: dict) -> str:
    lat, lng = text(c, "latitude"), text(c, "longitude")
    label = join_body(text(c, "name"), text(c, "address"))
    link = f"https://maps.google.com/?q={lat},{lng}" if lat and lng else ""
    return join_body("📍 Location" + (f": {label}" if label else ""), link, text(c, "url"))


def contacts_text(cards: list) -> str:
    lines = []
    for card in cards:
        if not isinstance(card, dict):
            continue
        name = pick(card, "name", dict, {})
        title = text(name, "formatted_name") or join_body(
            text(name, "first_name"), text(name, "last_name")) or "(no name)"
        parts = [f"👤 {title}"]
        company = text(pick(card, "org", dict), "company")
        if company:
            parts.append(f"   {company}")
        for phone in pick(card, "phones", list, []):
            if text(phone, "phone"):
                kind = text(phone, "type")
                parts.append(f"   tel {text(phone, 'phone')}" + (f" ({kind})" if kind else ""))
        for email in pick(card, "emails", list, []):
            if text(email, "email"):
                parts.append(f"   email {text(email, 'email')}")
        lines.append("\n".join(parts))
    return "Shared contact(s):\n" + "\n".join(lines) if lines else "[shared an empty contact]"


def interactive_text(c: dict) -> str:
    kind = text(c, "type")
    reply = pick(c, kind, dict, {})
    if kind in ("button_reply", "list_reply"):
        return join_body(text(reply, "title") or text(reply, "id"), text(reply, "description"))
    if kind == "nfm_reply":  # WhatsApp Flows: the form's answers as JSON
        return join_body(text(reply, "body") or "Form submitted", text(reply, "response_json"))
    return f"[interactive reply: {bounded(kind, 80)}]"


def button_text(c: dict) -> str:
    return text(c, "text") or text(c, "payload")


def order_text(c: dict) -> str:
    catalog = text(c, "catalog_id")
    lines = ["🛒 Order" + (f" (catalog {catalog})" if catalog else "")]
    for item in pick(c, "product_items", list, []):
        if isinstance(item, dict):
            lines.append(f"• {text(item, 'quantity', '1')} × "
                         f"{text(item, 'product_retailer_id', '?')} at "
                         f"{text(item, 'item_price', '?')} {text(item, 'currency')}".rstrip())
    if text(c, "text"):
        lines.append(text(c, "text"))
    return "\n".join(lines)


def system_text(c: dict) -> str:
    return "[WhatsApp] " + (text(c, "body") or text(c, "type") or "system message")


# type -> (the JSON shape it must have, renderer); another shape is kept as unsupported
_RENDERERS = {
    "text": (dict, _text),
    "location": (dict, location_text),
    "contacts": (list, contacts_text),
    "interactive": (dict, interactive_text),
    "button": (dict, button_text),
    "order": (dict, order_text),
    "system": (dict, system_text),
}
