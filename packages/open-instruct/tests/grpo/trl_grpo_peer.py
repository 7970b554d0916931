"""Runs in TRL 1.16's own interpreter (never ours): TRL's ``GRPOTrainer._compute_loss`` on saved inputs.

Usage: ``python trl_grpo_peer.py IN.npz OUT.json``. ``IN.npz`` holds ``logps``, ``old_logps``,
``ref_logps``, ``mask`` ``[B, T]`` and ``advantages [B]``; each case of ``cases`` (JSON in the npz's
``cases``) sets loss_type, beta, epsilon(s), max_completion_length and use_bias_correction_kl. The
trainer object is made without ``__init__`` (no model, no dataset): only the attributes
``_compute_loss`` reads are set, and the model forward is replaced by one returning the saved
``logps`` as a leaf tensor, so the loss and its gradient with respect to the log-probs are TRL's own
code. Writes per case ``{"loss": float, "grad": [[...]]}``."""

import json
import sys
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import torch
from trl import GRPOTrainer

data = np.load(sys.argv[1])
cases = json.loads(str(data["cases"]))


class Accelerator:
    num_processes = 1
    sync_gradients = True

    def gather(self, x):
        return x

    gather_for_metrics = gather

    def reduce(self, x, reduction="sum"):
        return x


out = []
for case in cases:
    logps = torch.tensor(data["logps"], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor(data["mask"], dtype=torch.float64)
    t = object.__new__(GRPOTrainer)
    t.loss_type = case["loss_type"]
    t.beta = case["beta"]
    t.epsilon_low, t.epsilon_high = case["clip_low"], case["clip_high"]
    t.importance_sampling_level = "token"
    t.top_entropy_quantile = 1.0
    t.off_policy_mask_threshold = None
    t.use_vllm = False
    t.aux_loss_enabled = False
    t._entropy_bonus_enabled = False
    t.max_completion_length = case["max_completion_length"]
    t.current_gradient_accumulation_steps = 1
    t.accelerator = Accelerator()
    t.model = SimpleNamespace(training=True)
    t.args = SimpleNamespace(delta=None, use_bias_correction_kl=case["kl_ratio_correction"], steps_per_generation=1)
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t._get_per_token_logps_and_entropies = lambda *a, lp=logps, **k: (lp, torch.zeros_like(lp), None)
    b, n = mask.shape
    inputs = {"prompt_ids": torch.zeros(b, 1, dtype=torch.long), "prompt_mask": torch.ones(b, 1),
              "completion_ids": torch.zeros(b, n, dtype=torch.long), "completion_mask": mask,
              "advantages": torch.tensor(data["advantages"], dtype=torch.float64),
              "old_per_token_logps": None if case["no_old"] else torch.tensor(data["old_logps"], dtype=torch.float64),
              "ref_per_token_logps": torch.tensor(data["ref_logps"], dtype=torch.float64),
              "num_items_in_batch": mask.sum()}
    loss = t._compute_loss(None, inputs)
    loss.backward()
    out.append({"loss": float(loss), "grad": logps.grad.tolist()})
json.dump(out, open(sys.argv[2], "w"))
