"""text.py: escaping, splitting, truncation and formatting helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.views.text import (
    escape_mrkdwn,
    format_duration,
    format_relative,
    link,
    mention,
    plain_text,
    split_text,
    tag_emoji,
    truncate,
)
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def test_escape_makes_pings_inert():
    out = escape_mrkdwn(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out
    assert "&lt;https://evil|click&gt;" in out
    assert "&amp;" in out
    assert not re.search(r"@(channel|here|everyone)\b", out)
    assert_inert({"text": out})


def test_escape_is_minimal_for_ordinary_text():
    assert escape_mrkdwn("Hola, ¿qué tal? *bold* :tada:") == "Hola, ¿qué tal? *bold* :tada:"
    assert escape_mrkdwn("a & b") == "a &amp; b"
    assert escape_mrkdwn("&amp;") == "&amp;amp;"  # escaped literally, never decoded
    assert escape_mrkdwn(None) == "" and escape_mrkdwn("") == ""


def test_mention_and_link_refuse_injection():
    assert mention("U123ABC") == "<@U123ABC>"
    assert mention("W1234") == "<@W1234>"
    assert mention("U1> <!channel") is None and mention(None) is None and mention("") is None
    assert link("https://x.slack.com/archives/C1/p1?a=1&b=2", "<!channel> | x") == (
        "<https://x.slack.com/archives/C1/p1?a=1&amp;b=2|&lt;!channel&gt; ¦ x>"
    )
    assert link(None, "<b>") == "&lt;b&gt;"
    assert "|" not in link("https://e.com/a|b>c", "l").split("|", 1)[0]


def _rejoin(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("limit", [1, 5, 50, 2900])
def test_split_text_round_trips(limit):
    text = ("Paragraph one is here.\n\nLine a\nLine b " * 40) + "x" * 7000 + " tail"
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert _rejoin("".join(chunks)) == _rejoin(text)


def test_split_text_prefers_paragraphs_then_lines_then_words():
    para = "a" * 60
    text = f"{para}\n\n{para}\n\n{para}"
    assert split_text(text, 130) == [f"{para}\n\n{para}", para]
    lines = "\n".join(["b" * 30] * 5)
    assert split_text(lines, 70) == [
        "b" * 30 + "\n" + "b" * 30,
        "b" * 30 + "\n" + "b" * 30,
        "b" * 30,
    ]
    words = " ".join(["word"] * 10)
    assert split_text(words, 20) == ["word word word word", "word word word word", "word word"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_text_never_breaks_entities_or_tokens():
    escaped = escape_mrkdwn("<" * 1000)
    chunks = split_text(escaped, 98)
    assert all(c.startswith("&lt;") and c.endswith("&lt;") for c in chunks)
    assert "".join(chunks) == escaped
    ours = "see <https://example.com/a|the thread> " * 50
    assert all(c.count("<") == c.count(">") for c in split_text(ours, 100))


def test_split_text_edges():
    assert split_text("") == [] and split_text("   \n\n ") == [] and split_text(None) == []
    assert split_text("short") == ["short"]
    with pytest.raises(ValueError):
        split_text("x", 0)


def test_split_60k_body():
    body = ("Dear team,\n\n" + "lorem ipsum dolor sit amet " * 2000 + "\n") * 1
    body = (body * 3)[:60_000]
    chunks = split_text(body, 2900)
    assert all(len(c) <= 2900 for c in chunks)
    assert _rejoin("".join(chunks)) == _rejoin(body)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab <>&\n\t é👍\u0301"), max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_split_text_property(text, limit):
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert _rejoin("".join(chunks)) == _rejoin(text)


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab <>&\n"), max_size=300),
    st.integers(min_value=8, max_value=60),
)
def test_split_escaped_text_keeps_entities_whole(text, limit):
    for chunk in split_text(escape_mrkdwn(text), limit):
        assert not re.search(r"&(?!(amp|lt|gt);)", chunk), chunk
        assert "<" not in chunk


def test_truncate():
    assert truncate("hello", 10) == "hello"
    assert truncate("hello world", 6) == "hello…"
    assert len(truncate("x" * 500, 75)) == 75 and truncate("x" * 500, 75).endswith("…")
    assert truncate("", 5) == "" and truncate(None, 5) == ""
    assert truncate("abc", 1) == "…"
    assert truncate("ab &amp; cd", 6) == "ab…"  # never ends in half an entity


def test_plain_text():
    assert plain_text("Hi") == {"type": "plain_text", "text": "Hi", "emoji": True}
    assert len(plain_text("x" * 500, 24)["text"]) == 24
    assert plain_text("")["text"].strip() == ""  # never empty (Slack wants >= 1 char)
    assert len(plain_text("")["text"]) >= 1


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (12 * 60 + 5, "12 min"),
        (3 * 3600, "3 h"),
        (3 * 3600 + 5 * 60, "3 h 5 min"),
        (2 * 86400 + 4 * 3600, "2 d 4 h"),
        (2 * 86400, "2 d"),
        (400 * 86400, "400 d"),
        (-90, "1 min"),
        (None, "—"),
    ],
)
def test_format_duration(seconds, expected):
    assert format_duration(seconds) == expected


def test_format_relative():
    assert format_relative(NOW + timedelta(hours=3), NOW) == "in 3 h"
    assert format_relative(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert format_relative(NOW + timedelta(seconds=20), NOW) == "just now"
    assert format_relative(NOW - timedelta(seconds=59), NOW) == "just now"
    naive = datetime(2024, 5, 6, 11, 0)
    assert format_relative(naive, NOW) == "1 h ago"  # naive counts as UTC


@pytest.mark.parametrize(
    ("colour", "emoji"),
    [
        ("#ff0000", ":large_red_square:"),
        ("#e53935", ":large_red_square:"),
        ("#ff9800", ":large_orange_square:"),
        ("#ffeb3b", ":large_yellow_square:"),
        ("#4caf50", ":large_green_square:"),
        ("#2196f3", ":large_blue_square:"),
        ("#9c27b0", ":large_purple_square:"),
        ("#795548", ":large_brown_square:"),
        ("#000000", ":black_large_square:"),
        ("#333", ":black_large_square:"),
        ("#ffffff", ":white_large_square:"),
        ("#9e9e9e", ":white_large_square:"),
        ("00ff00", ":large_green_square:"),
        ("not a colour", ":white_large_square:"),
        ("", ":white_large_square:"),
        (None, ":white_large_square:"),
    ],
)
def test_tag_emoji(colour, emoji):
    assert tag_emoji(colour) == emoji
