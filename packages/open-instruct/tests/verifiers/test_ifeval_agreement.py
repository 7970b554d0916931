"""Our IFEval checkers against the originals (lm-eval 0.4.13's copy of Google's IFEval checkers), run in their
own pinned venv through a subprocess (``ifeval_peer``), on shared examples made from a seed (``ifeval_examples``).

Every verdict must be identical, with one documented exception: lm-eval's two English-case checkers also
require langdetect to call the response English (and count a response it cannot classify as followed); ours
judge the case only. Such rows may differ only where langdetect's language is not English, and there ours
must say what the case alone says. ``number_sentences`` and ``capital_word_frequency`` are not compared:
lm-eval's versions need nltk's punkt data, which no package registry serves.
"""

from __future__ import annotations

from collections import Counter

import ifeval_examples
import ifeval_peer

from open_instruct.verifiers.ifeval import check_constraint

LANGUAGE_CHECKED = {"change_case:english_lowercase": str.islower, "change_case:english_capital": str.isupper}


def test_our_checkers_give_lm_eval_s_verdicts() -> None:
    rows = ifeval_examples.shared_examples()
    theirs = ifeval_peer.lm_eval_verdicts(rows)
    assert len(theirs) == len(rows) >= 1000
    ours = [check_constraint(row["response"], {"type": row["type"], **row["kwargs"]}) for row in rows]

    compared, differ, positives = Counter(), [], Counter()
    for row, mine, (verdict, language) in zip(rows, ours, theirs, strict=True):
        compared[row["type"]] += 1
        positives[row["type"]] += verdict
        if mine == verdict:
            continue
        if row["type"] in LANGUAGE_CHECKED and language != "en":
            assert mine is LANGUAGE_CHECKED[row["type"]](row["response"])
            differ.append(row)
            continue
        raise AssertionError(f"{row['type']} {row['kwargs']}: ours {mine}, lm-eval {verdict} on {row['response']!r}")

    assert set(compared) == set(ifeval_examples.COMPARED)
    # the examples exercise both verdicts of every type
    assert all(0 < positives[t] < compared[t] for t in compared), positives
    # language detection is the only difference, and a rare one
    assert len(differ) <= 0.02 * len(rows)
    print(f"{len(rows)} rows over {len(compared)} constraint types: {len(rows) - len(differ)} identical, "
          f"{len(differ)} differ only by lm-eval's language detection (non-English per langdetect)")
