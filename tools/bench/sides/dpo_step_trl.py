"""TRL side of ``dpo_step.py``: ``trl.DPOTrainer``, run in the pinned peer environment (stdlib, torch,
transformers, datasets and trl only; nothing from the workspace).

Setup (untimed) loads the converted HF ``OlmoForCausalLM`` and builds one ``DPOTrainer``; building it
tokenizes the pairs (TRL's own tokenization, checked against ours by digest) and, with
``precompute_ref_log_probs``, would run a reference pass, which is skipped there (the rounds run it,
and the harness's warm-up round warms it up). A round is one short DPO
training run from the initial weights, the same work as ours:

* ``best``: weights reset, then TRL's reference pass over the round's pairs
  (``DPOTrainer._precompute_ref_logps``, exactly what ``DPOTrainer.__init__`` runs: padded batches of
  ``precompute_ref_batch_size``, ``compute_ref_log_probs`` under no-grad; its cache file has a random
  name for an in-memory dataset, so it is always computed, and the round counts the sequences it
  scored), then ``trainer.train()`` for ``steps`` steps with a fresh optimizer;
* ``defaults``: weights reset, then ``trainer.train()``, whose every step also runs the separate
  reference model on the batch (counted by a forward hook).

Per-step losses are read where the trainer computes them (``compute_loss``), unrounded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def ids_digest(sequences: list[tuple[list[int], int]]) -> str:
    """sha256 of every sequence's token ids and the index of its first target token (as ours)."""
    return hashlib.sha256(json.dumps(sequences).encode()).hexdigest()


def setup(config: dict[str, Any]):
    import torch

    torch.set_num_threads(int(config["threads"]))
    from datasets import Dataset
    from torch.utils.data import SequentialSampler
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    from trl import DPOConfig, DPOTrainer

    best = bool(config["best"])
    tok = PreTrainedTokenizerFast(tokenizer_file=config["tokenizer"], eos_token="<|endoftext|>",
                                  pad_token="<|padding|>")
    model = AutoModelForCausalLM.from_pretrained(config["hf_dir"], dtype=torch.float32)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with open(config["rows"]) as f:
        rows = json.load(f)
    batch, steps = int(config["batch"]), int(config["steps"])
    if len(rows) != batch * steps:
        raise ValueError(f"{len(rows)} pairs for {steps} steps of {batch}")

    state: dict[str, Any] = {"losses": [], "ref_sequences": 0, "tokenized": None, "init": True}

    class BenchDPO(DPOTrainer):
        def _get_train_sampler(self, *args, **kwargs):  # the pairs in file order, as ours
            return SequentialSampler(self.train_dataset)

        def _precompute_ref_logps(self, dataset, name, batch_size):
            state["tokenized"] = dataset  # the tokenized pairs, before the reference columns are added
            if state["init"]:  # the pass __init__ makes is left to the rounds (it would only warm up)
                return dataset
            return super()._precompute_ref_logps(dataset, name, batch_size)

        def compute_ref_log_probs(self, model, inputs):
            state["ref_sequences"] += int(inputs["input_ids"].shape[0])
            return super().compute_ref_log_probs(model, inputs)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            state["losses"].append(float((loss[0] if return_outputs else loss).detach()))
            return loss

    common = dict(output_dir=config["out"], per_device_train_batch_size=batch, gradient_accumulation_steps=1,
                  learning_rate=float(config["lr"]), lr_scheduler_type="constant", warmup_steps=0, max_steps=steps,
                  beta=float(config["beta"]), loss_type=["sigmoid"], report_to=[], save_strategy="no",
                  max_length=int(config["max_length"]), use_cpu=True, bf16=False, fp16=False, weight_decay=0.0,
                  adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, max_grad_norm=0.0, seed=0,
                  disable_tqdm=True)
    if best:
        args = DPOConfig(**common, precompute_ref_log_probs=True, gradient_checkpointing=False)
    else:
        args = DPOConfig(**common)  # TRL's defaults otherwise: reference model every step, checkpointing on
    trainer = BenchDPO(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
    state["init"] = False
    if not best:
        def count(_module, inputs, kwargs):
            ids = kwargs.get("input_ids", inputs[0] if inputs else None)
            state["ref_sequences"] += int(ids.shape[0])
        trainer.ref_model.register_forward_pre_hook(count, with_kwargs=True)
        state["tokenized"] = trainer.train_dataset
    tokenized = state["tokenized"]
    seqs, units = [], 0
    for ex in tokenized:
        p = list(ex["prompt_ids"])
        for side in ("chosen_ids", "rejected_ids"):
            seqs.append((p + list(ex[side]), len(p)))
            units += len(p) + len(ex[side])
    digest = ids_digest(seqs)
    ref_bs = args.precompute_ref_batch_size or args.per_device_train_batch_size

    def round_fn() -> dict[str, Any]:
        model.load_state_dict(initial)
        model.zero_grad(set_to_none=True)
        state["losses"], state["ref_sequences"] = [], 0
        if best:
            trainer.train_dataset = trainer._precompute_ref_logps(tokenized, "train", ref_bs)
        trainer.optimizer, trainer.lr_scheduler = None, None
        trainer.train()
        return {"units": float(units), "output": {"losses": list(state["losses"]), "ids": digest,
                                                  "ref_sequences": state["ref_sequences"]}}

    return round_fn
