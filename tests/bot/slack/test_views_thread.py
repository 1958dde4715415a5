"""thread.py: messages inside a conversation's thread."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import ids
from bot.slack.views.customer import customer_message
from bot.slack.views.models import AttachmentView, MessageView, SendStatusView
from bot.slack.views.text import escape_mrkdwn
from bot.slack.views.thread import (
    ai_analysis_message,
    error_message,
    full_message_modal,
    note_message,
    notify_message,
    outbound_message,
    send_status_message,
    snooze_ended_message,
    system_message,
    window_closed_message,
)
from core.automation.contract import URGENT_RULE
from tests.bot.slack.test_views_limits import (
    HOSTILE,
    assert_inert,
    assert_message_ok,
    assert_view_ok,
)

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def msg(**kw) -> MessageView:
    base = dict(
        message_id=7,
        kind="message",
        direction="in",
        author_name="Ana López",
        body="Hello, my order has not arrived.",
        created_at=NOW,
    )
    base.update(kw)
    return MessageView(**base)


def flat(payload):
    return json.dumps(payload, ensure_ascii=False)


def section_texts(payload):
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def actions(payload):
    return {
        e["action_id"]: e
        for b in payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _squash(text):
    return re.sub(r"\s+", "", text)


def test_customer_email_message():
    out = assert_message_ok(
        customer_message(
            msg(
                subject="Order #12",
                quoted="Earlier: we shipped it",
                attachments=(
                    AttachmentView("big.zip", "application/zip", 50_000_000, stored=False),
                    AttachmentView("ok.pdf", "application/pdf", 1000),
                ),
            )
        )
    )
    assert out["username"] == "Ana López" and out["icon_emoji"]
    text = flat(out)
    assert "*Order #12*" in text and "we shipped it" in text and "has not arrived" in text
    assert "big.zip" in text and "47.7 MB" in text and "ok.pdf" not in text
    assert ids.SHOW_FULL not in actions(out)


def test_long_body_is_split_and_truncated_with_show_full():
    body = ("Paragraph " + "word " * 500 + "\n\n") * 30  # ~75k chars
    out = assert_message_ok(customer_message(msg(body=body), max_chars=12_000))
    sections = section_texts(out)
    assert all(len(s) <= 3000 for s in sections)
    assert sum(len(s) for s in sections) <= 12_000
    assert actions(out)[ids.SHOW_FULL]["value"] == "7"
    assert "showing" in flat(out)


def test_body_under_max_chars_round_trips():
    body = ("Line of text with <tags> & stuff\n" * 300)[:11_000]
    out = assert_message_ok(customer_message(msg(body=body)))
    assert _squash("".join(section_texts(out))) == _squash(escape_mrkdwn(body))
    assert ids.SHOW_FULL not in actions(out)


@pytest.mark.parametrize("size", [0, 1, 2_999, 3_001, 60_000, 250_000])
def test_extreme_bodies_stay_within_limits(size):
    body = (HOSTILE + " ") * (size // len(HOSTILE) + 1)
    body = body[:size]
    payloads = [
        customer_message(
            msg(
                body=body,
                subject=HOSTILE * 40,
                quoted=HOSTILE * 40,
                author_name=HOSTILE + "x" * 500,
                attachments=tuple(AttachmentView(HOSTILE * 5, "x/y", i, False) for i in range(200)),
            )
        ),
        customer_message(msg(body=body), max_chars=10**9),
        note_message(msg(kind="note", body=body, author_name="x" * 500)),
        ai_analysis_message(msg(kind="ai_analysis", body=body)),
        system_message(msg(kind="system", body=body)),
        outbound_message(msg(direction="out", body=body, channel="whatsapp")),
    ]
    for payload in payloads:
        assert_message_ok(payload)
        assert_inert(payload)
    modal = assert_view_ok(full_message_modal(HOSTILE * 10, body, 7))
    assert_inert(modal)


def test_hostile_customer_cannot_ping():
    out = customer_message(msg(body=HOSTILE, subject=HOSTILE, quoted=HOSTILE, author_name=HOSTILE))
    assert_inert(out)
    assert "&lt;!channel&gt;" in flat(out)


def test_note_and_ai_are_clearly_internal():
    note = assert_message_ok(
        note_message(msg(kind="note", body="check the refund", author_name="Bob"))
    )
    assert ":lock: *Private note*" in flat(note) and "Bob" in flat(note)
    assert "never sent" in flat(note)
    ai = assert_message_ok(ai_analysis_message(msg(kind="ai_analysis", body="Intent: refund")))
    assert "AI triage" in flat(ai) and "Intent: refund" in flat(ai)


def test_system_message_is_context():
    out = assert_message_ok(system_message(msg(kind="system", body="Assigned to Bob")))
    assert [b["type"] for b in out["blocks"]] == ["context"]


@pytest.mark.parametrize(("channel", "word"), [("email", "email"), ("whatsapp", "WhatsApp")])
def test_outbound_message(channel, word):
    out = assert_message_ok(
        outbound_message(msg(direction="out", author_name="Bob", body="Done!", channel=channel))
    )
    assert f"↪ *Bob* replied by {word}" in flat(out) and "Done!" in flat(out)


def test_outbound_message_unknown_channel_does_not_guess():
    out = assert_message_ok(outbound_message(msg(direction="out", author_name="Bob", body="x")))
    assert "↪ *Bob* replied" in flat(out) and "replied by" not in flat(out)


def status(status, **kw):
    return SendStatusView(message_id=9, status=status, now=NOW, **kw)


def test_send_status_queued_has_undo_and_note_buttons():
    out = assert_message_ok(
        send_status_message(status("queued", send_at=NOW + timedelta(seconds=8)))
    )
    assert "To the customer in 8 s" in flat(out)
    acts = actions(out)
    assert acts[ids.UNDO_SEND]["value"] == "9" and acts[ids.MAKE_NOTE]["value"] == "9"
    late = assert_message_ok(send_status_message(status("queued", send_at=NOW)))
    assert actions(late) == {}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("sent", ":outbox_tray: Sent"),
        ("delivered", ":white_check_mark: Delivered"),
        ("read", ":eyes: Read"),
        ("withdrawn", ":leftwards_arrow_with_hook: Withdrawn — not sent"),
        ("note", ":lock: *Internal note* — not sent to the customer"),
        ("deleted", ":wastebasket: Deleted"),
        ("held", ":lock: *Internal* — not sent to the customer"),
        ("weird<!channel>", ":grey_question:"),
    ],
)
def test_send_status_lines(state, expected):
    out = assert_message_ok(send_status_message(status(state)))
    assert expected in flat(out) and actions(out) == {}
    assert_inert(out)


def test_held_message_offers_to_send_it_anyway():
    out = assert_message_ok(send_status_message(status(
        "held", hold_reason="it mentions a colleague <!here>",
        send_label="Send to customer anyway")))
    assert "it mentions a colleague" in flat(out)
    assert actions(out)[ids.SEND_HELD]["value"] == "9"
    assert_inert(out)


def test_send_status_says_when_a_reply_may_have_gone_twice():
    out = assert_message_ok(send_status_message(status("delivered", maybe_twice=True)))
    assert "Delivered" in flat(out) and "twice" in flat(out)
    assert "twice" not in flat(assert_message_ok(send_status_message(status("delivered"))))


def test_send_status_failed_is_escaped():
    out = assert_message_ok(
        send_status_message(
            status(
                "failed", error_code="131047", error_text="Re-engagement <!channel>" + "x" * 5000
            )
        )
    )
    assert ":x: Not delivered: 131047 Re-engagement" in flat(out)
    assert actions(out)[ids.RETRY_SEND]["value"] == "9"
    assert_inert(out)


def test_window_closed_offers_templates():
    out = assert_message_ok(window_closed_message(5, NOW - timedelta(hours=30), NOW))
    assert "24" in flat(out) and "1 d 6 h ago" in flat(out)
    assert actions(out)[ids.TEMPLATE_OPEN]["value"] == "5"
    assert_message_ok(window_closed_message(5, None, NOW))


def test_snooze_ended_and_urgent_ping():
    out = assert_message_ok(snooze_ended_message("U0ANA"))
    assert "<@U0ANA>" in flat(out)
    assert "<@" not in flat(assert_message_ok(snooze_ended_message(None)))
    link = "https://acme.slack.com/archives/C1/p123"
    ping = assert_message_ok(notify_message(URGENT_RULE, ["U1", "U2", "bad>id"], HOSTILE, link))
    assert "<@U1>" in flat(ping) and "<@U2>" in flat(ping) and "bad" not in flat(ping)
    assert_inert(ping, mentions={"U1", "U2"}, urls={link})
    ids_500 = [f"U{i:08d}" for i in range(500)]
    many = assert_message_ok(notify_message(URGENT_RULE, ids_500, "x", None))
    assert "more" in flat(many)


def test_full_message_modal():
    body = "para\n\n" * 10 + "z" * 500_000
    modal = assert_view_ok(full_message_modal("A very long subject line indeed", body, 3))
    assert modal["callback_id"] == ids.FULL_MESSAGE_MODAL
    assert len(modal["blocks"]) <= 100 and "Truncated" in flat(modal["blocks"][-1])
    assert json.loads(modal["private_metadata"]) == {"message_id": 3}
    short = assert_view_ok(full_message_modal("", "", 3))
    assert short["blocks"]


def test_error_message():
    out = assert_message_ok(error_message("Nope <!channel>"))
    assert out["response_type"] == "ephemeral" and ":warning:" in flat(out)
    assert_inert(out)
    assert_message_ok(error_message("x" * 50_000))


def test_notify_names_the_rule_and_mentions_the_recipients():
    link = "https://acme.slack.com/archives/C1/p123"
    out = assert_message_ok(notify_message("vip alert", ["U1", "bad>id"], HOSTILE, link,
                                           "the managers"))
    assert "vip alert" in flat(out) and "<@U1>" in flat(out) and "bad" not in flat(out)
    assert "<@U1>" in out["text"]  # mobile notifications show only the text
    assert actions(out)[ids.OPEN_THREAD]["url"] == link
    assert_inert(out, mentions={"U1"}, urls={link})
    urgent = assert_message_ok(notify_message(URGENT_RULE, ["U1"], "Lucía", link))
    assert "Urgent conversation" in flat(urgent) and "urgent ping" in flat(urgent)
    hostile_rule = assert_message_ok(notify_message(HOSTILE, ["U1"], "x", None))
    assert_inert(hostile_rule, mentions={"U1"})


def test_notify_with_nobody_to_ping_says_so_plainly():
    out = assert_message_ok(notify_message("vip alert", [], HOSTILE, None, "the admins"))
    assert "nobody" in flat(out) and "the admins" in flat(out) and "vip alert" in flat(out)
    assert "<@" not in flat(out) and not actions(out)
    assert_inert(out)


def test_automation_system_line_is_small_and_escaped():
    body = f"⚙️ vip to billing: assigned to Billing ({HOSTILE}), tagged billing"
    out = assert_message_ok(system_message(msg(kind="system", direction="out", body=body,
                                               automatic="vip to billing")))
    (block,) = out["blocks"]
    assert block["type"] == "context" and block["elements"][0]["verbatim"] is True
    assert block["elements"][0]["text"].startswith("⚙️ vip to billing:")
    assert ":information_source:" not in flat(out)
    assert_inert(out)


def test_automatic_reply_shows_the_automation_not_an_agent():
    out = assert_message_ok(outbound_message(msg(
        direction="out", author_name="Automation out of hours", body="Volvemos a las 9",
        channel="whatsapp", automatic="out of hours", auto_reply=True)))
    head = out["blocks"][0]["elements"][0]["text"]
    assert "⚙️ Automatic reply" in head and "out of hours" in head and "WhatsApp" in head
    rule = assert_message_ok(outbound_message(msg(
        direction="out", body="Thanks!", channel="email", automatic=HOSTILE)))
    assert "Automatic message" in flat(rule)
    assert_inert(rule)


def test_send_status_of_an_automatic_message_has_no_undo():
    out = assert_message_ok(send_status_message(SendStatusView(7, "queued", NOW, send_at=None)))
    assert "Sending to the customer" in flat(out) and not actions(out)


def test_machine_written_mail_is_marked_automatic():
    marked = json.dumps(assert_message_ok(customer_message(msg(machine_sent=True))))
    assert "Automatic mail" in marked and "reopens nothing" in marked
    assert "Automatic mail" not in json.dumps(customer_message(msg()))
