"""lists.py: /inbox lists, search results, stats, help and usage errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import ids
from bot.slack.views.lists import (
    help_message,
    inbox_list_message,
    search_results_message,
    stats_message,
    usage_error,
)
from bot.slack.views.models import ConversationRow, StatsView
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert, assert_message_ok

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
URLS = {f"https://x.slack.com/archives/C1/p{i}" for i in range(600)}


def row(i, **kw):
    base = dict(
        conversation_id=i,
        channel="email" if i % 2 else "whatsapp",
        status="open",
        contact_name=f"Contact {i}",
        subject_or_preview=f"Subject {i}",
        waiting_since=NOW - timedelta(minutes=i * 7),
        permalink=f"https://x.slack.com/archives/C1/p{i}",
        assignee_name="Bob",
        tags=("billing",),
    )
    base.update(kw)
    return ConversationRow(**base)


def test_inbox_list_rows_link_to_threads():
    out = assert_message_ok(inbox_list_message("Mine", [row(1), row(2, permalink=None)], 2, NOW))
    text = json.dumps(out, ensure_ascii=False)
    assert "<https://x.slack.com/archives/C1/p1|Contact 1>" in text
    assert "*Contact 2*" in text and "waiting 14 min" in text and "`billing`" in text
    assert ":large_green_circle: Open" in text and "more" not in text
    first = out["blocks"][2]
    assert first["block_id"] == "row:1" and first["accessory"]["action_id"] == ids.OPEN_THREAD
    assert "accessory" not in out["blocks"][3]


def test_inbox_list_500_rows_is_cut_with_and_more():
    rows = [
        row(
            i,
            contact_name=HOSTILE + "n" * 500,
            subject_or_preview=HOSTILE * 50,
            tags=tuple(f"{HOSTILE}{t}" for t in range(300)),
            assignee_name=HOSTILE * 9,
        )
        for i in range(500)
    ]
    out = assert_message_ok(inbox_list_message(HOSTILE * 10, rows, 1234, NOW))
    assert len(out["blocks"]) <= 50
    shown = sum(1 for b in out["blocks"] if b.get("block_id", "").startswith("row:"))
    assert f"and {1234 - shown:,} more" in json.dumps(out)
    assert_inert(out, urls=URLS)


def test_inbox_list_empty_and_duplicates():
    assert "Inbox zero" in json.dumps(assert_message_ok(inbox_list_message("All", [], 0, NOW)))
    out = assert_message_ok(inbox_list_message("All", [row(1), row(1)], 2, NOW))
    assert [b.get("block_id") for b in out["blocks"]].count("row:1") == 1


def test_search_results():
    out = assert_message_ok(
        search_results_message("refund", [(row(1), "…asked for a refund…")], NOW)
    )
    text = json.dumps(out, ensure_ascii=False)
    assert "Search: refund" in text and "asked for a refund" in text
    empty = assert_message_ok(search_results_message(HOSTILE, [], NOW))
    assert "No conversations match" in json.dumps(empty)
    assert_inert(empty)
    hits = [(row(i, contact_name=HOSTILE * 30), HOSTILE * 100) for i in range(500)]
    many = assert_message_ok(search_results_message("x" * 5000, hits, NOW))
    assert "more matches" in json.dumps(many)
    assert_inert(many, urls=URLS)


def test_stats_message():
    view = StatsView(
        "last 7 days",
        120,
        100,
        300.0,
        5400.0,
        2 * 86400 + 3600,
        0.83,
        20,
        {"email": 70, "whatsapp": 50},
    )
    out = assert_message_ok(stats_message(view))
    text = json.dumps(out, ensure_ascii=False)
    for expected in (
        "last 7 days",
        "120",
        "83 %",
        "5 min",
        "1 h 30 min",
        "2 d 1 h",
        "20 open",
        "WhatsApp: 50",
    ):
        assert expected in text, expected
    empty = assert_message_ok(
        stats_message(StatsView("last 30 days", 0, 0, None, None, None, None, 0))
    )
    assert "—" in json.dumps(empty, ensure_ascii=False)
    huge = StatsView(
        HOSTILE * 10,
        10**9,
        10**9,
        1e9,
        1e9,
        1e9,
        1.0,
        10**9,
        {f"{HOSTILE}{i}": i for i in range(300)},
    )
    assert_inert(assert_message_ok(stats_message(huge)))


def test_help_and_usage():
    out = assert_message_ok(help_message())
    text = json.dumps(out, ensure_ascii=False)
    for expected in (
        "/inbox [mine|unassigned|all]",
        "status:open|pending|snoozed|resolved",
        "channel:email|whatsapp",
        "account:ID",
        "tag:NAME",
        "/inbox new",
        "/inbox search TEXT",
        "/inbox stats [7d|30d]",
        "/inbox help",
        "snooze 2h|tomorrow|monday",
        "assign @user|me",
        "tag NAME…",
        "untag NAME",
        "resolve",
        "reopen",
        "note TEXT",
    ):
        assert expected in text, expected
    assert out["response_type"] == "ephemeral"


@pytest.mark.parametrize("problem", ["Unknown status `closed`", HOSTILE * 100, ""])
def test_usage_error(problem):
    out = assert_message_ok(usage_error(problem))
    assert "/inbox [mine|unassigned|all]" in json.dumps(out)
    assert out["response_type"] == "ephemeral"
    assert_inert(out)
