"""vs_datatrove's work checks and its planted-duplicate corpus, without the datatrove peer (the
benchmark itself runs it): the planted copies' Jaccard against an independent count, precision and
recall on a hand-counted case, each way the checks refuse a ratio, and our side's decisions read
back from a real ``dolma-tools mix`` run of the benchmark's recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import vs_datatrove  # noqa: E402
import vs_datatrove_planted as planted  # noqa: E402


def five_gram_jaccard(a: str, b: str) -> float:
    """Written apart from the benchmark's own: counts of distinct 5-word windows."""
    def grams(t: str) -> set[str]:
        w = t.split()
        return {"\x00".join(w[i:i + 5]) for i in range(len(w) - 4)}
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


@pytest.fixture(scope="module")
def base() -> dict:
    return planted.corpus_slice(vs_datatrove.CORPUS, 12, max_chars=20000)


def test_planted_copies_follow_their_originals_with_true_jaccard(base: dict) -> None:
    files, truth = planted.plant(base, fraction=1.0, seed=3)
    assert len(truth) >= 30
    docs = {d["id"]: d for ds in files.values() for d in ds}
    assert len(docs) == sum(map(len, files.values()))  # ids unique
    for ds in files.values():
        for i, d in enumerate(ds):
            if d["id"] in truth:  # the line before a copy is its original
                assert ds[i - 1]["id"] == truth[d["id"]]["origin"]
    for cid, t in truth.items():
        copy, origin = docs[cid]["text"], docs[t["origin"]]["text"]
        if t["kind"] == "exact":
            assert copy == origin and t["jaccard"] == 1.0
        else:
            assert copy != origin
            assert t["jaccard"] == pytest.approx(five_gram_jaccard(copy, origin), abs=1e-12)
    bands = {planted.band_of(t["jaccard"]) for t in truth.values()}
    assert {"exact", "<0.5"} <= bands and bands & {"0.9-1", "0.8-0.9"} and bands & {"0.7-0.8", "0.5-0.7"}


def test_precision_recall_on_a_hand_counted_key() -> None:
    truth = {"a~": {"origin": "a", "jaccard": 1.0, "kind": "exact"},
             "b~": {"origin": "b", "jaccard": 0.85, "kind": "edited"},
             "c~": {"origin": "c", "jaccard": 0.6, "kind": "edited"},  # between: not scored
             "d~": {"origin": "d", "jaccard": 0.3, "kind": "edited"},
             "e~": {"origin": "e", "jaccard": 0.2, "kind": "edited"}}
    s = planted.scores({"a~", "c~", "d~", "x"}, truth)
    # positives a~, b~: one found -> recall 1/2; removed scored: a~ (right), d~ (wrong) -> precision 1/2
    assert s["recall"] == 0.5 and s["precision"] == 0.5
    assert s["removed_outside_key"] == 1 and s["per_band_removed"]["0.5-0.7"] == "1/1"


def _sides(ids: list[str], ours_removed: list[str], theirs_removed: list[str], theirs_read: int | None = None):
    ours = {"documents": len(ids), "ids": sorted(ids), "removed": ours_removed}
    theirs = {"documents": len(ids) if theirs_read is None else theirs_read, "ids": None, "removed": theirs_removed}
    return ours, theirs


def test_minhash_check_refuses_missing_work() -> None:
    truth = {"a~": {"origin": "a", "jaccard": 1.0, "kind": "exact"},
             "b~": {"origin": "b", "jaccard": 0.9, "kind": "edited"}}
    ids = ["a", "a~", "b", "b~", "c"]
    report: dict = {}
    check = planted.check(truth, len(ids), report)
    ok, note = check(*_sides(ids, ["a~", "b~"], ["a~"]))
    assert ok, note
    assert report["ours"]["recall"] == 1.0 and report["datatrove"]["recall"] == 0.5
    assert not check(*_sides(ids, ["b~"], ["a~"]))[0]  # ours missed an exact copy
    assert not check(*_sides(ids, ["a~"], ["a~"], theirs_read=4))[0]  # the peer read fewer documents
    assert not check(*_sides(ids, ["a~"], ["a~", "zz"]))[0]  # the peer removed an unknown id
    ours, theirs = _sides(ids, ["a~"], ["a~"])
    ours["ids"] = ["a", "a", "a~", "b", "b~"]  # one document marked twice, one never
    assert not check(ours, theirs)[0]


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


def test_our_decisions_match_what_the_mixer_wrote(tmp_path: Path, base: dict) -> None:
    """The benchmark's recipe runs in our mixer, and the decisions it reads back from the attributes
    are the ones the mixer acted on (the same check the benchmark gates on)."""
    files = {rel: docs[:3] for rel, docs in base.items()}
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
