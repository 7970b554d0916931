"""Runs in TRL 1.16's own interpreter (never ours): TRL's ``DPOTrainer._compute_loss`` on saved inputs.

Usage: ``python trl_dpo_peer.py IN.npz OUT.json``. ``IN.npz`` holds per-token policy log-probs
``logps [2P, T]`` (chosen rows first, then rejected, TRL's batch order; zero outside the completion),
``mask [2P, T]`` (completion tokens), ``ref_chosen``/``ref_rejected [P]`` (precomputed reference sums)
and ``cases`` (JSON: loss_type list, loss_weights, beta). The trainer object is made without
``__init__`` (no model, no dataset): only the attributes ``_compute_loss`` reads are set, and the model
forward returns the saved log-probs as a leaf tensor, so the loss and its gradient with respect to the
per-token log-probs are TRL's own code. Writes per case ``{"loss": float, "grad": [[...]]}``."""

import json
import sys
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import torch
from trl import DPOTrainer

data = np.load(sys.argv[1])
cases = json.loads(str(data["cases"]))


class Accelerator:
    device = torch.device("cpu")

    def gather(self, x):
        return x

    gather_for_metrics = gather


out = []
for case in cases:
    logps = torch.tensor(data["logps"], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor(data["mask"], dtype=torch.long)
    b, n = mask.shape
    # TRL shifts: log-probs of position t+1 sit at t, and completion_mask[..., 1:] masks them.
    completion_mask = torch.cat([torch.zeros(b, 1, dtype=torch.long), mask], dim=1)
    outputs = SimpleNamespace(log_probs=logps, entropy=torch.zeros(b, n, dtype=torch.float64),
                              mean_logits=torch.zeros(b, n, dtype=torch.float64),
                              is_top1=torch.zeros(b, n, dtype=torch.bool))

    t = object.__new__(DPOTrainer)
    t.model = SimpleNamespace(training=True)
    t.accelerator = Accelerator()
    t.aux_loss_enabled = False
    t.ld_alpha = None
    t.precompute_ref_logps = True
    t.f_divergence_type = "reverse_kl"
    t.beta = case["beta"]
    t.loss_types = case["loss_type"]
    t.loss_weights = case["loss_weights"]
    t.label_smoothing = 0.0
    t.use_weighting = False
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t._total_train_tokens = 0
    t._tp_size = 1
    inputs = {"input_ids": torch.zeros(b, n + 1, dtype=torch.long), "attention_mask": torch.ones(b, n + 1),
              "completion_mask": completion_mask,
              "ref_chosen_logps": torch.tensor(data["ref_chosen"], dtype=torch.float64),
              "ref_rejected_logps": torch.tensor(data["ref_rejected"], dtype=torch.float64)}
    loss = t._compute_loss(lambda out=outputs, **kw: out, inputs, return_outputs=False)
    loss.backward()
    out.append({"loss": float(loss), "grad": logps.grad.tolist()})

with open(sys.argv[2], "w") as f:
    json.dump(out, f)
