"""Our side of ``tools/bench/vs_olmo_core.py --device cuda`` (MoE layer): olmoe's ``MoEFeedForward``,
forward + backward, on the device the benchmark names.

Loads the case ``moe_layer.save_case`` wrote (``torch.load(weights_only=True)``): ``router [E, D]``,
``gate_up [E, D, 2H]``, ``down [E, H, D]``, the input and the output gradient. The layer is in eval mode
(no auxiliary-loss bookkeeping; OLMo-core's block is built without its load-balancing and z losses);
gradients flow exactly as in training. A round is ``iters`` passes (``zero_grad``, forward,
``backward(dy)``); its output is the fingerprint of the last pass (a fixed random subsample of the output,
the input gradient and the three weight gradients, with their sums), taken on the CPU.

config: ``data``, ``top_k``, ``iters``, ``samples``, ``threads``, ``device``.
"""

from __future__ import annotations

from typing import Any

import torch


def fingerprint(tensors: dict[str, torch.Tensor], samples: int) -> dict[str, list[float]]:
    """``samples`` values of each tensor at fixed-seed indices (the same on both sides), its sum and
    its sum of absolute values (``moe_layer``'s fingerprint, on the CPU copy)."""
    out: dict[str, list[float]] = {}
    for name, t in tensors.items():
        flat = t.detach().float().cpu().reshape(-1)
        idx = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:samples]
        out[name] = flat[idx].tolist()
        out[f"{name}.sum"] = [flat.double().sum().item(), flat.double().abs().sum().item()]
    return out


def setup(config: dict[str, Any]):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    from olmoe.moe import MoEFeedForward

    device = torch.device(config["device"])
    data = torch.load(config["data"], weights_only=True)
    e, d, h2 = data["gate_up"].shape
    layer = MoEFeedForward(d, num_experts=e, top_k=int(config["top_k"]), hidden_size=h2 // 2)
    with torch.no_grad():
        layer.router.weight.copy_(data["router"])
        layer.gate_up.copy_(data["gate_up"])
        layer.down.copy_(data["down"])
    layer.to(device).eval()
    x, dy = data["x"].to(device), data["dy"].to(device)
    iters, samples = int(config["iters"]), int(config["samples"])

    def round_fn() -> dict[str, Any]:
        for _ in range(iters):
            layer.zero_grad(set_to_none=True)
            xi = x.detach().requires_grad_(True)
            y = layer(xi)
            y.backward(dy)
        grads = {"y": y, "dx": xi.grad, "d_router": layer.router.weight.grad, "d_gate_up": layer.gate_up.grad,
                 "d_down": layer.down.grad}
        return {"units": float(iters * x.numel() // x.shape[-1]), "output": fingerprint(grads, samples),
                "device": device.type}

    return round_fn
