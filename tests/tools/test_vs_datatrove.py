"""vs_datatrove's work checks and scoring, without the datatrove peer (the benchmark itself runs it):
Jaccard, precision and recall on hand-counted cases, both sides' cluster rows, each way the checks
refuse a ratio, and our side's decisions read back from a real ``dolma-tools mix`` run of the
benchmark's recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import vs_datatrove  # noqa: E402
import vs_datatrove_planted as planted  # noqa: E402


def test_jaccard_of_word_five_grams_by_hand() -> None:
    a = "one two three four five six"  # 5-grams: (1..5), (2..6)
    b = "one two three four five seven"  # (1..5), (2..5 + seven)
    assert planted.jaccard(a, b) == 1 / 3
    assert planted.jaccard(a, a) == 1.0 and planted.jaccard("x y", "x y") == 1.0  # short texts: one n-gram
    assert planted.band(0.85) == "0.8-0.9" and planted.band(1.0) == "1.0" and planted.band(0.2) == "<0.5"


WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
TEXTS = {"a": " ".join(WORDS), "a2": " ".join(WORDS),  # exact copy
         "b": " ".join(WORDS[::-1]), "b2": " ".join(WORDS[::-1][:-1] + ["nu"]),  # 7 of 9 5-grams shared
         "c": "unrelated words here and there with nothing shared at all", "d": "another text of its own entirely"}
TRUTH = [{"a": "a", "b": "a2", "jaccard": 1.0, "kind": "exact"},
         {"a": "b", "b": "b2", "jaccard": 0.7, "kind": "near"}]


def test_scores_on_a_hand_counted_case() -> None:
    # a2 joined to a (right), b2 to b (Jaccard 7/9: wrong at 0.8), d to c (Jaccard 0: wrong)
    s = planted.scores({"a2": "a", "b2": "b", "d": "c"}, TRUTH, TEXTS, 0.8)
    assert planted.jaccard(TEXTS["b"], TEXTS["b2"]) == 7 / 9  # 8 5-grams each, the last differs: 7 of 9
    assert s["precision"] == round(1 / 3, 4) and s["recall"] == 1.0 and s["removed"] == 3
    assert s["found_per_band"] == {"0.7-0.8": "1/1", "1.0": "1/1"}
    assert planted.scores({}, TRUTH, TEXTS, 0.8)["recall"] == 0.0


def _ours(kept_of: dict[str, str], ids: list[str] | None = None) -> dict:
    ids = sorted(TEXTS) if ids is None else ids
    return {"documents": len(ids), "ids": sorted(ids), "marked": sorted(kept_of), "kept_of": kept_of}


def test_minhash_check_refuses_missing_work() -> None:
    report: dict = {}
    check = planted.check(TRUTH, TEXTS, 0.8, report)
    ok, note = check(_ours({"a2": "a"}), _ours({"a2": "a", "b2": "b"}))
    assert ok, note
    assert report["ours"]["recall"] == 1.0 and report["datatrove"]["precision"] == 0.5
    assert not check(_ours({"b2": "b"}), _ours({"a2": "a"}))[0]  # ours did not join the exact copy
    assert not check(_ours({"a2": "a"}), _ours({"a2": "a"}, ids=sorted(TEXTS)[:-1]))[0]  # a document missing
    assert not check(_ours({"a2": "a"}, ids=sorted(TEXTS) + ["a"]), _ours({"a2": "a"}))[0]  # one counted twice
    assert not check(_ours({"a2": "zz"}), _ours({"a2": "a"}))[0]  # kept document unknown
    assert not check(_ours({"a2": "b2", "b2": "b"}), _ours({"a2": "a"}))[0]  # kept document itself removed


def test_cluster_rows_of_both_sides() -> None:
    ours = planted.ours_clusters(
        [{"id": x, "attributes": {"m__minhash__duplicate_document": [[0, 1, 1.0]] if x == "a2" else []}}
         for x in sorted(TEXTS)], [{"id": "a2", "kept": "a"}], "m__minhash__")
    assert ours == _ours({"a2": "a"})
    theirs = planted.datatrove_clusters([{"id": "a2", "cluster": 4}],
                                        [{"id": x, "cluster": 4 if x == "a" else -1} for x in sorted(TEXTS) if x != "a2"])
    assert theirs == _ours({"a2": "a"})


def _decisions(stages: dict[str, str], written: int | None = None) -> dict:
    kept = [k for k, s in stages.items() if s == "kept"]
    return {"decisions": {k: [s] for k, s in stages.items()},
            "kept_written": len(kept) if written is None else written, "kept_ids": sorted(kept)}


def test_filter_check_reports_agreement_and_refuses_inconsistent_work() -> None:
    ids = [f"d{i}" for i in range(20)]
    theirs = {k: ("language" if i < 5 else "gopher" if i < 10 else "kept") for i, k in enumerate(ids)}
    ours = {**theirs, "d5": "kept", "d6": "kept"}  # ours keeps two that datatrove's Gopher drops
    report: dict = {}
    check = vs_datatrove.filter_check(report)
    ok, note = check(_decisions(ours), _decisions(theirs))
    assert ok, note
    assert report["keep_drop_agreement"] == 18 / 20
    assert report["stage_agreement"]["language"] == {"documents": 20, "agree": 20, "dropped_ours": 5,
                                                     "dropped_datatrove": 5}
    assert report["stage_agreement"]["gopher"]["agree"] == 13
    assert not check(_decisions(ours), _decisions({**theirs, "extra": "kept"}))[0]  # other documents
    assert not check(_decisions(ours, written=99), _decisions(theirs))[0]  # wrote what it did not keep
    twice = _decisions(theirs)
    twice["decisions"]["d0"] = ["language", "kept"]
    assert not check(_decisions(ours), twice)[0]
    lang = {**ours, **{k: "language" for k in ids[10:13]}}  # 3 of 20 language decisions differ: 0.85 < 0.9
    assert not check(_decisions(lang), _decisions(theirs))[0]


def test_our_decisions_match_what_the_mixer_wrote(tmp_path: Path) -> None:
    """The benchmark's recipe runs in our mixer, and the decisions it reads back from the attributes
    are the ones the mixer acted on (the same check the benchmark gates on)."""
    files = planted.corpus_slice(vs_datatrove.CORPUS, 3, max_chars=20000)
    docs_root = tmp_path / "docs"
    n = vs_datatrove.write_documents(docs_root, files)
    recipe = vs_datatrove.filter_recipe("dt")
    (tmp_path / "r.yaml").write_text(json.dumps(recipe))
    out = tmp_path / "out"
    subprocess.run([*vs_datatrove.ours_cli(), "mix", "--recipe", str(tmp_path / "r.yaml"), "--documents",
                    str(docs_root / "*" / "*.jsonl.gz"), "--destination", str(out / "kept"), "--attributes-root",
                    str(out / "attributes"), "--processes", "1", "--no-progress"], check=True, capture_output=True,
                   env={**os.environ, "DOLMA_TOOLS_LID_MODEL": str(vs_datatrove.LID_MODEL)})
    ours = vs_datatrove.our_decisions(out / "attributes", out / "kept", recipe)
    assert len(ours["decisions"]) == n == 18
    stages = [v[0] for v in ours["decisions"].values()]
    assert "language" in stages and "kept" in stages  # the slice holds non-English and kept documents
    ok, note = vs_datatrove.filter_check({})(ours, {**ours, "kept_ids": None})
    assert ok, note
