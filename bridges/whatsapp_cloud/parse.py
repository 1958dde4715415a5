"""Meta webhook JSON -> plain parsed items. No I/O: media are references, fetched later.

Every message becomes something: types we do not render are kept as an "unsupported"
body plus their raw payload in meta, never dropped (Meta adds types without notice).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridges.whatsapp_common.media import MediaRef, join_body

MEDIA_TYPES = ("image", "video", "audio", "voice", "document", "sticker")
STATUS_VALUES = ("sent", "delivered", "read", "failed")


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


@dataclass(slots=True)
class ParsedDelivery:
    messages: list[ParsedMessage] = field(default_factory=list)
    reactions: list[ParsedReaction] = field(default_factory=list)
    statuses: list[ParsedStatus] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # change fields we do not handle


def _list(value, path: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{path} must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise PayloadError(f"{path}[{i}] must be an object")
    return value


def _time(raw) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)  # kept, and visibly odd, rather than dropped


def _synthetic_id(item: dict) -> str:
    """A message without an id still needs a stable one so retries dedupe."""
    digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:32]
    return f"synthetic.{digest}"


def parse_delivery(data: object) -> ParsedDelivery:
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    if data.get("object") != "whatsapp_business_account":
        raise PayloadError("object must be 'whatsapp_business_account', "
                           f"got {data.get('object')!r}")
    out = ParsedDelivery()
    for e, entry in enumerate(_list(data.get("entry"), "entry")):
        for c, change in enumerate(_list(entry.get("changes"), f"entry[{e}].changes")):
            path = f"entry[{e}].changes[{c}]"
            value = change.get("value")
            if not isinstance(value, dict):
                raise PayloadError(f"{path}.value must be an object")
            if change.get("field", "messages") != "messages":
                out.ignored.append(str(change.get("field")))
                continue
            _parse_value(value, path, out)
    return out


def _parse_value(value: dict, path: str, out: ParsedDelivery) -> None:
    metadata = value.get("metadata") or {}
    phone_id = str(metadata.get("phone_number_id") or "") if isinstance(metadata, dict) else ""
    names = {}
    for contact in _list(value.get("contacts"), f"{path}.value.contacts"):
        profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
        names[str(contact.get("wa_id", ""))] = str(profile.get("name") or "")
    messages = _list(value.get("messages"), f"{path}.value.messages")
    statuses = _list(value.get("statuses"), f"{path}.value.statuses")
    if (messages or statuses) and not phone_id:
        raise PayloadError(f"{path}.value.metadata.phone_number_id is missing")
    for i, item in enumerate(messages):
        sender = str(item.get("from") or (next(iter(names)) if len(names) == 1 else ""))
        if not sender:
            raise PayloadError(f"{path}.value.messages[{i}].from is missing")
        wamid = str(item.get("id") or _synthetic_id(item))
        at = _time(item.get("timestamp"))
        kind = str(item.get("type") or "unknown")
        if kind == "reaction" and isinstance(item.get("reaction"), dict):
            reaction = item["reaction"]
            if reaction.get("message_id"):
                out.reactions.append(ParsedReaction(phone_id, wamid, sender,
                                                    str(reaction["message_id"]),
                                                    str(reaction.get("emoji") or ""), at))
                continue
        out.messages.append(_message(item, phone_id, wamid, sender, names.get(sender, ""), at,
                                     kind))
    for item in statuses:
        errors = item.get("errors") if isinstance(item.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        details = (first.get("error_data") or {}).get("details") if isinstance(
            first.get("error_data"), dict) else None
        out.statuses.append(ParsedStatus(
            phone_id, str(item.get("id") or ""), str(item.get("status") or ""),
            _time(item.get("timestamp")),
            str(first["code"]) if first.get("code") is not None else None,
            join_body(first.get("title") or first.get("message"), details) or None,
        ))


def _message(item: dict, phone_id: str, wamid: str, sender: str, name: str, at: datetime,
             kind: str) -> ParsedMessage:
    content = item.get(kind) if isinstance(item.get(kind), dict | list) else None
    meta: dict = {"type": kind}
    context = item.get("context") if isinstance(item.get("context"), dict) else {}
    if context:
        meta["context"] = context
    for extra in ("referral", "errors"):
        if item.get(extra):
            meta[extra] = item[extra]
    msg = ParsedMessage(phone_id, wamid, sender, name, at, kind, "", None,
                        str(context["id"]) if context.get("id") else None, meta)
    render = _RENDERERS.get(kind)
    if kind in MEDIA_TYPES and isinstance(content, dict) and content.get("id"):
        voice = kind == "voice" or bool(content.get("voice"))
        media_kind = "voice" if voice else kind
        msg.media = MediaRef(media_kind, str(content["id"]),
                             str(content.get("mime_type") or "application/octet-stream"),
                             content.get("filename"), None)
        meta["media_id"] = str(content["id"])
        msg.body = str(content.get("caption") or "")
    elif render is not None and content is not None:
        msg.body = render(content)
    else:
        meta["raw"] = {k: v for k, v in item.items() if k not in ("from", "id", "timestamp")}
        msg.body = f"[unsupported WhatsApp message: {kind}]"
        title = _first_error_title(item)
        if title:
            msg.body += f" ({title})"
    if not msg.body and msg.media is None:
        msg.body = f"[empty WhatsApp {kind} message]"
    return msg


def _first_error_title(item: dict) -> str:
    errors = item.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        err = errors[0]
        details = (err.get("error_data") or {}).get("details") if isinstance(
            err.get("error_data"), dict) else None
        return str(details or err.get("title") or err.get("message") or "")
    return ""


def _text(c: dict) -> str:
    return str(c.get("body") or "")


def location_text(c: dict) -> str:
    lat, lng = c.get("latitude"), c.get("longitude")
    label = join_body(c.get("name"), c.get("address"))
    link = f"https://maps.google.com/?q={lat},{lng}" if lat is not None and lng is not None else ""
    return join_body("📍 Location" + (f": {label}" if label else ""), link,
                     str(c["url"]) if c.get("url") else None)


def contacts_text(cards: list) -> str:
    lines = []
    for card in cards if isinstance(cards, list) else []:
        if not isinstance(card, dict):
            continue
        name = card.get("name") if isinstance(card.get("name"), dict) else {}
        title = name.get("formatted_name") or join_body(name.get("first_name"),
                                                        name.get("last_name")) or "(no name)"
        parts = [f"👤 {title}"]
        org = card.get("org") if isinstance(card.get("org"), dict) else {}
        if org.get("company"):
            parts.append(f"   {org['company']}")
        for phone in card.get("phones") or []:
            if isinstance(phone, dict) and phone.get("phone"):
                parts.append(f"   tel {phone['phone']}" + (f" ({phone['type']})"
                                                           if phone.get("type") else ""))
        for email in card.get("emails") or []:
            if isinstance(email, dict) and email.get("email"):
                parts.append(f"   email {email['email']}")
        lines.append("\n".join(parts))
    return "Shared contact(s):\n" + "\n".join(lines) if lines else "[shared an empty contact]"


def interactive_text(c: dict) -> str:
    kind = c.get("type")
    reply = c.get(kind) if isinstance(c.get(kind), dict) else {}
    if kind in ("button_reply", "list_reply"):
        return join_body(str(reply.get("title") or reply.get("id") or ""),
                         str(reply["description"]) if reply.get("description") else None)
    if kind == "nfm_reply":  # WhatsApp Flows: the form's answers as JSON
        return join_body(str(reply.get("body") or "Form submitted"),
                         str(reply.get("response_json") or ""))
    return f"[interactive reply: {kind}]"


def button_text(c: dict) -> str:
    return str(c.get("text") or c.get("payload") or "")


def order_text(c: dict) -> str:
    lines = ["🛒 Order" + (f" (catalog {c['catalog_id']})" if c.get("catalog_id") else "")]
    for item in c.get("product_items") or []:
        if isinstance(item, dict):
            lines.append(f"• {item.get('quantity', 1)} × {item.get('product_retailer_id', '?')}"
                         f" at {item.get('item_price', '?')} {item.get('currency', '')}".rstrip())
    if c.get("text"):
        lines.append(str(c["text"]))
    return "\n".join(lines)


def system_text(c: dict) -> str:
    return "[WhatsApp] " + str(c.get("body") or c.get("type") or "system message")


_RENDERERS = {
    "text": _text,
    "location": location_text,
    "contacts": contacts_text,
    "interactive": interactive_text,
    "button": button_text,
    "order": order_text,
    "system": system_text,
}

