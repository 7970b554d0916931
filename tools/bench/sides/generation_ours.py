"""Our side of ``tools/bench/generation.py``: olmo-core's KV-cache ``generate`` through olmo-eval's
``OlmoCoreGenerator`` (the path the generation suite uses), on the olmo-core checkpoint that
``olmo_core.convert.from_hf`` made from the peer's saved ``OlmoForCausalLM``.

A round generates greedily for every batch of prompts (token ids from the config, left padded by
``olmo_core.generate``), each row stopping at eos (50279) or after ``max_new_tokens``, a batch ending
when all its rows have; the output is every row's new token ids (eos excluded), the units the tokens
generated (each row's tokens plus its eos, if it hit one). Model loading is setup, not timed.
"""

from __future__ import annotations

from typing import Any

import torch


def setup(config: dict[str, Any]):
    torch.set_num_threads(int(config["threads"]))
    from olmo_eval.models import load_model

    generator, _ = load_model(config["olmo_core_dir"], tokenizer=config["tokenizer"])
    assert generator.eos_token_id == int(config["eos_token_id"]), generator.eos_token_id
    batches = [[list(p) for p in b] for b in config["batches"]]
    max_new = int(config["max_new_tokens"])
    print(f"ours: olmo-core generate, threads={torch.get_num_threads()}, dtype={next(generator.model.parameters()).dtype}")

    def round_fn() -> dict[str, Any]:
        rows = [row for b in batches for row in generator.generate(b, max_new)]
        units = sum(len(r) + (len(r) < max_new) for r in rows)
        return {"units": units, "output": rows}

    return round_fn
