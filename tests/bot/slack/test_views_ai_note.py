"""ai_note.py: the AI triage note, internal, with its quick-action buttons."""

from __future__ import annotations

import json

from bot.slack.views import ids
from bot.slack.views.ai_note import ai_note_message
from bot.slack.views.models import AiActionView, AiNoteView
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert, assert_message_ok


def note(**kw) -> AiNoteView:
    base = dict(
        message_id=7, conversation_id=3, summary="Factura FAC-2024/0388 cobrada dos veces",
        sentiment="frustrated", urgent=True, urgent_reason="repeated chasing: “3a vez”",
        references=(("invoice", "FAC-2024/0388"),), applied_tags=("billing", "urgent"),
        actions=(AiActionView("assign_team", "Billing", "Assign to Billing"),
                 AiActionView("send_template", "invoice_copy", "Send template invoice_copy"),
                 AiActionView("lookup", "FAC-2024/0388", "Look up FAC-2024/0388",
                              "https://erp.example.com/invoices/FAC-2024%2F0388")),
        engine="offline")
    base.update(kw)
    return AiNoteView(**base)


def buttons(payload) -> list[dict]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_note_says_it_is_internal_and_shows_what_was_found():
    payload = assert_message_ok(ai_note_message(note()))
    shown = json.dumps(payload, ensure_ascii=False)
    assert "internal, never sent to the customer" in shown
    for part in ("FAC-2024/0388", "frustrated", "repeated chasing", "`billing`", "offline"):
        assert part in shown, part


def test_buttons_carry_the_conversation_and_lookups_are_links():
    assign, template, lookup = buttons(ai_note_message(note()))
    assert assign["action_id"] == f"{ids.AI_ACTION}:0"
    assert json.loads(assign["value"]) == {"c": 3, "k": "assign_team", "v": "Billing"}
    assert json.loads(template["value"])["k"] == "send_template"
    assert lookup["action_id"] == f"{ids.AI_LOOKUP}:2" and "value" not in lookup
    assert lookup["url"] == "https://erp.example.com/invoices/FAC-2024%2F0388"
    assert len({b["action_id"] for b in (assign, template, lookup)}) == 3


def test_customer_text_in_the_note_is_inert_and_within_slacks_limits():
    hostile = note(summary=HOSTILE * 40, urgent_reason=HOSTILE,
                   references=(("order", HOSTILE[:60]),) * 10,
                   applied_tags=(HOSTILE[:30],), engine=HOSTILE,
                   actions=(AiActionView("add_tag", "vip", HOSTILE * 5),))
    payload = assert_message_ok(ai_note_message(hostile))
    assert_inert(payload)  # button labels are plain_text: Slack never parses them


def test_a_note_without_actions_or_references_has_no_empty_blocks():
    payload = assert_message_ok(ai_note_message(note(
        urgent=False, urgent_reason="", references=(), applied_tags=(), actions=(),
        summary="")))
    assert not buttons(payload)
    assert "(no summary)" in json.dumps(payload)
