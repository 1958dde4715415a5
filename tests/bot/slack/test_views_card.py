"""card.py: the thread's parent message."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import ids
from bot.slack.views.card import card_message
from bot.slack.views.models import CardView, TagView
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert, assert_message_ok

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def card(**kw) -> CardView:
    base = dict(
        conversation_id=42,
        channel="email",
        account_name="Support",
        contact_name="Ana",
        contact_address="ana@example.com",
        status="open",
        now=NOW,
        subject="Invoice question",
        preview="Hi, my invoice…",
    )
    base.update(kw)
    return CardView(**base)


def elements(msg):
    return [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]


def by_action(msg):
    return {e["action_id"]: e for e in elements(msg)}


def flat(msg):
    return json.dumps(msg, ensure_ascii=False)


def test_email_card_has_everything():
    msg = assert_message_ok(
        card_message(
            card(
                customer_name="Acme Ltd",
                assignee_slack_id="U0ANA",
                tags=(TagView("billing", "#f00"),),
                last_activity_at=NOW - timedelta(minutes=5),
            )
        )
    )
    text = flat(msg)
    assert msg["text"] and ":email:" in text and "*Ana*" in text and "ana@example.com" in text
    assert "Acme Ltd" in text and "Invoice question" in text
    assert ":large_green_circle: Open" in text and "<@U0ANA>" in text
    assert ":large_red_square: billing" in text
    assert f"<!date^{int((NOW - timedelta(minutes=5)).timestamp())}^" in text  # last activity
    assert msg["blocks"][0]["block_id"] == "card:42"
    actions = by_action(msg)
    for action in (
        ids.ASSIGN_ME,
        ids.ASSIGN_OPEN,
        ids.TAGS_OPEN,
        ids.SNOOZE_MENU,
        ids.RESOLVE,
        ids.TEMPLATE_OPEN,
        ids.NOTE_OPEN,
        ids.LINK_CUSTOMER_OPEN,
        ids.PROFILE_OPEN,
    ):
        assert action in actions, action
        if actions[action]["type"] == "button":
            assert actions[action]["value"] == "42"
    assert ids.REOPEN not in actions
    snooze = [o["value"] for o in actions[ids.SNOOZE_MENU]["options"]]
    assert snooze == ["42:1h", "42:2h", "42:4h", "42:tomorrow", "42:monday", "42:pick"]
    assert_inert(msg, mentions={"U0ANA"})


def test_profile_only_with_customer_and_reopen_when_resolved():
    actions = by_action(card_message(card(status="resolved")))
    assert ids.PROFILE_OPEN not in actions and ids.REOPEN in actions
    assert ids.RESOLVE not in actions


def test_whatsapp_window():
    open_ = flat(card_message(card(channel="whatsapp", window_closes_at=NOW + timedelta(hours=3))))
    assert ":speech_balloon:" in open_ and "window closes in 3 h" in open_
    closed = flat(card_message(card(channel="whatsapp", window_closes_at=NOW - timedelta(hours=1))))
    assert "window closed: templates only" in closed
    never = flat(card_message(card(channel="whatsapp", window_closes_at=None)))
    assert "window closed: templates only" in never
    assert "window" not in flat(card_message(card()))


def test_snoozed_team_and_urgent():
    msg = assert_message_ok(
        card_message(
            card(
                status="snoozed",
                snoozed_until=NOW + timedelta(hours=2),
                team_name="Billing",
                urgent=True,
            )
        )
    )
    text = flat(msg)
    assert ":zzz: Snoozed" in text and "Snoozed until" in text and "in 2 h" in text
    assert "<!date^" in text and "Billing" in text and "URGENT" in text
    assert "URGENT" in msg["text"]


def test_unassigned_and_invalid_slack_id_is_not_injected():
    text = flat(card_message(card()))
    assert "_Unassigned_" in text
    msg = card_message(card(assignee_slack_id="U1> <!channel", assignee_name="<!channel> Bob"))
    assert_inert(msg)


def test_hostile_and_extreme_inputs():
    name = HOSTILE + "n" * 500
    msg = assert_message_ok(
        card_message(
            card(
                channel="whatsapp",
                contact_name=name,
                contact_address=HOSTILE * 20,
                subject=HOSTILE * 50,
                preview=HOSTILE * 500,
                customer_name=HOSTILE * 30,
                participants=tuple(HOSTILE * 10 for _ in range(400)),
                assignee_name=HOSTILE,
                team_name=HOSTILE,
                account_name=HOSTILE * 20,
                tags=tuple(
                    TagView(f"{HOSTILE}{i}", "#%06x" % (i * 9973 % 0xFFFFFF)) for i in range(300)
                ),
                status="<!channel>",
                window_closes_at=NOW + timedelta(days=400),
                last_activity_at=NOW - timedelta(days=4000),
                urgent=True,
            )
        )
    )
    assert_inert(msg)
    tags_field = msg["blocks"][1]["fields"][2]["text"]
    assert "more" in tags_field and len(tags_field) <= 2000


@pytest.mark.parametrize("status", ["open", "pending", "snoozed", "resolved"])
@pytest.mark.parametrize("channel", ["email", "whatsapp"])
def test_every_state_is_valid(status, channel):
    view = card(
        status=status,
        channel=channel,
        snoozed_until=NOW + timedelta(hours=1),
        window_closes_at=NOW + timedelta(minutes=30),
        customer_name="C",
    )
    assert_message_ok(card_message(view))
    assert_message_ok(card_message(replace(view, subject=None, preview="")))


def test_actions_block_id_changes_with_state_only():
    def ids_of(view):
        return [b["block_id"] for b in card_message(view)["blocks"]]

    base = card()
    same = ids_of(replace(base, now=NOW + timedelta(hours=1), last_activity_at=NOW))
    assert ids_of(base) == same
    changed = ids_of(replace(base, status="snoozed"))
    assert changed[0] == "card:42" and changed[2] != ids_of(base)[2]


def test_everyone_else_who_writes_is_named_up_to_five():
    named = tuple(f"P{n} <p{n}@x.es>" for n in range(7))
    text = flat(card_message(card(participants=named)))
    assert "Also writing: P0 &lt;p0@x.es&gt;, P1" in text and "P4 &lt;p4@x.es&gt; and 2 more" in text
    assert "P5" not in text
    assert "Also writing" not in flat(card_message(card()))
