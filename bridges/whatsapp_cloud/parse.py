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

from bridges.whatsapp_cloud.render import RENDERERS
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
class ParsedRevision:
    """A customer's edit (`body`: the new text) or deletion (`body` None) of a message."""

    phone_number_id: str
    wamid: str
    sender: str
    target: str
    body: str | None
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
    revisions: list[ParsedRevision] = field(default_factory=list)
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
        revision = _revision(item, kind, phone_id, wamid, sender, at)
        if revision is not None:
            out.revisions.append(revision)
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


def _revision(item: dict, kind: str, phone_id: str, wamid: str, sender: str,
              at: datetime) -> ParsedRevision | None:
    """`edit` carries the edited message whole (text, or a caption); `revoke` only the id
    of the message deleted. Without that id it is kept as an unsupported message."""
    content = pick(item, kind, dict, {})
    target = bounded_id(text(content, "original_message_id"))
    if kind not in ("edit", "revoke") or not target:
        return None
    if kind == "revoke":
        return ParsedRevision(phone_id, wamid, sender, target, None, at)
    inner = pick(content, "message", dict, {})
    inner_kind = text(inner, "type") or "text"
    edited = _message(inner, phone_id, wamid, sender, "", at, inner_kind)
    return ParsedRevision(phone_id, wamid, sender, target, edited.body, at)


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
    shape, render = RENDERERS.get(kind, (None, None))
    media_id = text(content, "id")
    if kind in MEDIA_TYPES and 0 < len(media_id) <= MAX_ID:
        voice = kind == "voice" or bool(content.get("voice"))
        if voice:
            meta["voice"] = True  # an audio recorded in the chat: shown as a voice note
        msg.media = MediaRef("voice" if voice else kind, media_id,
                             text(content, "mime_type") or "application/octet-stream",
                             bounded(text(content, "filename"), MAX_NAME) or None, None)
        meta["media_id"] = msg.media.ref
        msg.body = text(content, "caption")
    elif render is not None and isinstance(content, shape):
        msg.body = render(content)
        if kind == "system" and text(content, "type") == "user_changed_number":
            meta["new_wa_id"] = bounded(text(content, "new_wa_id"), MAX_SENDER)
    else:
        _keep_raw(msg, item)
        # Meta names what it could not deliver: {"unsupported": {"type": "video_note"}}
        inner = text(pick(item, "unsupported", dict), "type") if kind == "unsupported" else ""
        if inner:
            meta["unsupported_type"] = bounded(inner, 80)
        msg.body = f"[unsupported WhatsApp message: {bounded(inner or kind, 80)}]"
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
