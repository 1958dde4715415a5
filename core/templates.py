"""Template bodies use `{{variable}}` placeholders."""

from __future__ import annotations

import re

_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def variables_in(body: str) -> list[str]:
    seen: dict[str, None] = {}
    for name in _VAR.findall(body):
        seen.setdefault(name, None)
    return list(seen)


def missing_values(variables: list[str], values: dict[str, str]) -> list[str]:
    return [v for v in variables if not str(values.get(v, "")).strip()]


def render(body: str, values: dict[str, str]) -> str:
    return _VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), body)
