"""The peer's side of ``tools/bench/generation.py``: transformers' ``generate`` on the saved random
``OlmoForCausalLM`` (float32, ``attn_implementation`` and ``cache_implementation`` from the config).

Runs in the peer's pinned environment (transformers + torch only). A round generates greedily for
every batch of prompts, left padded with pad id 1 and an attention mask (how transformers documents
batched decoder-only generation), ``max_new_tokens`` with eos 50279 and no ``min_new_tokens``, so a row
stops at eos and a batch when all its rows have, as on our side. The output is every row's new token
ids cut before the first eos (transformers pads finished rows), the units the tokens generated (each
row's tokens plus its eos, if it hit one). Model loading is setup, not timed.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoModelForCausalLM, GenerationConfig


def setup(config: dict[str, Any]):
    torch.set_num_threads(int(config["threads"]))
    model = AutoModelForCausalLM.from_pretrained(config["hf_dir"], dtype=torch.float32,
                                                 attn_implementation=config["attn"]).eval()
    eos, pad, max_new = int(config["eos_token_id"]), int(config["pad_token_id"]), int(config["max_new_tokens"])
    gen = GenerationConfig(max_new_tokens=max_new, do_sample=False, eos_token_id=eos, pad_token_id=pad,
                           temperature=None, top_p=None, top_k=None,
                           cache_implementation=config.get("cache") or None)
    batches = []
    for b in config["batches"]:
        width = max(len(p) for p in b)
        ids = torch.full((len(b), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(b):
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p):] = 1
        batches.append((ids, mask))
    print(f"peer: transformers generate, attn={model.config._attn_implementation}, "
          f"cache={gen.cache_implementation or 'dynamic (default)'}, threads={torch.get_num_threads()}")

    def round_fn() -> dict[str, Any]:
        rows = []
        with torch.inference_mode():
            for ids, mask in batches:
                out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen)
                for row in out[:, ids.shape[1]:].tolist():
                    rows.append(row[:row.index(eos)] if eos in row else row)
        units = sum(len(r) + (len(r) < max_new) for r in rows)
        return {"units": units, "output": rows}

    return round_fn
