"""Slack's documented Block Kit limits, checked recursively.

`message_problems(payload)` and `view_problems(view)` return readable problems such as
``"blocks[3].elements[2].text: 80 chars > 75"``; an empty list means Slack should accept
the payload as far as its documented limits go. Used by the tests on every builder.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
TEXT_OBJECT = 3_000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2_000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
URL = 3_000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
OPTION_GROUPS = 100
OPTION_GROUP_LABEL = 75
OVERFLOW_OPTIONS = (2, 5)
RADIO_OPTIONS = 10
PLACEHOLDER = 150
INPUT_LABEL = 2_000
INPUT_HINT = 2_000
MODAL_TITLE = 24
PRIVATE_METADATA = 3_000
ID = 255
TEXT_INPUT_MAX = 3_000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
ALT_TEXT = 2_000

BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "actions",
    "divider",
    "input",
    "image",
    "rich_text",
    "file",
    "video",
    "markdown",
}
SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}
ELEMENT_TYPES = SELECTS | {
    "button",
    "overflow",
    "plain_text_input",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "image",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
    "workflow_button",
}
INPUT_ELEMENTS = SELECTS | {
    "plain_text_input",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # -- primitives -----------------------------------------------------------------------
    def length(self, path: str, value: Any, limit: int, *, minimum: int = 0) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {type(value).__name__}")
            return
        if len(value) > limit:
            self.add(path, f"{len(value)} chars > {limit}")
        if len(value) < minimum:
            self.add(path, f"empty (at least {minimum} char needed)")

    def text(
        self,
        path: str,
        obj: Any,
        limit: int = TEXT_OBJECT,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.add(path, "missing text object")
            return
        if not isinstance(obj, dict):
            self.add(path, "text object must be an object")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.add(f"{path}.type", f"unknown text type {kind!r}")
        elif plain_only and kind != "plain_text":
            self.add(f"{path}.type", "must be plain_text")
        if kind == "mrkdwn" and "emoji" in obj:
            self.add(f"{path}.emoji", "only allowed on plain_text")
        if kind == "plain_text" and "verbatim" in obj:
            self.add(f"{path}.verbatim", "only allowed on mrkdwn")
        if "text" not in obj:
            self.add(f"{path}.text", "missing")
            return
        self.length(f"{path}.text", obj["text"], limit, minimum=1)

    def ident(self, path: str, value: Any) -> None:
        if value is None:
            return
        self.length(path, value, ID, minimum=1)

    def url(self, path: str, value: Any) -> None:
        self.length(path, value, URL, minimum=1)

    def block_id(self, path: str, value: Any) -> None:
        if value is None:
            return
        self.ident(path, value)
        if isinstance(value, str):
            if value in self.block_ids:
                self.add(path, f"duplicate block_id {value!r} (also at {self.block_ids[value]})")
            else:
                self.block_ids[value] = path

    # -- composition objects --------------------------------------------------------------
    def option(self, path: str, opt: Any) -> None:
        if not isinstance(opt, dict):
            self.add(path, "option must be an object")
            return
        self.text(f"{path}.text", opt.get("text"), OPTION_TEXT)
        if "value" not in opt and "url" not in opt:
            self.add(f"{path}.value", "missing")
        self.length(f"{path}.value", opt.get("value"), OPTION_VALUE, minimum=1)
        if opt.get("description") is not None:
            self.text(f"{path}.description", opt["description"], OPTION_TEXT, plain_only=True)
        if opt.get("url") is not None:
            self.url(f"{path}.url", opt["url"])

    def confirm(self, path: str, obj: Any) -> None:
        if obj is None:
            return
        if not isinstance(obj, dict):
            self.add(path, "confirm must be an object")
            return
        self.text(f"{path}.title", obj.get("title"), CONFIRM_TITLE, plain_only=True)
        self.text(f"{path}.text", obj.get("text"), CONFIRM_TEXT)
        self.text(f"{path}.confirm", obj.get("confirm"), CONFIRM_BUTTON, plain_only=True)
        self.text(f"{path}.deny", obj.get("deny"), CONFIRM_BUTTON, plain_only=True)

    @staticmethod
    def _key(opt: Any) -> tuple:
        if not isinstance(opt, dict):
            return (None, None)
        text = opt.get("text")
        return (opt.get("value"), text.get("text") if isinstance(text, dict) else text)

    def options(self, path: str, el: dict, *, minimum: int, maximum: int) -> list:
        """Check options / option_groups; return the flat list of options."""
        flat: list = []
        options, groups = el.get("options"), el.get("option_groups")
        if options is not None and groups is not None:
            self.add(path, "options and option_groups are mutually exclusive")
        if options is not None:
            if not isinstance(options, list):
                self.add(f"{path}.options", "must be a list")
                return flat
            if not minimum <= len(options) <= maximum:
                self.add(f"{path}.options", f"{len(options)} options (allowed {minimum}-{maximum})")
            for i, opt in enumerate(options):
                self.option(f"{path}.options[{i}]", opt)
            flat.extend(options)
        elif groups is not None:
            if not isinstance(groups, list):
                self.add(f"{path}.option_groups", "must be a list")
                return flat
            if not 1 <= len(groups) <= OPTION_GROUPS:
                self.add(f"{path}.option_groups", f"{len(groups)} groups (allowed 1-100)")
            for g, group in enumerate(groups):
                gp = f"{path}.option_groups[{g}]"
                if not isinstance(group, dict):
                    self.add(gp, "option group must be an object")
                    continue
                self.text(f"{gp}.label", group.get("label"), OPTION_GROUP_LABEL, plain_only=True)
                opts = group.get("options") or []
                if not 1 <= len(opts) <= OPTIONS:
                    self.add(f"{gp}.options", f"{len(opts)} options (allowed 1-{OPTIONS})")
                for i, opt in enumerate(opts):
                    self.option(f"{gp}.options[{i}]", opt)
                flat.extend(opts)
        elif minimum:
            self.add(f"{path}.options", "missing")
        values = [o.get("value") for o in flat if isinstance(o, dict) and "value" in o]
        if len(values) != len(set(values)):
            self.add(f"{path}.options", "duplicate option values")
        return flat

    def initial(self, path: str, el: dict, flat: list | None) -> None:
        chosen = []
        if el.get("initial_option") is not None:
            chosen.append(("initial_option", el["initial_option"]))
        if el.get("initial_options") is not None:
            if not isinstance(el["initial_options"], list):
                self.add(f"{path}.initial_options", "must be a list")
            else:
                chosen += [
                    (f"initial_options[{i}]", o) for i, o in enumerate(el["initial_options"])
                ]
        keys = {self._key(o) for o in flat} if flat is not None else None
        for name, opt in chosen:
            self.option(f"{path}.{name}", opt)
            if keys is not None and self._key(opt) not in keys:
                self.add(f"{path}.{name}", "not among the element's options (value and text)")

    # -- elements ---------------------------------------------------------------------------
    def element(self, path: str, el: Any, *, context: str = "block") -> None:
        if not isinstance(el, dict):
            self.add(path, "element must be an object")
            return
        kind = el.get("type")
        if kind not in ELEMENT_TYPES:
            self.add(f"{path}.type", f"unknown element type {kind!r}")
            return
        self.ident(f"{path}.action_id", el.get("action_id"))
        self.confirm(f"{path}.confirm", el.get("confirm"))
        if "placeholder" in el:
            self.text(f"{path}.placeholder", el["placeholder"], PLACEHOLDER, plain_only=True)
        if kind == "button":
            self.text(f"{path}.text", el.get("text"), BUTTON_TEXT, plain_only=True)
            self.length(f"{path}.value", el.get("value"), BUTTON_VALUE)
            if el.get("url") is not None:
                self.url(f"{path}.url", el["url"])
            if el.get("style") not in (None, "primary", "danger"):
                self.add(f"{path}.style", f"invalid style {el.get('style')!r}")
        elif kind in ("static_select", "multi_static_select"):
            flat = self.options(path, el, minimum=1, maximum=OPTIONS)
            self.initial(path, el, flat)
            if kind == "static_select" and el.get("initial_options") is not None:
                self.add(f"{path}.initial_options", "static_select takes initial_option")
            if kind == "multi_static_select" and el.get("initial_option") is not None:
                self.add(f"{path}.initial_option", "multi_static_select takes initial_options")
        elif kind in ("external_select", "multi_external_select"):
            self.initial(path, el, None)
            mql = el.get("min_query_length")
            if mql is not None and (not isinstance(mql, int) or mql < 0):
                self.add(f"{path}.min_query_length", "must be a non-negative integer")
        elif kind == "overflow":
            self.options(path, el, minimum=OVERFLOW_OPTIONS[0], maximum=OVERFLOW_OPTIONS[1])
        elif kind in ("checkboxes", "radio_buttons"):
            flat = self.options(path, el, minimum=1, maximum=RADIO_OPTIONS)
            self.initial(path, el, flat)
        elif kind == "plain_text_input":
            mx, mn = el.get("max_length"), el.get("min_length")
            for name, value in (("max_length", mx), ("min_length", mn)):
                if value is not None and (
                    not isinstance(value, int) or not 0 <= value <= TEXT_INPUT_MAX
                ):
                    self.add(f"{path}.{name}", f"must be an integer 0-{TEXT_INPUT_MAX}")
            cap = mx if isinstance(mx, int) else TEXT_INPUT_MAX
            self.length(f"{path}.initial_value", el.get("initial_value"), cap)
            if isinstance(mx, int) and isinstance(mn, int) and mn > mx:
                self.add(path, "min_length > max_length")
        elif kind == "datetimepicker":
            ts = el.get("initial_date_time")
            if ts is not None and (not isinstance(ts, int) or not 0 <= ts < 10**10):
                self.add(f"{path}.initial_date_time", "must be a UNIX timestamp in seconds")
        elif kind == "image":
            self.url(f"{path}.image_url", el.get("image_url"))
            self.length(f"{path}.alt_text", el.get("alt_text"), ALT_TEXT, minimum=1)
        if kind in INPUT_ELEMENTS and context not in ("input", "actions", "section"):
            self.add(path, f"{kind} is not allowed in a {context} block")

    def unique_actions(self, path: str, elements: list) -> None:
        seen: dict[str, int] = {}
        for i, el in enumerate(elements):
            if isinstance(el, dict) and el.get("action_id") is not None:
                aid = el["action_id"]
                if aid in seen:
                    self.add(
                        f"{path}[{i}].action_id",
                        f"duplicate action_id {aid!r} in block (also at [{seen[aid]}])",
                    )
                else:
                    seen[aid] = i

    # -- blocks -----------------------------------------------------------------------------
    def block(self, path: str, block: Any, surface: str) -> None:
        if not isinstance(block, dict):
            self.add(path, "block must be an object")
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.add(f"{path}.type", f"unknown block type {kind!r}")
            return
        self.block_id(f"{path}.block_id", block.get("block_id"))
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                self.add(path, "section needs text or fields")
            if text is not None:
                self.text(f"{path}.text", text, TEXT_OBJECT)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > SECTION_FIELDS:
                    self.add(f"{path}.fields", f"at most {SECTION_FIELDS} fields")
                for i, field in enumerate(fields or []):
                    self.text(f"{path}.fields[{i}]", field, SECTION_FIELD_TEXT)
            if block.get("accessory") is not None:
                self.element(f"{path}.accessory", block["accessory"], context="section")
        elif kind == "header":
            self.text(f"{path}.text", block.get("text"), HEADER_TEXT, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                n = len(elements) if isinstance(elements, list) else 0
                self.add(f"{path}.elements", f"{n} elements (allowed 1-{CONTEXT_ELEMENTS})")
            for i, el in enumerate(elements or []):
                ep = f"{path}.elements[{i}]"
                if isinstance(el, dict) and el.get("type") == "image":
                    self.element(ep, el, context="context")
                else:
                    self.text(ep, el, TEXT_OBJECT)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                n = len(elements) if isinstance(elements, list) else 0
                self.add(f"{path}.elements", f"{n} elements (allowed 1-{ACTIONS_ELEMENTS})")
            for i, el in enumerate(elements or []):
                self.element(f"{path}.elements[{i}]", el, context="actions")
            self.unique_actions(f"{path}.elements", elements or [])
        elif kind == "input":
            self.text(f"{path}.label", block.get("label"), INPUT_LABEL, plain_only=True)
            if block.get("hint") is not None:
                self.text(f"{path}.hint", block["hint"], INPUT_HINT, plain_only=True)
            el = block.get("element")
            if el is None:
                self.add(f"{path}.element", "missing")
            else:
                self.element(f"{path}.element", el, context="input")
                if isinstance(el, dict) and el.get("type") not in INPUT_ELEMENTS:
                    self.add(f"{path}.element.type", f"{el.get('type')!r} not allowed in input")
        elif kind == "image":
            self.url(f"{path}.image_url", block.get("image_url"))
            self.length(f"{path}.alt_text", block.get("alt_text"), ALT_TEXT, minimum=1)
            if block.get("title") is not None:
                self.text(f"{path}.title", block["title"], 2_000, plain_only=True)

    def blocks(self, path: str, blocks: Any, maximum: int, surface: str) -> None:
        if blocks is None:
            return
        if not isinstance(blocks, list):
            self.add(path, "blocks must be a list")
            return
        if len(blocks) > maximum:
            self.add(path, f"{len(blocks)} blocks > {maximum}")
        for i, block in enumerate(blocks):
            self.block(f"{path}[{i}]", block, surface)


def message_problems(payload: dict) -> list[str]:
    """Problems Slack would reject in a message payload (chat.postMessage/update, respond)."""
    c = _Checker()
    if not isinstance(payload, dict):
        return ["payload: must be an object"]
    text, blocks = payload.get("text"), payload.get("blocks")
    if not text and not blocks:
        c.add("text", "a message needs text or blocks")
    c.length("text", text, MESSAGE_TEXT)
    c.blocks("blocks", blocks, MESSAGE_BLOCKS, "message")
    for i, block in enumerate(blocks or []):
        if (
            isinstance(block, dict)
            and block.get("type") == "input"
            and not block.get("dispatch_action")
        ):
            c.add(f"blocks[{i}]", "input blocks in messages need dispatch_action")
    c.length("username", payload.get("username"), 80)
    return c.problems


def view_problems(view: dict) -> list[str]:
    """Problems Slack would reject in a modal or App Home view (views.open/update/publish)."""
    c = _Checker()
    if not isinstance(view, dict):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        c.add("type", f"view type must be modal or home, got {kind!r}")
    if kind == "modal":
        c.text("title", view.get("title"), MODAL_TITLE, plain_only=True)
        for name in ("submit", "close"):
            if view.get(name) is not None:
                c.text(name, view[name], MODAL_TITLE, plain_only=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and view.get("submit") is None:
            c.add("submit", "a modal with input blocks needs a submit button")
    c.length("private_metadata", view.get("private_metadata"), PRIVATE_METADATA)
    c.ident("callback_id", view.get("callback_id"))
    c.ident("external_id", view.get("external_id"))
    if not view.get("blocks"):
        c.add("blocks", "a view needs at least one block")
    c.blocks("blocks", view.get("blocks"), VIEW_BLOCKS, kind or "view")
    return c.problems


def options_problems(response: dict) -> list[str]:
    """Problems in a block_suggestion (options load) response."""
    c = _Checker()
    if not isinstance(response, dict):
        return ["response: must be an object"]
    c.options("response", response, minimum=0, maximum=OPTIONS)
    return c.problems
