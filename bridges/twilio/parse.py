"""Twilio's form-encoded webhooks -> parsed messages and statuses. No I/O here.

Twilio adds parameters without notice, so only what we need is read and everything else
is kept in meta; a message type we do not render still becomes a visible message. Twilio
does not redeliver a message we answer with a 4xx, so only a form we cannot route at all
(no MessageSid, From or To) is refused; anything else odd is stored and noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from bridges.whatsapp_common.media import MediaRef, join_body, media_kind
from bridges.whatsapp_common.payload import (
    MAX_BODY,
    MAX_CODE,
    MAX_NAME,
    MAX_REASON,
    bounded,
    bounded_id,
    clean_text,
)

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
MAX_FIELDS = 500  # a real webhook has about 20
MAX_MEDIA = 20
MAX_ADDRESS = 64


class FormError(ValueError):
    """Not a usable Twilio webhook (answered 400 with this reason)."""


class SignedParams(dict):
    """name -> every value sent, read by twilio's RequestValidator through `getall`: the
    signature is checked over the parameters exactly as they arrived."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def parse_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                         max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"body is not a valid form: {exc}") from None


def signed_params(pairs: list[tuple[str, str]]) -> SignedParams:
    params = SignedParams()
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    return params


def form_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """One clean value per name (NUL and lone surrogates cannot be stored)."""
    form: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        key, value = clean_text(raw_key), clean_text(raw_value)
        if key in form and form[key] != value:
            raise FormError(f"parameter {bounded(key, 80)} appears twice with different values")
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


def _media(form: dict[str, str], problems: list[str]) -> list[MediaRef]:
    raw = form.get("NumMedia") or "0"
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_MEDIA:
        problems.append(f"NumMedia {bounded(raw, 20)!r} is not a media count")
        count = sum(1 for i in range(MAX_MEDIA) if f"MediaUrl{i}" in form)
    media = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if not url:
            problems.append(f"MediaUrl{i} is missing")
            continue
        ctype = bounded(form.get(f"MediaContentType{i}") or "application/octet-stream", 100)
        media.append(MediaRef(media_kind(ctype), url, ctype))
    return media


def parse_inbound(form: dict[str, str]) -> TwilioMessage:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if not sid:
        raise FormError("MessageSid is missing")
    if not form.get("From") or not form.get("To"):
        raise FormError("From and To are required")
    problems: list[str] = []
    media = _media(form, problems)
    kind = bounded((form.get("MessageType") or ("media" if media else "text")).lower(), 80)
    meta: dict = {"type": kind, **{k: form[k] for k in KEPT_META if form.get(k)}}
    body = form.get("Body") or ""
    label = join_body(form.get("Label"), form.get("Address"))
    if form.get("Latitude") and form.get("Longitude"):
        lat, lng = form["Latitude"], form["Longitude"]
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
    if len(body) > MAX_BODY:  # the whole text stays in meta["raw"]
        meta["raw"] = dict(form)
        body = bounded(body, MAX_BODY) + "\n[message shortened: see its raw payload]"
    if problems:
        meta["form_problems"] = problems
    context = bounded_id(form.get("OriginalRepliedMessageSid") or "") or None
    return TwilioMessage(bounded_id(sid), bounded(strip_whatsapp(form["To"]), MAX_ADDRESS),
                         bounded(strip_whatsapp(form["From"]), MAX_ADDRESS),
                         bounded(form.get("ProfileName") or "", MAX_NAME), body, media,
                         context, meta)


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
    code = bounded(form.get("ErrorCode") or "", MAX_CODE) or None
    text = None
    if status == "failed":
        text = bounded(form.get("ErrorMessage") or f"Twilio reports the message "
                       f"{bounded(raw, 40)}", MAX_REASON)
        if code in WINDOW_CODES:
            text = "outside the 24 h window: use a template"
    return TwilioStatus(bounded_id(sid), bounded(strip_whatsapp(form.get("From") or ""),
                                                 MAX_ADDRESS), status, code, text)
