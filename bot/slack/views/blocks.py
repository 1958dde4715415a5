"""The Block Kit elements every builder uses, with Slack's length limits applied."""

from __future__ import annotations

from bot.slack.views.text import mrkdwn, plain_text, truncate

SECTION_TEXT_MAX = 3_000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75


def section(text: str, block_id: str | None = None, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": mrkdwn(truncate(text, SECTION_TEXT_MAX), verbatim=True)}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def context(text: str, block_id: str | None = None) -> dict:
    block = {"type": "context",
             "elements": [mrkdwn(truncate(text, SECTION_TEXT_MAX), verbatim=True)]}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> dict:
    return {"type": "header", "text": plain_text(text or " ", HEADER_MAX)}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    element = {"type": "button", "text": plain_text(text, BUTTON_TEXT_MAX),
               "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element
