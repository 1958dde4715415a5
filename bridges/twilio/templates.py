"""Twilio Content templates -> core Templates (only those WhatsApp approved)."""

from __future__ import annotations

import re

from core.model import Actor, Channel, Template

_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _approved(item: dict) -> bool:
    requests = item.get("approval_requests") or {}
    whatsapp = requests.get("whatsapp", requests) if isinstance(requests, dict) else {}
    return isinstance(whatsapp, dict) and str(whatsapp.get("status", "")).lower() == "approved"


def _body(types: dict) -> str:
    # A content item has one body per type; text first, then the richer ones.
    for name in ("twilio/text", "twilio/quick-reply", "twilio/call-to-action", "twilio/media",
                 "twilio/card", "whatsapp/card", "twilio/list-picker"):
        value = types.get(name)
        if isinstance(value, dict) and (value.get("body") or value.get("title")):
            return str(value.get("body") or value.get("title"))
    for value in types.values():
        if isinstance(value, dict) and value.get("body"):
            return str(value["body"])
    return ""


def to_template(item: dict, account: str) -> Template | None:
    if not item.get("sid") or not _approved(item):
        return None
    body = _body(item.get("types") or {})
    if not body:
        return None
    declared = list((item.get("variables") or {}).keys())
    used = []
    for name in _VAR.findall(body):
        if name not in used:
            used.append(name)
    variables = used + [v for v in declared if v not in used and v in body]
    name = str(item.get("friendly_name") or item["sid"])
    language = str(item.get("language") or "") or None
    return Template(name=name, channel=Channel.WHATSAPP, body=body,
                    variables=variables, provider_name=str(item["sid"]), language=language,
                    account=account)


def content_variables(template: Template, values: dict[str, str]) -> dict[str, str]:
    """`content_variables` JSON keyed by the placeholder names ("1", "2", ...)."""
    return {var: str(values.get(var, "")) for var in template.variables}


async def sync_content_templates(api, account: str, inbox) -> int:
    count = 0
    for item in await api.content_templates():
        template = to_template(item, account)
        if template is not None:
            await inbox.upsert_template(template, Actor.automation("twilio_content_sync"))
            count += 1
    return count
