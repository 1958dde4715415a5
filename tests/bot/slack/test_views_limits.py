"""limits.py: every documented rule triggers on a deliberately broken payload.

Also home of the shared helpers the other view tests use (assert_message_ok, …).
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from bot.slack.views.limits import message_problems, options_problems, view_problems

HOSTILE = "<!channel> <@U123> <https://evil|click> <!here> <!everyone> @channel @here & <#C1>"
_TOKEN = re.compile(r"<([^<>]*)>")


def _texts(obj, path="$"):
    """Every string value that Slack renders as mrkdwn (or top-level text)."""
    if isinstance(obj, dict):
        if obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str):
            yield path, obj["text"]
        for key, value in obj.items():
            if key == "text" and isinstance(value, str) and path == "$":
                yield "$.text", value
            yield from _texts(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _texts(value, f"{path}[{i}]")


def _without_plain_text(obj):
    """plain_text is never parsed by Slack (customer names may show there verbatim)."""
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            return {}
        return {k: _without_plain_text(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_without_plain_text(v) for v in obj]
    return obj


def assert_inert(payload: dict, mentions=(), urls=()) -> None:
    """No control sequence in rendered text except ours: dates, the given mentions/links."""
    for path, text in _texts(payload):
        for token in _TOKEN.findall(text):
            if token.startswith("!date^"):
                continue
            if token.startswith("@") and token[1:] in mentions:
                continue
            if "|" in token and token.split("|", 1)[0] in urls:
                continue
            raise AssertionError(f"{path}: live Slack token <{token}> in {text[:200]!r}")
        broadcast = re.search(r"@(channel|here|everyone)\b", text)
        assert not broadcast, (path, text[:200])
    raw = json.dumps(_without_plain_text(payload), ensure_ascii=False)
    for bad in ("<!channel>", "<@U123>", "<https://evil", "<!here>", "<!everyone>", "<#C1>"):
        found = bad in raw  # (no pytest diff on huge strings)
        assert not found, f"raw {bad} survived"


def assert_message_ok(payload: dict) -> dict:
    problems = message_problems(payload)
    assert problems == [], problems
    return payload


def assert_view_ok(view: dict) -> dict:
    problems = view_problems(view)
    assert problems == [], problems
    return view


def _button(action_id="a", text="Go", value="1"):
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def _opt(value, text=None):
    return {"text": {"type": "plain_text", "text": text or value}, "value": value}


def _select(n=3, **extra):
    return {
        "type": "static_select",
        "action_id": "s",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": [_opt(f"v{i}") for i in range(n)],
        **extra,
    }


GOOD_MESSAGE = {
    "text": "hello",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {
            "type": "section",
            "block_id": "s1",
            "text": {"type": "mrkdwn", "text": "hi"},
            "accessory": _button("acc"),
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]},
        {"type": "actions", "block_id": "a1", "elements": [_button("b1"), _select()]},
        {"type": "divider"},
    ],
}
GOOD_MODAL = {
    "type": "modal",
    "callback_id": "cb",
    "title": {"type": "plain_text", "text": "Title"},
    "submit": {"type": "plain_text", "text": "Save"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "private_metadata": "{}",
    "blocks": [
        {
            "type": "input",
            "block_id": "i1",
            "label": {"type": "plain_text", "text": "L"},
            "element": {"type": "plain_text_input", "action_id": "x", "max_length": 100},
        },
        {
            "type": "input",
            "block_id": "i2",
            "label": {"type": "plain_text", "text": "M"},
            "element": {
                "type": "multi_static_select",
                "action_id": "m",
                "options": [_opt("a"), _opt("b")],
                "initial_options": [_opt("a")],
            },
        },
    ],
}


def test_good_payloads_have_no_problems():
    assert message_problems(GOOD_MESSAGE) == []
    assert view_problems(GOOD_MODAL) == []
    assert view_problems({"type": "home", "blocks": GOOD_MESSAGE["blocks"]}) == []


def _broken_message(mutate):
    payload = copy.deepcopy(GOOD_MESSAGE)
    mutate(payload)
    return message_problems(payload)


def _broken_view(mutate):
    view = copy.deepcopy(GOOD_MODAL)
    mutate(view)
    return view_problems(view)


def _set(path, value):
    def mutate(obj):
        *head, last = path
        for key in head:
            obj = obj[key]
        obj[last] = value

    return mutate


MESSAGE_CASES = {
    "blocks per message": (
        lambda p: p.update(blocks=[{"type": "divider"}] * 51),
        "blocks: 51 blocks > 50",
    ),
    "message text": (_set(["text"], "x" * 40_001), "text: 40001 chars > 40000"),
    "no text or blocks": (lambda p: p.update(text="", blocks=[]), "text: a message needs"),
    "section text": (
        _set(["blocks", 1, "text", "text"], "x" * 3001),
        "blocks[1].text.text: 3001 chars > 3000",
    ),
    "empty section text": (_set(["blocks", 1, "text", "text"], ""), "blocks[1].text.text: empty"),
    "section without text": (lambda p: p["blocks"][1].pop("text"), "section needs text or fields"),
    "fields count": (
        _set(["blocks", 2, "fields"], [{"type": "mrkdwn", "text": "f"}] * 11),
        "blocks[2].fields: at most 10",
    ),
    "field text": (
        _set(["blocks", 2, "fields", 0, "text"], "x" * 2001),
        "blocks[2].fields[0].text: 2001 chars > 2000",
    ),
    "header text": (
        _set(["blocks", 0, "text", "text"], "x" * 151),
        "blocks[0].text.text: 151 chars > 150",
    ),
    "header mrkdwn": (_set(["blocks", 0, "text", "type"], "mrkdwn"), "blocks[0].text.type"),
    "context elements": (
        _set(["blocks", 3, "elements"], [{"type": "mrkdwn", "text": "c"}] * 11),
        "blocks[3].elements: 11 elements",
    ),
    "actions elements": (
        _set(["blocks", 4, "elements"], [_button(f"b{i}") for i in range(26)]),
        "blocks[4].elements: 26 elements",
    ),
    "button text": (
        _set(["blocks", 4, "elements", 0, "text", "text"], "x" * 76),
        "blocks[4].elements[0].text.text: 76 chars > 75",
    ),
    "button value": (
        _set(["blocks", 4, "elements", 0, "value"], "x" * 2001),
        "blocks[4].elements[0].value: 2001 chars > 2000",
    ),
    "button url": (
        _set(["blocks", 4, "elements", 0, "url"], "https://x/" + "x" * 3000),
        "blocks[4].elements[0].url",
    ),
    "button style": (_set(["blocks", 4, "elements", 0, "style"], "green"), "invalid style"),
    "option text": (
        _set(["blocks", 4, "elements", 1, "options", 0, "text", "text"], "x" * 76),
        "blocks[4].elements[1].options[0].text.text: 76 chars > 75",
    ),
    "option value": (
        _set(["blocks", 4, "elements", 1, "options", 0, "value"], "x" * 151),
        "blocks[4].elements[1].options[0].value: 151 chars > 150",
    ),
    "options per select": (
        _set(["blocks", 4, "elements", 1], _select(101)),
        "blocks[4].elements[1].options: 101 options",
    ),
    "empty select": (_set(["blocks", 4, "elements", 1], _select(0)), "0 options"),
    "option groups": (
        _set(
            ["blocks", 4, "elements", 1],
            {
                "type": "static_select",
                "action_id": "g",
                "option_groups": [
                    {"label": {"type": "plain_text", "text": "g"}, "options": [_opt(f"{i}")]}
                    for i in range(101)
                ],
            },
        ),
        "option_groups: 101 groups",
    ),
    "duplicate option values": (
        _set(["blocks", 4, "elements", 1, "options", 1, "value"], "v0"),
        "duplicate option values",
    ),
    "placeholder": (
        _set(["blocks", 4, "elements", 1, "placeholder", "text"], "x" * 151),
        "blocks[4].elements[1].placeholder.text: 151 chars > 150",
    ),
    "initial option not among options": (
        _set(["blocks", 4, "elements", 1, "initial_option"], _opt("nope")),
        "blocks[4].elements[1].initial_option: not among",
    ),
    "initial option text differs": (
        _set(["blocks", 4, "elements", 1, "initial_option"], _opt("v0", "other")),
        "not among",
    ),
    "action_id length": (
        _set(["blocks", 4, "elements", 0, "action_id"], "a" * 256),
        "blocks[4].elements[0].action_id: 256 chars > 255",
    ),
    "block_id length": (
        _set(["blocks", 1, "block_id"], "b" * 256),
        "blocks[1].block_id: 256 chars > 255",
    ),
    "duplicate block_id": (_set(["blocks", 4, "block_id"], "s1"), "duplicate block_id 's1'"),
    "duplicate action_id in block": (
        _set(["blocks", 4, "elements", 1, "action_id"], "b1"),
        "blocks[4].elements[1].action_id: duplicate action_id",
    ),
    "overflow options": (
        _set(
            ["blocks", 1, "accessory"],
            {"type": "overflow", "action_id": "o", "options": [_opt(f"{i}") for i in range(6)]},
        ),
        "blocks[1].accessory.options: 6 options (allowed 2-5)",
    ),
    "unknown block": (_set(["blocks", 5, "type"], "banner"), "unknown block type"),
    "unknown element": (
        _set(["blocks", 4, "elements", 0, "type"], "slider"),
        "unknown element type",
    ),
    "emoji on mrkdwn": (_set(["blocks", 1, "text", "emoji"], True), "only allowed on plain_text"),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_each_message_rule_triggers(case):
    mutate, expected = MESSAGE_CASES[case]
    problems = _broken_message(mutate)
    assert any(expected in p for p in problems), problems


VIEW_CASES = {
    "blocks per view": (
        lambda v: v.update(blocks=[{"type": "divider"}] * 101),
        "blocks: 101 blocks > 100",
    ),
    "no blocks": (lambda v: v.update(blocks=[]), "at least one block"),
    "modal title": (_set(["title", "text"], "x" * 25), "title.text: 25 chars > 24"),
    "modal submit": (_set(["submit", "text"], "x" * 25), "submit.text: 25 chars > 24"),
    "modal close": (_set(["close", "text"], "x" * 25), "close.text: 25 chars > 24"),
    "missing submit with inputs": (lambda v: v.pop("submit"), "needs a submit button"),
    "private_metadata": (
        _set(["private_metadata"], "x" * 3001),
        "private_metadata: 3001 chars > 3000",
    ),
    "callback_id": (_set(["callback_id"], "c" * 256), "callback_id: 256 chars > 255"),
    "view type": (_set(["type"], "workflow_step"), "view type must be"),
    "input label": (
        _set(["blocks", 0, "label", "text"], "x" * 2001),
        "blocks[0].label.text: 2001 chars > 2000",
    ),
    "input hint": (
        _set(["blocks", 0, "hint"], {"type": "plain_text", "text": "x" * 2001}),
        "blocks[0].hint.text: 2001 chars > 2000",
    ),
    "input element missing": (lambda v: v["blocks"][0].pop("element"), "element: missing"),
    "input element not allowed": (
        _set(["blocks", 0, "element"], _button()),
        "not allowed in input",
    ),
    "text input max_length": (
        _set(["blocks", 0, "element", "max_length"], 3001),
        "blocks[0].element.max_length",
    ),
    "initial_value over max_length": (
        _set(["blocks", 0, "element", "initial_value"], "x" * 101),
        "blocks[0].element.initial_value: 101 chars > 100",
    ),
    "initial_options not among options": (
        _set(["blocks", 1, "element", "initial_options"], [_opt("z")]),
        "blocks[1].element.initial_options[0]: not among",
    ),
    "duplicate block_id in view": (_set(["blocks", 1, "block_id"], "i1"), "duplicate block_id"),
    "datetimepicker in ms": (
        _set(
            ["blocks", 0, "element"],
            {"type": "datetimepicker", "action_id": "d", "initial_date_time": 1_700_000_000_000},
        ),
        "UNIX timestamp in seconds",
    ),
}


@pytest.mark.parametrize("case", sorted(VIEW_CASES))
def test_each_view_rule_triggers(case):
    mutate, expected = VIEW_CASES[case]
    problems = _broken_view(mutate)
    assert any(expected in p for p in problems), problems


def test_nested_paths_are_reported():
    view = copy.deepcopy(GOOD_MODAL)
    view["blocks"].append(
        {"type": "actions", "elements": [_button("a"), _button("b"), _button("c", text="x" * 80)]}
    )
    assert view_problems(view) == ["blocks[2].elements[2].text.text: 80 chars > 75"]


def test_options_response_limits():
    assert options_problems({"options": [_opt("a")]}) == []
    assert options_problems({"options": []}) == []
    too_many = options_problems({"options": [_opt(str(i)) for i in range(101)]})
    assert any("101 options" in p for p in too_many)
    assert any("151 chars" in p for p in options_problems({"options": [_opt("x" * 151)]}))


def test_assert_inert_catches_live_tokens():
    with pytest.raises(AssertionError):
        assert_inert({"text": "hi <!channel>"})
    with pytest.raises(AssertionError):
        assert_inert(
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "ping @here"}}]}
        )
    assert_inert({"text": "ok <@U1> <!date^1^{date}|x>"}, mentions={"U1"})
