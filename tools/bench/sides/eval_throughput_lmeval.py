"""The peer side of ``eval_throughput.py``: lm-evaluation-harness's HF backend, ``HFLM.loglikelihood``.

Runs in the peer's pinned environment (stdlib + what lm-eval[hf] brings). Set-up (untimed): ``HFLM``
on the HF model folder, ``device="cpu"``, ``dtype="float32"`` (its default float32 softmax), the
``batch_size`` the benchmark passes. A round (timed): ``lm.loglikelihood`` over every request as
lm-eval ``Instance`` objects (it tokenizes each pair, sorts, batches, runs the model, log-softmaxes);
the output is each request's summed log-likelihood, in request order.
"""

from __future__ import annotations

import json


def setup(config: dict):
    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    torch.set_num_threads(int(config["threads"]))
    lm = HFLM(pretrained=config["model"], device="cpu", dtype="float32", batch_size=config["batch_size"],
              softmax_dtype=config.get("softmax_dtype"))
    with open(config["requests"]) as f:
        pairs = [tuple(r) for r in json.load(f)]
    requests = [Instance("loglikelihood", {}, (c, k), i) for i, (c, k) in enumerate(pairs)]

    def round_fn() -> dict:
        out = lm.loglikelihood(requests, disable_tqdm=True)
        return {"units": config["instances"], "output": [float(r[0]) for r in out]}

    return round_fn
