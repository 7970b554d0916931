"""The transformers side of ``train_step.py``: ``OlmoForCausalLM`` + ``torch.optim.AdamW``, one plain
training step as the transformers docs write it (forward with labels, backward, clip, step, zero_grad).

Runs in the peer's pinned environment (transformers + torch only; nothing of ours is imported).

config: ``hf_dir`` (the converted weights), ``tokens`` (JSON file of ``[B, T+1]`` token ids),
``steps`` (per round), ``lr``, ``weight_decay``, ``betas``, ``eps``, ``max_grad_norm``,
``optimizer`` (``fused`` / ``foreach`` / ``for-loop``), ``device``, ``threads``, ``compile``.
"""

from __future__ import annotations

import json

import torch


def setup(config: dict):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    torch.manual_seed(0)
    from transformers import OlmoForCausalLM

    device = torch.device(config["device"])
    model = OlmoForCausalLM.from_pretrained(config["hf_dir"], dtype=torch.float32, attn_implementation="sdpa")
    model.to(device).train()
    # OLMo's groups: weight decay on weight matrices, none on embeddings (norms here have no weights);
    # named_parameters() lists a tied head once, as the embedding
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
    impl = config["optimizer"]
    kwargs = {"fused": True} if impl == "fused" else {"foreach": impl == "foreach"}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"], **kwargs)
    with open(config["tokens"]) as f:
        tokens = torch.tensor(json.load(f), dtype=torch.long, device=device)
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    steps, max_norm = int(config["steps"]), float(config["max_grad_norm"])
    forward = torch.compile(model) if config.get("compile") else model

    def round_fn() -> dict:
        losses = []
        for _ in range(steps):
            # targets already shifted (``shift_labels``): all T positions have a target, as on our side
            out = forward(input_ids=inputs, labels=targets, shift_labels=targets, use_cache=False)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(out.loss.detach()))
        return {"units": steps * inputs.numel(), "output": losses, "device": device.type}

    return round_fn
