"""Meta Cloud API message types as text people read: locations, shared contacts, buttons,
list and Flow replies, catalog orders, system notices. Pure."""

from __future__ import annotations

import json

from bridges.whatsapp_common.media import join_body
from bridges.whatsapp_common.payload import bounded, pick, text


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
    if kind == "nfm_reply":  # WhatsApp Flows: the form's answers, as fields people read
        return join_body("📝 " + (text(reply, "body") or "Form submitted"),
                         flow_fields(text(reply, "response_json")))
    return f"[interactive reply: {bounded(kind, 80)}]"


def flow_fields(response_json: str) -> str:
    """{"flow_token": ..., "delivery_date": "2025-03-10", "qty": 4} -> "• Delivery date:
    2025-03-10" lines. The flow token is Meta's bookkeeping, not something the customer
    said; text that is not a JSON object is shown as it came."""
    try:
        answers = json.loads(response_json) if response_json else {}
    except ValueError:
        return response_json
    if not isinstance(answers, dict):
        return response_json
    lines = []
    for key, value in answers.items():
        if key == "flow_token":
            continue
        label = str(key).replace("_", " ").strip().capitalize() or "?"
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        lines.append(f"• {bounded(label, 80)}: {bounded(str(value), 500)}")
    return "\n".join(lines)


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
RENDERERS = {
    "text": (dict, _text),
    "location": (dict, location_text),
    "contacts": (list, contacts_text),
    "interactive": (dict, interactive_text),
    "button": (dict, button_text),
    "order": (dict, order_text),
    "system": (dict, system_text),
}
