"""Learning curves from a local hub cache: a cache laid out by hand the way huggingface_hub lays it
out (two revisions of one repo, different weights, plus ``main``), scored by the ``learning-curve``
command; each row must carry the scores of its own revision's model, scored directly from its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_tiny_hf_olmo

from olmo_eval.cli import main
from olmo_eval.learning_curve import hub_revisions

REPO = "test-org/curve"


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    """models--test-org--curve with step20-tokens2k (seed 1) and step10-tokens1k (seed 0); main = step20."""
    hub = tmp_path_factory.mktemp("hf_home") / "hub"
    repo = hub / "models--test-org--curve"
    (repo / "refs").mkdir(parents=True)
    (repo / "blobs").mkdir()
    for seed, (commit, ref) in enumerate([("a" * 40, "step10-tokens1k"), ("b" * 40, "step20-tokens2k")]):
        make_tiny_hf_olmo(repo / "snapshots" / commit, seed=seed)
        (repo / "refs" / ref).write_text(commit)
    (repo / "refs" / "main").write_text("b" * 40)
    return hub


def test_revisions_are_found_in_step_order(hub: Path) -> None:
    revs = hub_revisions(hub)
    assert [(r.name, r.step, r.commit[:1]) for r in revs] == [("step10-tokens1k", 10, "a"), ("step20-tokens2k", 20, "b")]
    with pytest.raises(ValueError, match="no repo 'other/x'"):
        hub_revisions(hub, "other/x")


def test_learning_curve_rows_are_each_revisions_own_scores(hub: Path, ppl_root: Path, tmp_path: Path) -> None:
    from olmo_eval.models import load_model
    from olmo_eval.perplexity import run_perplexity
    from olmo_eval.runner import run

    out = tmp_path / "curve"
    assert main(["learning-curve", "--hub", str(hub), "--repo-id", REPO, "--tasks", "arc_easy", "--limit", "8",
                 "--heldout", str(ppl_root), "--max-docs", "1", "--out", str(out)]) == 0
    rows = json.loads((out / "learning_curve.json").read_text())
    assert [r["revision"] for r in rows] == ["step10-tokens1k", "step20-tokens2k"]
    assert (out / "learning_curve.png").stat().st_size > 1000
    for row, commit in zip(rows, ("a" * 40, "b" * 40)):
        model, tok = load_model(hub / "models--test-org--curve" / "snapshots" / commit)
        direct = run(model.eval(), tok, "arc_easy", tmp_path / commit, limit=8, show_progress=False)
        ppl = run_perplexity(model, tok, ppl_root, tmp_path / commit / "ppl", max_docs_per_subdomain=1,
                             show_progress=False)
        assert row["arc_easy"] == direct["tasks"]["arc_easy"]["primary"]
        assert row["heldout_ppl"] == ppl["overall"]["micro_ppl"]
    assert rows[0]["heldout_ppl"] != rows[1]["heldout_ppl"]  # different weights: a swapped row would show
