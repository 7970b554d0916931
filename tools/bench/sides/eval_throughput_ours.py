"""Our side of ``eval_throughput.py``: olmo-eval's scoring path on a HF model folder.

Set-up (untimed): ``olmo_eval.models.load_hf_model`` (float32) and the folder's ``tokenizer.json``.
A round (timed): ``encode_pairs`` (lm-eval's context/continuation split) over every request, then
``score_requests`` with its default CPU token budget; the output is each request's summed
log-likelihood (nats), in request order.
"""

from __future__ import annotations

import json


def setup(config: dict):
    import torch

    from olmo_eval.models import load_hf_model
    from olmo_eval.scoring import TokenRequest, score_requests
    from olmo_eval.tokenizer import encode_pairs, load_tokenizer

    torch.set_num_threads(int(config["threads"]))
    model = load_hf_model(config["model"], device="cpu", dtype=torch.float32)
    tok = load_tokenizer(config["model"])
    with open(config["requests"]) as f:
        requests = [tuple(r) for r in json.load(f)]
    budget = config.get("token_budget")

    def round_fn() -> dict:
        pairs = encode_pairs(tok, requests, model.eos_token_id)  # tokenizing is timed, as lm-eval's is
        scores = score_requests(model, [TokenRequest(c, k) for c, k in pairs], token_budget=budget)
        return {"units": config["instances"], "output": scores.logprob.tolist()}

    return round_fn
