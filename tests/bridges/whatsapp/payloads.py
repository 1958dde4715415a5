"""Webhook bodies shaped exactly like Meta's and Twilio's documentation, and their signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

PHONE_ID = "106540352242922"
PHONE_ID_2 = "206540352242923"
DISPLAY = "15550783881"
WABA = "102290129340398"
CUSTOMER = "16505551234"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TS = str(int(T0.timestamp()))


def message(kind: str, content, *, wamid: str, sender: str = CUSTOMER, ts: str = TS,
            context: dict | None = None, **extra) -> dict:
    msg = {"from": sender, "id": wamid, "timestamp": ts, "type": kind}
    if content is not None:
        msg[kind] = content
    if context:
        msg["context"] = context
    msg.update(extra)
    return msg


def status(wamid: str, value: str, *, ts: str = TS, errors: list | None = None) -> dict:
    item = {"id": wamid, "status": value, "timestamp": ts, "recipient_id": CUSTOMER,
            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
            "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"}}
    if errors:
        item["errors"] = errors
    return item


def change(messages=(), statuses=(), *, phone_id: str = PHONE_ID, name: str = "Sheena Nelson",
           sender: str = CUSTOMER) -> dict:
    value: dict = {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": DISPLAY, "phone_number_id": phone_id}}
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": sender}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"value": value, "field": "messages"}


def delivery(*changes: dict, entries: int = 1) -> dict:
    """One webhook POST; several entries split the changes between them."""
    per = max(1, -(-len(changes) // entries))
    return {"object": "whatsapp_business_account", "entry": [
        {"id": WABA, "changes": list(changes[i:i + per])} for i in range(0, len(changes), per)
    ]}


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_meta(secret: str, payload: dict | bytes) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {"Content-Type": "application/json",
                  "X-Hub-Signature-256": meta_signature(secret, body)}


def twilio_inbound(sid: str, *, body: str = "Hello", to: str = "+14155238886",
                   sender: str = "+16505551234", **extra) -> dict[str, str]:
    form = {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Sheena Nelson",
            "MessageType": "text", "SmsSid": sid, "WaId": sender.lstrip("+"),
            "SmsStatus": "received", "Body": body, "To": f"whatsapp:{to}", "NumSegments": "1",
            "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": "AC" + "1" * 32,
            "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01"}
    form.update(extra)
    return form


def twilio_status(sid: str, value: str, *, sender: str = "+14155238886", **extra):
    form = {"SmsSid": sid, "SmsStatus": value, "MessageStatus": value,
            "ChannelToAddress": "+1650555XXXX", "To": "whatsapp:+16505551234",
            "ChannelPrefix": "whatsapp", "MessageSid": sid, "AccountSid": "AC" + "1" * 32,
            "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01",
            "ChannelInstallSid": "XE" + "0" * 32}
    form.update(extra)
    return form


def signed_twilio(token: str, url: str, form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """As Twilio signs: base64 HMAC-SHA1 over the full URL plus sorted name+value pairs."""
    data = url + "".join(key + form[key] for key in sorted(form))
    signature = base64.b64encode(
        hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                      "X-Twilio-Signature": signature}
