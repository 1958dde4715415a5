"""AI triage quality and speed: the offline engine on the labelled corpus in
tests/ai/corpus (Spanish and English mail and WhatsApp: orders, quotes, invoices, returns,
complaints, thanks, spam, auto-replies, injections, decoy numbers).

Prints precision / recall / F1 per field for each set (`messages.jsonl`, which the
engine's rules were written against, and `holdout.jsonl`, written separately and never
tuned on), the injections obeyed, and messages/s on one core next to a baseline measured
in the same run: VADER's `polarity_scores` alone on the same texts (the floor any
lexicon-based engine pays).

    python3 benchmarks/ai_quality.py [--misses] [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ai.scoring import CORPUS, Score, load_cases, load_workspace, score  # noqa: E402
from threadline.ai.offline import OfflineAnalyzer  # noqa: E402
from threadline.ai.sentiment import _analyzer  # noqa: E402

TARGETS = "targets: references F1 >= 0.95, urgency recall >= 0.9 with precision >= 0.8, " \
          "0 injections obeyed, 0 unknown tags, >= 200 messages/s"


def report(name: str, s: Score, misses: bool) -> None:
    print(f"\n{name}: {s.cases} messages")
    print(f"  {'field':<12} {'precision':>9} {'recall':>7} {'F1':>6}")
    for field, c in (("references", s.references), ("urgent", s.urgency), ("tags", s.tags)):
        print(f"  {field:<12} {c.precision:>9.3f} {c.recall:>7.3f} {c.f1:>6.3f}")
    for label, c in s.sentiment.items():
        print(f"  {'sentiment ' + label:<21} {c.precision:.3f} {c.recall:>7.3f} {c.f1:>6.3f}")
    print(f"  sentiment accuracy {s.sentiment_right / s.cases:.3f}; injections obeyed: "
          f"{len(s.injections_obeyed)} {s.injections_obeyed or ''}; unknown tags: "
          f"{s.unknown_tags}")
    if misses:
        for line in s.misses:
            print("   ", line)


def rate(fn, texts, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            fn(t)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--misses", action="store_true", help="list the messages it gets wrong")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per speed measurement")
    args = ap.parse_args()
    workspace = load_workspace()
    engine = OfflineAnalyzer()
    all_cases = []
    for name in ("messages", "holdout"):
        path = CORPUS / f"{name}.jsonl"
        if not path.exists():
            continue
        cases = load_cases(path)
        all_cases += cases
        answers = [engine.run(c.request, workspace) for c in cases]
        report(f"{name}.jsonl", score(cases, answers, workspace), args.misses)
    requests = [c.request for c in all_cases]
    vader = _analyzer()
    engine_rate = rate(lambda r: engine.run(r, workspace), requests, args.seconds)
    vader_rate = rate(lambda r: vader.polarity_scores(f"{r.subject}\n{r.text}"), requests,
                      args.seconds)
    print(f"\nspeed, one core: offline engine {engine_rate:,.0f} messages/s; VADER alone "
          f"{vader_rate:,.0f} messages/s; ratio {engine_rate / vader_rate:.2f}")
    print(TARGETS)


if __name__ == "__main__":
    main()
