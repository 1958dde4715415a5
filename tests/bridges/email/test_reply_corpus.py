"""The reply splitter against corpora of real client shapes: reply_corpus.jsonl, and
reply_holdout.jsonl, written apart and never tuned on. Attributions in six languages,
Outlook header blocks, separators, bottom-posting, interleaved quotes, signatures, a P.S.
after the signature, dash lists."""

from __future__ import annotations

import pytest

from bridges.email.reply_text import split_reply
from tests.bridges.email.reply_scoring import CORPUS, HOLDOUT, load_cases, score


def test_the_corpus_covers_the_families_and_languages():
    cases = load_cases()
    assert len(cases) >= 100 and len({c.id for c in cases}) == len(cases)
    families = {c.family for c in cases}
    assert {"bottom_posting", "gmail_old_attribution", "on_wrote_no_colon", "zoho", "eudora",
            "outlook_header_block", "original_message", "localized_on_wrote", "postscript",
            "dash_lists", "name_addr_wrote"} <= families
    assert {"en", "es", "pt", "fr", "de", "it"} <= {c.lang for c in cases}


@pytest.mark.parametrize("path", [CORPUS, HOLDOUT], ids=["corpus", "holdout"])
def test_the_visible_text_is_exactly_what_the_customer_wrote_now(path):
    s = score(lambda text: split_reply(text).new_text, load_cases(path))
    assert s.exact / s.cases >= 0.95, "\n".join(s.misses)
    assert s.contains / s.cases >= 0.97, "\n".join(s.misses)


def test_what_is_cut_is_kept_as_the_signature_or_known_as_quoted():
    r = split_reply("Hola,\n\nvale.\n\nUn saludo,\nMarta\nTel. 612 345 678\n\n"
                    "PD: el lunes cerramos\n\nEl lun, 3 mar 2025 a las 10:00, Ana <a@b.es> "
                    "escribió:\n> ¿Confirmas?")
    assert r.new_text == "Hola,\n\nvale.\n\nPD: el lunes cerramos"
    assert r.signature.startswith("Un saludo,\nMarta") and r.quoted
    assert split_reply("Thanks, the refund arrived today.").new_text == (
        "Thanks, the refund arrived today.")  # a sentence that starts like a sign-off
