"""Runs inside the OLMo-core 3.0 peer's own environment (``tools/peers.py``), never in ours: the tests
hand it files (a TransformerConfig JSON, safetensors weights, token arrays) and read its files back.

  logits  --jobs J.json    J: [{"config", "weights", "tokens" (.npy), "out" (.npy)}, ...]: fp32 logits
          (``--device cuda`` on a GPU). On a CPU an MoE model needs ``--cpu-moe-ops``: OLMo-core's two
          Triton permutation kernels (``ops.moe.gather`` / ``scatter``, pure data movement plus the
          routing-weight product) are replaced by their torch equivalents; its router, expert MLPs
          and everything else run as shipped
  init    --preset NAME --vocab-size V [--set PATH=JSON ...] --config-out C --out W
          a ``TransformerConfig.<NAME>`` preset (fields set by dotted path, e.g.
          ``block.feed_forward_moe.num_experts=8``) with OLMo-core's own initialization
  train   --config C --weights W --batches B.npy --optim O --out D [--save-at N]
          B: [steps, batch, seq+1] tokens; per step OLMo-core's loss (``model(ids, labels=get_labels)``,
          mean over targets), torch's clip_grad_norm_, OLMo-core's AdamWConfig and CosWithWarmup
          (``current`` = the 0-based step); writes D/losses.json, D/final.safetensors and, after step N,
          D/dcp (``save_model_and_optim_state``: its distributed checkpoint of model and optimizer) and
          D/run/stepN/model_and_optim (the same, optimizer state flattened as its trainer saves it,
          D/run/config.json beside the step folder)
  load    --config C --dcp DIR --optim O --out W [--flat]        ``load_model_and_optim_state`` into a fresh
          model and optimizer (``--flat``: the optimizer state is flattened, as OLMo-core's trainer
          saves it); writes the weights and the optimizer moments (``optim/<name>/<key>``)
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from olmo_core.data.utils import get_labels
from olmo_core.nn.transformer import TransformerConfig
from olmo_core.optim import AdamWConfig, CosWithWarmup, OptimGroupOverride


def build(config: str) -> torch.nn.Module:
    d = json.loads(Path(config).read_text())
    cfg = TransformerConfig.from_dict(d["model"] if "model" in d else d)
    return cfg.build(init_device="cpu")


def load_weights(model: torch.nn.Module, path: str) -> None:
    """A tied head is in the file once, as the embedding (safetensors stores no shared tensors)."""
    state = load_file(path)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not (model.tie_word_embeddings and k == "lm_head.w_out.weight")]
    assert not missing and not result.unexpected_keys, result


def optimizer(model: torch.nn.Module, o: dict) -> torch.optim.Optimizer:
    cfg = AdamWConfig(lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"],
                      group_overrides=[OptimGroupOverride(params=o["no_decay"], opts={"weight_decay": 0.0})])
    return cfg.build(model)


def torch_gather(x, indices, bin_ids, bins, top_k):  # noqa: ANN001, ANN201 - ops.moe.gather's signature
    # row i of the expert-sorted copy is token indices[i] // top_k
    return x[indices // top_k]


def torch_scatter(x, indices, bin_ids, weights, bins, top_k):  # noqa: ANN001, ANN201 - ops.moe.scatter's
    # row i goes back to slot indices[i] (token * top_k + choice), scaled by that slot's routing weight,
    # and each token sums its top_k slots
    tokens = indices.shape[0] // top_k
    rows = x if weights is None else x * weights[indices].unsqueeze(1).to(x.dtype)
    out = x.new_zeros(tokens * top_k, x.shape[1])
    out[indices] = rows
    return out.view(tokens, top_k, x.shape[1]).sum(dim=1)


def cmd_logits(a: argparse.Namespace) -> None:
    if a.cpu_moe_ops:
        import olmo_core.ops.moe as moe_ops

        moe_ops.gather, moe_ops.scatter = torch_gather, torch_scatter
    for job in json.loads(Path(a.jobs).read_text()):
        model = build(job["config"]).to(a.device)
        load_weights(model, job["weights"])
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(np.load(job["tokens"])).long().to(a.device))
        np.save(job["out"], logits.float().cpu().numpy())


def cmd_init(a: argparse.Namespace) -> None:
    cfg = getattr(TransformerConfig, a.preset)(vocab_size=a.vocab_size)
    for assignment in a.set:
        path, _, value = assignment.partition("=")
        *parents, leaf = path.split(".")
        obj = cfg
        for name in parents:
            obj = getattr(obj, name)
        setattr(obj, leaf, json.loads(value))
    Path(a.config_out).write_text(json.dumps(cfg.as_config_dict()))
    torch.manual_seed(a.seed)
    model = cfg.build(init_device="cpu")
    model.init_weights(max_seq_len=64, device=torch.device("cpu"))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()
               if not (getattr(model, "tie_word_embeddings", False) and k == "lm_head.w_out.weight")}, a.out)


def cmd_train(a: argparse.Namespace) -> None:
    from olmo_core.distributed.checkpoint import save_model_and_optim_state

    torch.manual_seed(0)
    o = json.loads(Path(a.optim).read_text())
    model = build(a.config)
    load_weights(model, a.weights)
    opt = optimizer(model, o)
    sched = CosWithWarmup(warmup=o["warmup"], alpha_f=o["alpha_f"])
    batches = torch.from_numpy(np.load(a.batches)).long()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    losses, norms = [], []
    model.train()
    for step in range(batches.shape[0]):
        ids = batches[step]
        labels = get_labels({"input_ids": ids})
        res = model(ids, labels=labels)
        res.loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), o["max_grad_norm"])))
        for group in opt.param_groups:
            group["lr"] = sched.get_lr(group["initial_lr"], step, o["t_max"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(res.loss))
        if a.save_at is not None and step + 1 == a.save_at:
            # the checkpoint API's form, and the trainer's: a step folder under the save folder (which
            # holds the run's config.json), the optimizer state flattened as its train module saves it
            save_model_and_optim_state(out / "dcp", model, opt)
            save_model_and_optim_state(out / "run" / f"step{step + 1}" / "model_and_optim", model, opt,
                                       flatten_optimizer_state=True)
            (out / "run" / "config.json").write_text(Path(a.config).read_text())
    assert all(math.isfinite(x) for x in losses)
    (out / "losses.json").write_text(json.dumps({"losses": losses, "grad_norms": norms}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "final.safetensors"))


def cmd_load(a: argparse.Namespace) -> None:
    from olmo_core.distributed.checkpoint import load_model_and_optim_state

    o = json.loads(Path(a.optim).read_text())
    model = build(a.config)
    opt = optimizer(model, o)
    # the moments exist only after a step; a zero-lr step with zero gradients creates them
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    for g in opt.param_groups:
        g["lr"] = 0.0
    opt.step()
    load_model_and_optim_state(a.dcp, model, opt, flatten_optimizer_state=a.flat)
    out = {k: v.contiguous() for k, v in model.state_dict().items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for p, st in opt.state.items():
        for key, value in st.items():
            out[f"optim/{names[id(p)]}/{key}"] = torch.as_tensor(value).float().reshape(-1).clone() \
                if key == "step" else value.contiguous()
    save_file(out, a.out)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("logits")
    p.add_argument("--jobs", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--cpu-moe-ops", action="store_true")
    p = sub.add_parser("init")
    p.add_argument("--preset", required=True)
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--config-out", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("train")
    for name in ("--config", "--weights", "--batches", "--optim", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--save-at", type=int, default=None)
    p = sub.add_parser("load")
    for name in ("--config", "--dcp", "--optim", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--flat", action="store_true")
    a = ap.parse_args()
    {"logits": cmd_logits, "init": cmd_init, "train": cmd_train, "load": cmd_load}[a.cmd](a)


if __name__ == "__main__":
    main()
