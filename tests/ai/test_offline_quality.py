"""The offline engine against the labelled corpus (tests/ai/corpus): the issue's targets.
`messages.jsonl` is the set the rules were written against; `holdout.jsonl` was written
separately and never tuned on, so its figures are the honest ones."""

from __future__ import annotations

import pytest

from tests.ai.scoring import CORPUS, load_cases, load_workspace, score
from threadline.ai.offline import OfflineAnalyzer

SETS = ["messages", "holdout"]


@pytest.fixture(scope="module")
def workspace():
    return load_workspace()


@pytest.mark.parametrize("name", SETS)
def test_the_corpus_is_well_formed(name):
    cases = load_cases(CORPUS / f"{name}.jsonl")
    assert len(cases) >= (150 if name == "messages" else 80)
    assert len({c.id for c in cases}) == len(cases)
    assert {c.lang for c in cases} == {"es", "en"}
    assert {c.request.channel for c in cases} == {"email", "whatsapp"}
    assert sum(c.urgent for c in cases) >= 15
    assert {"spam", "auto_reply", "injection"} <= {c.category for c in cases}


@pytest.mark.parametrize("name", SETS)
def test_the_offline_engine_meets_the_targets(name, workspace):
    cases = load_cases(CORPUS / f"{name}.jsonl")
    engine = OfflineAnalyzer()
    s = score(cases, [engine.run(c.request, workspace) for c in cases], workspace)
    misses = "\n".join(s.misses)
    assert s.references.f1 >= 0.95, misses
    assert s.urgency.recall >= 0.9, misses
    assert s.urgency.precision >= 0.8, misses
    assert s.injections_obeyed == []
    assert s.unknown_tags == 0
    assert s.tags.f1 >= 0.7  # no target in the issue; a floor so it can't silently rot
    assert s.sentiment_right / s.cases >= 0.65
