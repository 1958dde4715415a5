"""home.py: the App Home tab."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import ids
from bot.slack.views.home import home_view
from bot.slack.views.models import ConversationRow, HomeView, StatsView
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert, assert_view_ok

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
STATS = StatsView("last 7 days", 10, 8, 60.0, 120.0, 3600.0, 0.8, 2, {"email": 10})


def row(i, **kw):
    base = dict(
        conversation_id=i,
        channel="email",
        status="open",
        contact_name=f"C{i}",
        subject_or_preview=f"S{i}",
        waiting_since=NOW - timedelta(hours=i),
        permalink=f"https://x.slack.com/p{i}",
    )
    base.update(kw)
    return ConversationRow(**base)


def home(**kw) -> HomeView:
    base = dict(
        tab="mine",
        counts={"mine": 2, "unassigned": 5, "all": 40},
        rows=(row(3), row(1)),
        now=NOW,
        stats=STATS,
        tag_options=("billing", "vip"),
    )
    base.update(kw)
    return HomeView(**base)


def test_tabs_filters_rows_and_stats():
    view = assert_view_ok(home_view(home(status_filter="open", tag_filter="vip")))
    assert view["type"] == "home"
    tabs = next(b for b in view["blocks"] if b.get("block_id") == "home:tabs")["elements"]
    assert [t["value"] for t in tabs] == ["mine", "unassigned", "all"]
    assert all(re.match(ids.HOME_TAB_PATTERN, t["action_id"]) for t in tabs)
    assert [t.get("style") for t in tabs] == ["primary", None, None]
    assert [t["text"]["text"] for t in tabs] == ["Mine (2)", "Unassigned (5)", "All (40)"]
    filters = {
        e["action_id"]: e
        for e in next(b for b in view["blocks"] if b.get("block_id") == "home:filters")["elements"]
    }
    assert filters[ids.HOME_FILTER_STATUS]["initial_option"]["value"] == "open"
    assert filters[ids.HOME_FILTER_CHANNEL]["initial_option"]["value"] == "any"
    assert filters[ids.HOME_FILTER_TAG]["initial_option"]["value"] == "vip"
    row_ids = [
        b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("home:row")
    ]
    assert row_ids == ["home:row:3", "home:row:1"]  # order as given (oldest waiting first)
    text = json.dumps(view, ensure_ascii=False)
    assert "last 7 days" in text and "80 %" in text


def test_home_tab_pattern_does_not_match_other_ids():
    assert re.match(ids.HOME_TAB_PATTERN, ids.HOME_TAB)
    assert not re.match(ids.HOME_TAB_PATTERN, ids.HOME_FILTER_TAG)


@pytest.mark.parametrize("tab", ["mine", "unassigned", "all"])
def test_empty_home(tab):
    view = assert_view_ok(home_view(HomeView(tab=tab, counts={}, rows=(), now=NOW)))
    assert "Nothing waiting" in json.dumps(view)


def test_home_with_500_rows_and_300_tags():
    rows = tuple(
        row(
            i,
            contact_name=HOSTILE + "x" * 500,
            subject_or_preview=HOSTILE * 40,
            tags=tuple(HOSTILE for _ in range(300)),
            assignee_name=HOSTILE,
        )
        for i in range(500)
    )
    view = assert_view_ok(
        home_view(
            home(
                rows=rows,
                counts={"mine": 500},
                tag_options=tuple(f"t{i}" for i in range(300)) + ("x" * 151, "any"),
                tag_filter="t299",
                stats=StatsView(HOSTILE, 1, 1, None, None, None, None, 1, {HOSTILE: 3}),
            )
        )
    )
    assert len(view["blocks"]) <= 100
    assert "Showing the" in json.dumps(view)
    tag_filter = next(b for b in view["blocks"] if b.get("block_id") == "home:filters")["elements"][
        2
    ]
    assert tag_filter["initial_option"]["value"] == "t299"  # the active filter is always shown
    assert_inert(view, urls={f"https://x.slack.com/p{i}" for i in range(500)})


@pytest.mark.parametrize("available, label, value", [(True, "I'm away", "away"),
                                                     (False, "I'm back", "back")])
def test_availability_toggle_shows_the_state_and_asks_for_the_other(available, label, value):
    view = assert_view_ok(home_view(home(available=available)))
    block = next(b for b in view["blocks"] if b.get("block_id") == "home:availability")
    button = block["accessory"]
    assert button["action_id"] == ids.HOME_AVAILABILITY and button["value"] == value
    assert label in button["text"]["text"]
    assert ("away" in block["text"]["text"]) is (not available)
    hidden = home_view(home())  # no agent state known: no toggle
    assert not any(b.get("block_id") == "home:availability" for b in hidden["blocks"])
