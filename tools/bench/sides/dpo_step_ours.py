"""Ours side of ``dpo_step.py``: open-instruct DPO on olmo-core, run in the workspace's interpreter.

A round is one short DPO training run from the saved initial weights: the reference log-prob cache
for the round's pairs (``compute_reference_logps``: one packed forward of every sequence, in eval
mode, under no-grad), then ``steps`` optimizer steps of olmo-core's ``Trainer.train_step`` with
``DPOLoss`` on packed rows (the LM head applied to target positions only) and a fresh AdamW. Weights
are reset and the optimizer rebuilt at the start of every round, so every round is the same work.
The output: the per-step losses, a digest of the token ids and how many sequences the reference
pass scored in this round.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def ids_digest(sequences: list[tuple[list[int], int]]) -> str:
    """sha256 of every sequence's token ids and the index of its first target token."""
    return hashlib.sha256(json.dumps(sequences).encode()).hexdigest()


def setup(config: dict[str, Any]):
    import numpy as np
    import torch

    torch.set_num_threads(int(config["threads"]))
    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.trainer import Trainer, TrainerConfig
    from open_instruct.data.tokenize import TokenizedData
    from open_instruct.ref_cache import compute_reference_logps
    from open_instruct.train.batches import PackedBatches
    from open_instruct.train.objectives import DPOLoss

    model = load_model_checkpoint(config["ckpt"])
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with np.load(config["data"]) as z:
        data = TokenizedData("dpo", z["input_ids"], z["labels"], z["offsets"], z["source"])
    batch, steps, max_length = int(config["batch"]), int(config["steps"]), int(config["max_length"])
    if data.num_examples != batch * steps:
        raise ValueError(f"{data.num_examples} pairs for {steps} steps of {batch}")
    seqs = []
    for i in range(data.num_sequences):
        ids, labels = data.sequence(i)
        seqs.append((ids.tolist(), int(labels.argmax())))
    digest = ids_digest(seqs)
    units = float(data.lengths.sum())
    ocfg = OptimConfig(lr=float(config["lr"]), betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                       scheduler=SchedulerConfig(name="constant", warmup_steps=0), max_grad_norm=None)

    def round_fn() -> dict[str, Any]:
        model.load_state_dict(initial)
        model.zero_grad(set_to_none=True)
        ref = compute_reference_logps(model, data, max_length=max_length, rows_per_batch=int(config["ref_rows"]))
        loader = PackedBatches(data, global_batch_size=batch, micro_batch_size=batch, max_length=max_length,
                               shuffle=False, epochs=1, reference=ref)
        trainer = Trainer(model=model, optimizer=ocfg.build(model), loss_fn=DPOLoss("dpo", beta=config["beta"]),
                          loader=loader, cfg=TrainerConfig(run_dir=config["run_dir"], max_steps=steps, resume="none",
                                                           digest_batches=False, callbacks={}), optim_cfg=ocfg)
        losses = []
        for mbs in loader:
            losses.append(float(trainer.train_step(mbs)["train/loss"]))
            trainer.step += 1
            if trainer.step >= steps:
                break
        return {"units": units, "output": {"losses": losses, "ids": digest,
                                           "ref_sequences": int(np.count_nonzero(ref.counts))}}

    return round_fn
