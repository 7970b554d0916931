"""A tiny MoE OLMo trains through `olmo-core train`, in one process and with FSDP2 over 2 gloo processes:
the loss falls, and the routing metrics show the load-balancing loss near its floor of 1."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import moe_overrides, run_cli

from olmoe.cli import main


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_run(run_dir: Path, steps: int = 8) -> None:
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    losses = [m["train/loss"] for m in metrics]
    assert len(losses) == steps
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.1, losses
    assert all(0 < m["train/aux/lb_loss"] < 0.02 and m["train/aux/z_loss"] > 0 for m in metrics)
    routing = read_jsonl(run_dir / "routing_metrics.jsonl")
    assert [r["step"] for r in routing] == list(range(1, steps + 1))
    for r in routing:
        # every global batch: 8 sequences x 64 tokens, top-2 -> 1024 assignments per layer, summed over ranks
        assert [sum(layer) for layer in r["tokens_per_expert"]] == [1024.0, 1024.0]
        assert len(r["tokens_per_expert"][0]) == 8
        assert 0.98 < r["moe/lb_loss"] < 1.15, r["moe/lb_loss"]
        assert r["moe/load_imbalance"] >= 1.0 and r["moe/dead_experts"] >= 0
        assert 0 < r["moe/router_entropy"] <= 2.0795  # log 8
        assert r["moe/dropped_fraction"] == 0.0
    assert "moe/layer1/load_imbalance" in metrics[-1]  # logged through the trainer too
    assert (run_dir / "routing.png").stat().st_size > 0


def test_tiny_moe_trains_single_process(tiny_moe_run: Path) -> None:
    check_run(tiny_moe_run)
    assert sorted(p.name for p in (tiny_moe_run / "checkpoints").iterdir()) == ["step4", "step8"]


def test_tiny_moe_trains_with_fsdp2_on_two_gloo_processes(corpus_tokens: Path, tmp_path: Path) -> None:
    run_cli(["-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "olmo_core.cli", "train",
             *moe_overrides(corpus_tokens, tmp_path / "run")], timeout=600)
    check_run(tmp_path / "run")
    assert (tmp_path / "run" / "checkpoints" / "step8" / "model").is_dir()  # sharded (DCP) checkpoint


def test_olmoe_train_knows_the_moe_presets(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["train", "--preset", "tiny", "model=olmoe_tiny", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "target: olmoe.moe:MoEFeedForward" in out and "num_experts: 8" in out
