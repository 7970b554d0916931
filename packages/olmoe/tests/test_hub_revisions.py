"""MoE revisions: ``olmoe train`` with olmo-core's ``hub_revisions`` callback publishes its checkpoints
through olmoe's registered HF converter, and transformers' ``OlmoeForCausalLM`` (the independent
reader), given only ``HF_HOME`` and ``HF_HUB_OFFLINE=1``, loads each revision by name with the logits of
the checkpoint it came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from conftest import moe_overrides, run_cli

from olmo_core.checkpoint.model_io import load_model_checkpoint
from olmo_core.convert.hub_revisions import list_revisions, revision_name

LOADER = """
import json, sys, torch
from transformers import AutoModelForCausalLM
ids = torch.tensor(json.loads(sys.argv[2]))
out = {}
for rev in sys.argv[3:]:
    m = AutoModelForCausalLM.from_pretrained(sys.argv[1], revision=rev, dtype=torch.float32).eval()
    with torch.no_grad():
        out[rev] = [type(m).__name__, m(ids).logits.tolist()]
print(json.dumps(out))
"""


def test_moe_revisions_load_offline_in_transformers(corpus_tokens: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "moe"
    # 6 steps, checkpoints every 3 (moe_overrides: steps // 2): revisions at steps 3 and 6
    run_cli(["-m", "olmoe.cli", "train", *moe_overrides(corpus_tokens, run_dir, steps=6),
             "trainer.checkpoint.keep_last=4", "+trainer.callbacks.hub_revisions={every:3}"])
    revs = list_revisions(run_dir / "hub")
    assert [(r.repo_id, r.step) for r in revs] == [("olmo-stack/moe", 3), ("olmo-stack/moe", 6)]
    tokens_per_step = revs[0].tokens // 3
    assert all(r.name == revision_name(r.step, r.tokens) for r in revs)
    assert revs[1].tokens == 6 * tokens_per_step

    ids = [[50, 2000, 311, 4021, 17, 998, 12, 7, 640, 88]]
    env = {**os.environ, "HF_HOME": str(run_dir), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", LOADER, "olmo-stack/moe", json.dumps(ids), *[r.name for r in revs]],
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    for rev in revs:
        cls, logits = loaded[rev.name]
        assert cls == "OlmoeForCausalLM"
        model = load_model_checkpoint(run_dir / "checkpoints" / f"step{rev.step}").eval()
        with torch.no_grad():
            ours = model(torch.tensor(ids))
        diff = (torch.tensor(logits) - ours).abs().max().item()
        assert diff < 1e-4, (rev.name, diff)
        print(f"{rev.name}: max |logit diff| OlmoeForCausalLM vs checkpoint {diff:.2e}")
