"""Twilio's form-encoded webhooks -> parsed messages and statuses. No I/O here.

Twilio adds parameters without notice, so only what we need is read and everything else
is kept in meta; a message type we do not render still becomes a visible message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from bridges.whatsapp_common.media import MediaRef, join_body, media_kind

STATUS_MAP = {  # Twilio MessageStatus -> core DeliveryStatus value (None: not a change)
    "accepted": None, "scheduled": None, "queued": None, "sending": None, "canceled": None,
    "sent": "sent", "delivered": "delivered", "read": "read",
    "undelivered": "failed", "failed": "failed",
}
WINDOW_CODES = {"63016"}
KEPT_META = ("MessageType", "WaId", "ButtonPayload", "ButtonText", "ListId", "ListTitle",
             "OriginalRepliedMessageSid", "OriginalRepliedMessageSender", "ReferralSourceUrl",
             "ReferralHeadline", "ReferralBody", "ReferralCtwaClid", "Forwarded",
             "FrequentlyForwarded")


class FormError(ValueError):
    """Not a usable Twilio webhook (answered 400 with this reason)."""


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"body is not a valid form: {exc}") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form and form[key] != value:
            raise FormError(f"parameter {key} appears twice with different values")
        form[key] = value
    return form


def strip_whatsapp(address: str) -> str:
    return address[len("whatsapp:"):] if address.lower().startswith("whatsapp:") else address


@dataclass(slots=True)
class TwilioMessage:
    sid: str
    to: str
    sender: str
    sender_name: str
    body: str
    media: list[MediaRef] = field(default_factory=list)
    context_id: str | None = None
    meta: dict = field(default_factory=dict)


def parse_inbound(form: dict[str, str]) -> TwilioMessage:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if not sid:
        raise FormError("MessageSid is missing")
    if not form.get("From") or not form.get("To"):
        raise FormError("From and To are required")
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise FormError("NumMedia is not a number") from None
    if not 0 <= count <= 20:
        raise FormError("NumMedia is out of range")
    media = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if not url:
            raise FormError(f"MediaUrl{i} is missing")
        ctype = form.get(f"MediaContentType{i}") or "application/octet-stream"
        media.append(MediaRef(media_kind(ctype), url, ctype))
    kind = (form.get("MessageType") or ("media" if media else "text")).lower()
    meta = {"type": kind, **{k: form[k] for k in KEPT_META if form.get(k)}}
    body = form.get("Body") or ""
    if form.get("Latitude") and form.get("Longitude"):
        lat, lng = form["Latitude"], form["Longitude"]
        label = join_body(form.get("Label"), form.get("Address"))
        body = join_body("📍 Location" + (f": {label}" if label else ""),
                         f"https://maps.google.com/?q={lat},{lng}",
                         body if body and body not in label else None)
    elif form.get("ButtonText") and not body:
        body = form["ButtonText"]
    elif form.get("ListTitle") and not body:
        body = form["ListTitle"]
    if not body and not media:
        body = f"[unsupported WhatsApp message: {kind}]"
        meta["raw"] = {k: v for k, v in form.items() if k not in ("Body",)}
    return TwilioMessage(sid, strip_whatsapp(form["To"]), strip_whatsapp(form["From"]),
                         form.get("ProfileName") or "", body, media,
                         form.get("OriginalRepliedMessageSid") or None, meta)


@dataclass(frozen=True, slots=True)
class TwilioStatus:
    sid: str
    sender: str  # our number
    status: str | None  # core DeliveryStatus value, or None when it changes nothing
    error_code: str | None
    error_text: str | None


def parse_status(form: dict[str, str]) -> TwilioStatus:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not raw:
        raise FormError("MessageSid and MessageStatus are required")
    status = STATUS_MAP.get(raw)
    code = form.get("ErrorCode") or None
    text = None
    if status == "failed":
        text = form.get("ErrorMessage") or f"Twilio reports the message {raw}"
        if code in WINDOW_CODES:
            text = "outside the 24 h window: use a template"
    return TwilioStatus(sid, strip_whatsapp(form.get("From") or ""), status, code, text)

