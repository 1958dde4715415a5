"""Checking the shape of a signed Slack request before Bolt reads it.

Bolt trusts Slack's payloads: a field of the wrong type (a list where an object belongs, a
number for a string) makes it raise, which would answer 500. Slack's own payloads always
have these types, so a body that does not is refused with a 400 naming the field. Lone
UTF-16 surrogates (which no database stores) are replaced before anything reads the text.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

OBJ, STR, LIST, INT = dict, str, list, (int, float)

# Expected types of the fields Bolt and the listeners read, per place in the payload.
_TOP = {"type": STR, "event": OBJ, "authorizations": LIST, "user": OBJ, "team": OBJ,
        "channel": OBJ, "container": OBJ, "message": OBJ, "view": OBJ, "actions": LIST,
        "state": OBJ, "response_url": STR, "trigger_id": STR, "callback_id": STR,
        "api_app_id": STR, "event_id": STR, "team_id": STR, "action_id": STR,
        "block_id": STR, "value": STR, "token": STR, "event_time": INT}
_EVENT = {"type": STR, "user": STR, "channel": STR, "ts": STR, "thread_ts": STR,
          "text": STR, "subtype": STR, "message": OBJ, "previous_message": OBJ,
          "files": LIST, "blocks": LIST, "bot_id": STR, "tab": STR, "deleted_ts": STR,
          "event_ts": STR, "channel_type": STR, "view": OBJ, "edited": OBJ}
_MESSAGE = {"user": STR, "ts": STR, "text": STR, "thread_ts": STR, "bot_id": STR,
            "files": LIST, "subtype": STR, "blocks": LIST, "metadata": OBJ}
_VIEW = {"id": STR, "type": STR, "callback_id": STR, "private_metadata": STR, "state": OBJ,
         "blocks": LIST, "hash": STR, "root_view_id": STR, "previous_view_id": STR}
_ID = {"id": STR, "name": STR, "channel_id": STR, "type": STR, "message_ts": STR,
       "thread_ts": STR, "view_id": STR}
_ACTION = {"action_id": STR, "block_id": STR, "value": STR, "type": STR,
           "selected_option": OBJ, "selected_options": LIST, "selected_user": STR,
           "action_ts": STR}
_NESTED = {"event": _EVENT, "message": _MESSAGE, "previous_message": _MESSAGE,
           "view": _VIEW, "user": _ID, "team": _ID, "channel": _ID, "container": _ID}


class BadShape(ValueError):
    pass


def clean_request(raw: bytes, content_type: str) -> bytes:
    """The body with surrogates replaced, or BadShape saying what is wrong."""
    if content_type.startswith("application/json"):
        document = _loads(raw)
        if not isinstance(document, dict):
            raise BadShape("the body must be a JSON object")
        _check(document, _TOP, "")
        return json.dumps(_scrub(document), ensure_ascii=False).encode("utf-8")
    try:
        fields = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadShape("the form body is not UTF-8") from None
    out = []
    for name, value in fields:
        if name == "payload":
            document = _loads(value.encode("utf-8", "surrogatepass"))
            if not isinstance(document, dict):
                raise BadShape("payload must be a JSON object")
            _check(document, _TOP, "payload.")
            value = json.dumps(_scrub(document), ensure_ascii=False)
        out.append((name, _scrub(value)))
    return urlencode(out).encode("utf-8")


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadShape("the JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadShape(f"not valid JSON: {exc}") from None


def _check(node: dict, fields: dict, where: str) -> None:
    for key, expected in fields.items():
        if key not in node:
            continue
        value = node[key]
        if value is None:
            if expected in (OBJ, LIST):  # Bolt would call .get() or iterate it
                raise BadShape(f"{where}{key} is null")
            continue
        if not isinstance(value, expected) or isinstance(value, bool) and expected is INT:
            raise BadShape(f"{where}{key} has the wrong type")
        if key in _NESTED and isinstance(value, dict):
            _check(value, _NESTED[key], f"{where}{key}.")
        if key in ("actions", "authorizations", "files"):
            if not all(isinstance(item, dict) for item in value):
                raise BadShape(f"{where}{key} must hold objects")
            if key == "actions":
                for item in value:
                    _check(item, _ACTION, f"{where}actions[].")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        # one U+FFFD per lone surrogate (a UTF-8 round trip would give three)
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value
