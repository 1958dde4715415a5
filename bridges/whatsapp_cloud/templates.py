"""Meta message templates <-> core Templates, both ways.

Sync: approved templates become core Templates named "<name> (<language>)", with the body
(plus header, footer and URL buttons) shown in Slack and the variables staff must fill.
Positional placeholders keep their numbers ("1", "2"); named ones keep their names. Header
and URL-button placeholders get prefixed names ("header_1", "button_0_1") so they are
distinct from the body's and the sender can put each value where Meta expects it.
"""

from __future__ import annotations

import logging
import re

from core.model import Actor, Channel, Template

log = logging.getLogger("threadline.whatsapp_cloud")

_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
HEADER_PREFIX = "header_"


def _rename(text: str, prefix: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def sub(m: re.Match) -> str:
        name = f"{prefix}{m.group(1)}"
        if name not in names:
            names.append(name)
        return "{{" + name + "}}"

    return _VAR.sub(sub, text), names


def to_template(meta: dict, account: str) -> Template | None:
    """An APPROVED Meta template as a core Template; None for anything else."""
    if str(meta.get("status", "")).upper() != "APPROVED" or not meta.get("name"):
        return None
    language = str(meta.get("language") or "en_US")
    lines: list[str] = []
    variables: list[str] = []
    body_vars: list[str] = []
    for comp in meta.get("components") or []:
        if not isinstance(comp, dict):
            continue
        kind = str(comp.get("type", "")).upper()
        if kind == "HEADER" and comp.get("format", "TEXT") == "TEXT" and comp.get("text"):
            text, names = _rename(str(comp["text"]), HEADER_PREFIX)
            lines.append(f"*{text}*")
            variables += names
        elif kind == "HEADER":
            lines.append(f"[{str(comp.get('format', 'media')).lower()} header]")
        elif kind == "BODY":
            text, body_vars = _rename(str(comp.get("text") or ""), "")
            lines.append(text)
        elif kind == "FOOTER" and comp.get("text"):
            lines.append(f"_{comp['text']}_")
        elif kind == "BUTTONS":
            for i, button in enumerate(comp.get("buttons") or []):
                if not isinstance(button, dict):
                    continue
                label = str(button.get("text") or button.get("type", "button"))
                if str(button.get("type", "")).upper() == "URL" and button.get("url"):
                    url, names = _rename(str(button["url"]), f"button_{i}_")
                    lines.append(f"[{label}: {url}]")
                    variables += names
                else:
                    lines.append(f"[{label}]")
    body = "\n".join(line for line in lines if line).strip()
    if not body:
        return None
    # Body values first: that is what staff fill in most.
    ordered = body_vars + [v for v in variables if v not in body_vars]
    return Template(name=f"{meta['name']} ({language})", channel=Channel.WHATSAPP, body=body,
                    variables=ordered, provider_name=str(meta["name"]), language=language,
                    account=account)


def template_components(template: Template, values: dict[str, str]) -> list[dict]:
    """The `components` of a send: body parameters in the template's order, then header
    and URL-button parameters. Named placeholders carry their `parameter_name`."""
    body, header, buttons = [], [], {}
    for var in template.variables:
        value = str(values.get(var, ""))
        if var.startswith(HEADER_PREFIX):
            header.append(_param(var[len(HEADER_PREFIX):], value))
        elif var.startswith("button_") and var.count("_") >= 2:
            index = var.split("_", 2)[1]
            buttons.setdefault(index, []).append({"type": "text", "text": value})
        else:
            body.append(_param(var, value))
    components = []
    if header:
        components.append({"type": "header", "parameters": header})
    if body:
        components.append({"type": "body", "parameters": body})
    for index, params in buttons.items():
        components.append({"type": "button", "sub_type": "url", "index": index,
                           "parameters": params})
    return components


def _param(name: str, value: str) -> dict:
    param = {"type": "text", "text": value}
    if not name.isdigit():
        param["parameter_name"] = name
    return param


async def sync_templates(graph, waba_id: str, account: str, inbox) -> int:
    """Page through the WABA's templates and upsert the approved ones. Returns the count."""
    count = 0
    async for page in graph.template_pages(waba_id):
        for meta in page:
            template = to_template(meta, account)
            if template is None:
                continue
            await inbox.upsert_template(template, Actor.automation("whatsapp_cloud_sync"))
            count += 1
    return count
