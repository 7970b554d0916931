"""SFT then DPO from the CLI, starting from an olmo-core checkpoint, on ../shared/data/instruct, at
test size: the commands run, the result is an olmo-core checkpoint, the preference loss falls and
the held-out comparison (accuracy of the SFT and DPO models on the same pairs, McNemar test) is
printed and recorded.

Held-out pairs are unseen by both models: SFT trains on chat examples of *other* questions (the
shared SFT and DPO files hold the same questions; ``data.exclude`` drops the pairs' question ids from
the SFT mix), and DPO holds out 200 of the pairs.

At this size (96 training pairs, a random-init model) held-out accuracy moves within noise, so it is
printed, not asserted; the issue's criterion, DPO above SFT on held-out pairs, is asserted where it
is measurable: ``tests/stack/test_preference_gain.py`` (olmo-core-pretrained model, the ``tiny``
presets' 8,000 training and 2,000 held-out pairs)."""

from __future__ import annotations

import json

import torch
from instruct_data import head, write_jsonl

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.model.config import ModelConfig
from open_instruct.cli import main

N_TRAIN, HELDOUT, N_SFT = 96, 200, 200


def test_sft_then_dpo_from_the_cli_on_heldout_pairs(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    model = ModelConfig(d_model=64, n_layers=2, n_heads=4, mlp_hidden_size=192, max_sequence_length=256).build()
    model.init_weights(0)
    save_model_checkpoint(model, tmp_path / "init")
    pairs = head("dpo.jsonl.zst", N_TRAIN + HELDOUT)
    seen = {p["id"] for p in pairs}
    sft = head("sft.jsonl.zst", N_SFT + len(pairs))
    assert len(seen & {r["id"] for r in sft}) > 0  # some questions are shared: exclude must drop them
    common = ["data.max_length=256", f"data.cache_dir={tmp_path / 'cache'}",
              "batch.global_batch_size=16", "batch.micro_batch_size=16", "~trainer.callbacks.loss_plot",
              "~trainer.callbacks.speed"]
    pairs_file = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    assert main(["sft", "--preset", "tiny_sft", f"init_from={tmp_path / 'init'}",
                 f"data.sources=[{write_jsonl(tmp_path / 'sft.jsonl', sft)}:{N_SFT}]", f"data.exclude=[{pairs_file}]",
                 f"trainer.run_dir={tmp_path / 'sft'}", "batch.epochs=4", "optim.lr=3e-3", *common]) == 0
    assert main(["dpo", "--preset", "tiny_dpo", f"init_from={tmp_path / 'sft'}",
                 f"data.sources=[{pairs_file}]",
                 f"trainer.run_dir={tmp_path / 'dpo'}", f"data.holdout={HELDOUT}", "batch.epochs=4",
                 "optim.lr=1e-3", *common]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "dpo" / "summary.json").read_text())
    before, after = summary["heldout_before"], summary["heldout_after"]
    print(f"held-out preference accuracy: SFT {before['accuracy']:.3f}, DPO {after['accuracy']:.3f}")
    assert "held-out preference accuracy" in out and before["pairs"] == after["pairs"] == HELDOUT
    sft_mix = json.loads((tmp_path / "sft" / "mix_stats.json").read_text())["sources"][0]
    assert sft_mix["selected"] == N_SFT and sft_mix["excluded"] == len(seen & {r["id"] for r in sft})
    paired = summary["heldout_paired"]
    assert paired["gained"] - paired["lost"] == round((after["accuracy"] - before["accuracy"]) * HELDOUT)
    assert summary["final_metrics"]["train/loss"] < 0.6931  # the preference loss went down from ln 2
    assert after["margin"] > before["margin"]
    # the result is an olmo-core checkpoint that olmo-core's reader loads
    dpo_model = load_model_checkpoint(summary["checkpoint"])
    assert dpo_model.config.d_model == 64
