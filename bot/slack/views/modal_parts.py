"""Building blocks of modals: the view shell, inputs, selects and their options."""

from __future__ import annotations

import json

from bot.slack.views.models import OptionView
from bot.slack.views.text import plain_text

MAX_OPTIONS = 100
MAX_GROUPS = 100
OPTION_VALUE = 150
VIEW_BLOCKS = 100


def metadata(**values) -> str:
    data = json.dumps(values, separators=(",", ":"), default=str)
    if len(data) > 3_000:  # never happens with ids and names <= 150; keep Slack happy anyway
        data = json.dumps({k: v for k, v in values.items() if k.endswith("_id")})
    return data


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict],
    metadata: str,
    submit: str | None = None,
    close: str = "Cancel",
) -> dict:
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(title, 24),
        "close": plain_text(close, 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }
    if submit:
        view["submit"] = plain_text(submit, 24)
    return view


def input_block(
    block_action: tuple[str, str],
    label: str,
    element: dict,
    *,
    optional: bool = False,
    hint: str | None = None,
    dispatch_action: bool = False,
) -> dict:
    block_id, action_id = block_action
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, 2_000),
        "element": {**element, "action_id": action_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint, 2_000)
    if dispatch_action:
        block["dispatch_action"] = True
    return block


def option(value: str, label: str) -> dict:
    return {"text": plain_text(label or value, 75), "value": value}


def usable_options(options: list[OptionView]) -> list[OptionView]:
    """Options Slack can carry: value 1-150 chars, first occurrence of each value."""
    seen: set[str] = set()
    out = []
    for o in options:
        if o.value and len(o.value) <= OPTION_VALUE and o.value not in seen:
            seen.add(o.value)
            out.append(o)
    return out


def select(
    options: list[OptionView],
    placeholder: str,
    *,
    initial: str | None = None,
    kind: str = "static_select",
) -> dict:
    """A static select; more than 100 options become option groups of 100."""
    opts = usable_options(options)[: MAX_OPTIONS * MAX_GROUPS]
    element: dict = {"type": kind, "placeholder": plain_text(placeholder, 150)}
    rendered = [option(o.value, o.label) for o in opts]
    if len(rendered) <= MAX_OPTIONS:
        element["options"] = rendered
    else:
        element["option_groups"] = [
            {
                "label": plain_text(f"{i + 1}–{min(i + MAX_OPTIONS, len(rendered))}", 75),
                "options": rendered[i : i + MAX_OPTIONS],
            }
            for i in range(0, len(rendered), MAX_OPTIONS)
        ]
    if initial is not None:
        for o in rendered:
            if o["value"] == initial:
                element["initial_option"] = o
                break
    return element


# -- assign --------------------------------------------------------------------------------
