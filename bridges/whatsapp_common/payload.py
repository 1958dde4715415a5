"""Making provider payloads safe to read and to store, whatever a signed sender put in them.

A signature proves who sent a body, not that it has the shape we expect: every field is
read through `pick`/`text` (a wrong type reads as absent), every string is cleaned before
anything is stored (lone surrogates and NUL are refused by SQLite/PostgreSQL), nesting is
bounded, and what ends up in length-limited columns is bounded too.
"""

from __future__ import annotations

import hashlib
import math
import re

MAX_DEPTH = 32  # Meta's deepest documented payload is about 10 levels
MAX_ID = 200  # provider ids live in VARCHAR(500) link columns; real ones are < 100 chars
MAX_NAME = 200  # contacts.name is VARCHAR(300)
MAX_CODE = 50  # error codes: VARCHAR(100)
MAX_BODY = 16_384  # 4x WhatsApp's 4096-character text limit; PostgreSQL indexes the body
MAX_REASON = 1_000
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class TooDeep(ValueError):
    pass


def clean_text(value: str) -> str:
    """Lone surrogates and NUL become U+FFFD: the text stays visible and storable."""
    if value.isascii() and "\x00" not in value:
        return value
    return _UNSTORABLE.sub(REPLACEMENT, value)


def clean_tree(value, depth: int = 0):
    """A JSON value with every string (keys too) cleaned and non-finite numbers as None;
    TooDeep past MAX_DEPTH levels (the storage layer serialises meta recursively)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/Infinity are not JSON and PostgreSQL's jsonb refuses them
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise TooDeep(f"the body is too deeply nested (more than {MAX_DEPTH} levels)")
        if isinstance(value, list):
            return [clean_tree(v, depth + 1) for v in value]
        return {clean_text(str(k)): clean_tree(v, depth + 1) for k, v in value.items()}
    return value


def pick(obj, key: str, kind: type | tuple[type, ...], default=None):
    """obj[key] when obj is a dict and the value is a `kind` (a bool is no int), else default."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _types(kind)):
        return value
    return default


def text(obj, key: str, default: str = "") -> str:
    """A string field; numbers count as their text (ids and timestamps arrive either way)."""
    value = pick(obj, key, (str, int, float))
    return default if value is None else str(value)


def bounded(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def bounded_id(value: str) -> str:
    """A provider id that fits the link columns; longer ones map to a stable digest, so
    redeliveries (and statuses naming the same id) still dedupe."""
    if len(value) <= MAX_ID:
        return value
    return "sha256." + hashlib.sha256(value.encode()).hexdigest()


def _types(kind) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
