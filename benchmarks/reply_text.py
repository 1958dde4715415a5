"""Reply-text quality: the share of the corpus (tests/bridges/email/reply_corpus.jsonl)
and the hold-out written apart (reply_holdout.jsonl), whose visible text is exactly what the
customer wrote now, and the share that contains all
of it and none of the quote or signature, per family, next to a baseline measured in the
same run: mail-parser-reply alone (the library the splitter first relied on).

    python3 benchmarks/reply_text.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailparser_reply import EmailReplyParser  # noqa: E402

from bridges.email.reply_text import split_reply  # noqa: E402
from tests.bridges.email.reply_scoring import CORPUS, HOLDOUT, load_cases, score  # noqa: E402

LANGUAGES = ["en", "es", "fr", "de", "it"]  # it has no Portuguese


def library_alone(text: str) -> str:
    try:
        return EmailReplyParser(languages=LANGUAGES).parse_reply(text) or ""
    except Exception:  # noqa: BLE001 - a baseline that fails scores 0 on that case
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--misses", action="store_true", help="list the cases it gets wrong")
    args = ap.parse_args()
    for path in (CORPUS, HOLDOUT):
        report(path.name, load_cases(path), args.misses)


def report(name: str, cases, misses: bool) -> None:
    ours = score(lambda t: split_reply(t).new_text, cases)
    base = score(library_alone, cases)
    print(f"\n{name}: {len(cases)} replies; target: >= 0.95 exact")
    print(f"  {'family':<24} {'ours':>9} {'library':>9}")
    for family in sorted(ours.by_family):
        n = ours.by_family[family]
        print(f"  {family:<24} {ours.exact_by_family[family]:>4}/{n:<4} "
              f"{base.exact_by_family[family]:>4}/{n:<4}")
    for name, s in (("ours", ours), ("mail-parser-reply alone", base)):
        print(f"{name}: exact {s.exact / s.cases:.3f}, all new text and no quote "
              f"{s.contains / s.cases:.3f}")
    print(f"ratio (exact, ours / library): {ours.exact / max(base.exact, 1):.2f}")
    if misses:
        print("\n".join(ours.misses))


if __name__ == "__main__":
    main()
