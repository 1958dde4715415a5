"""Scores a reply-text splitter on tests/bridges/email/reply_corpus.jsonl (shared by the
test and `benchmarks/reply_text.py`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "reply_corpus.jsonl"  # the splitter was written against it
HOLDOUT = Path(__file__).parent / "reply_holdout.jsonl"  # written apart, never tuned on


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    lang: str
    text: str
    expect: str


def load_cases(path: Path = CORPUS) -> list[Case]:
    return [Case(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _quote_lines(case: Case) -> list[str]:
    """Lines of the text that are not the customer's new text: the quote and signature."""
    expected = {line.strip() for line in case.expect.splitlines() if line.strip()}
    return [line.strip() for line in case.text.splitlines()
            if line.strip() and line.strip() not in expected and len(line.strip()) > 12]


@dataclass
class Score:
    cases: int = 0
    exact: int = 0
    contains: int = 0  # all of the new text, none of the quote or signature
    by_family: Counter = field(default_factory=Counter)
    exact_by_family: Counter = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)


def score(split: Callable[[str], str], cases: list[Case]) -> Score:
    s = Score()
    for case in cases:
        got = split(case.text).strip()
        s.cases += 1
        s.by_family[case.family] += 1
        if got == case.expect:
            s.exact += 1
            s.exact_by_family[case.family] += 1
        else:
            s.misses.append(f"{case.id}: {got[:120]!r}")
        wanted = [line.strip() for line in case.expect.splitlines() if line.strip()]
        if all(w in got for w in wanted) and not any(q in got for q in _quote_lines(case)):
            s.contains += 1
    return s
