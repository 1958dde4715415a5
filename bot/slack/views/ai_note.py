"""The AI triage note: posted in the conversation's thread, styled as internal (it is
never sent to the customer), with the quick actions as buttons. The summary, reasons and
references come from customer text, so all of it is escaped like customer text."""

from __future__ import annotations

import json

from bot.slack.views import ids
from bot.slack.views.blocks import BUTTON_TEXT_MAX
from bot.slack.views.blocks import context as _context
from bot.slack.views.blocks import section as _section
from bot.slack.views.models import AiNoteView
from bot.slack.views.text import escape_mrkdwn, join_limited, plain_text, truncate

SENTIMENT_ICONS = {"positive": ":slightly_smiling_face:", "neutral": ":neutral_face:",
                   "frustrated": ":rage:", "urgent": ":rotating_light:"}
KIND_NAMES = {"order": "order", "quote": "quote", "invoice": "invoice"}
URL_MAX = 3_000


def ai_note_message(view: AiNoteView) -> dict:
    engine = escape_mrkdwn(truncate(view.engine, 60))
    blocks = [_context(f":robot_face: *AI triage* · {engine} · "
                       "_internal, never sent to the customer_")]
    summary = escape_mrkdwn(view.summary) or "_(no summary)_"
    blocks.append(_section(summary))
    facts = [f"{SENTIMENT_ICONS.get(view.sentiment, '')} {view.sentiment}".strip()]
    if view.urgent:
        reason = escape_mrkdwn(truncate(view.urgent_reason, 200))
        facts.append(f":rotating_light: *urgent*{' — ' + reason if reason else ''}")
    if view.references:
        refs = [f"{KIND_NAMES.get(kind, kind)} `{escape_mrkdwn(value).replace('`', 'ˋ')}`"
                for kind, value in view.references]
        facts.append("References: " + join_limited(refs, 1_500, sep=", "))
    if view.applied_tags:
        facts.append("Tagged: " + join_limited(
            [f"`{escape_mrkdwn(t)}`" for t in view.applied_tags], 800, sep=" "))
    blocks.append(_context(" · ".join(facts)))
    buttons = [_action_button(view, n, a) for n, a in enumerate(view.actions)]
    buttons = [b for b in buttons if b is not None]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"ai_actions:{view.message_id}",
                       "elements": buttons[:25]})
    # The notification text is rendered too: escaped like the blocks.
    text = (f"AI triage: {escape_mrkdwn(truncate(view.summary, 200))}" if view.summary
            else "AI triage")
    return {"text": text, "blocks": blocks}


def _action_button(view: AiNoteView, n: int, action) -> dict | None:
    label = plain_text(action.label, BUTTON_TEXT_MAX)
    if action.kind == "lookup":
        if not action.url or len(action.url) > URL_MAX:
            return None
        return {"type": "button", "text": label, "action_id": f"{ids.AI_LOOKUP}:{n}",
                "url": action.url}
    value = json.dumps({"c": view.conversation_id, "k": action.kind, "v": action.value},
                       ensure_ascii=False)
    if len(value) > 2_000:
        return None
    return {"type": "button", "text": label, "action_id": f"{ids.AI_ACTION}:{n}",
            "value": value}
