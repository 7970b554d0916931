"""`olmoe analyze` on two checkpoints of the tiny run writes saturation, co-activation and
specialization outputs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CORPUS

from olmoe.cli import main


def test_analyze_two_checkpoints_of_the_tiny_run(tiny_moe_run: Path, tmp_path: Path) -> None:
    ck = tiny_moe_run / "checkpoints"
    out = tmp_path / "analysis"
    assert main(["analyze", str(ck / "step8"), "--compare", str(ck / "step4"), "--probe", str(CORPUS),
                 "--docs-per-source", "2", "--max-tokens-per-doc", "96", "--seq-len", "128", "--min-count", "3",
                 "--out", str(out)]) == 0
    result = json.loads((out / "analysis.json").read_text())
    assert (result["num_layers"], result["num_experts"], result["top_k"], result["final_step"]) == (2, 8, 2, 8)
    sources = {"books", "code", "kernel_docs", "manpages", "python_docs", "reference"}
    assert set(result["probe"]["sources"]) == sources
    [sat] = result["router_saturation"]
    assert sat["step"] == 4 and len(sat["per_layer"]) == 2 and all(0.0 <= v <= 1.0 for v in sat["per_layer"])
    assert max(sat["per_layer"]) > 0.5  # four steps apart, most routing decisions agree already
    for layer in result["coactivation"]:
        m = layer["matrix"]
        assert len(m) == 8 and all(m[i][i] == 0 for i in range(8))
    for layer in result["domain_specialization"]:
        assert set(layer["share_per_expert"]) == sources
        for share in layer["share_per_expert"].values():
            assert abs(sum(share) - 1.0) < 1e-4
    for layer in result["vocabulary_specialization"]:
        assert layer["tokens_with_min_count"] > 0 and layer["top_tokens"][0]["text"] is not None
        assert 2 / 8 <= layer["top_tokens"][0]["fraction"] <= 1.0
    for name in ("saturation", "coactivation", "domain_specialization", "vocabulary_specialization"):
        assert (out / f"{name}.png").stat().st_size > 0
