"""The OLMo-core side of ``tools/bench/vs_olmo_core.py --device cuda`` (MoE layer): ``ai2-olmo-core``
3.0.0's dropless MoE block (``MoEConfig(name="dropless")`` -> ``DroplessMoE``: its learned softmax
router, top-k without renormalisation, ``DroplessMoEMLP`` SwiGLU experts), no load-balancing or z loss,
forward + backward, in the peer's pinned environment. Only runs on a GPU: its token permutation is a
Triton kernel, which on a CPU stops with "0 active drivers".

Its experts use the ``grouped_gemm`` package when installed (bfloat16 only: another precision, so the
work check would refuse the ratio) and otherwise their own loop of one matmul per expert in the layer's
dtype; ``ai2-olmo-core`` from PyPI does not bring ``grouped_gemm``, so float32 runs the loop.

Weights from our layout (the case file ``moe_layer.save_case`` wrote): ``router.weight`` is the router
``[E, D]`` flattened; ``experts.mlp.w1`` / ``w3`` (``[E*H, D]``, expert ``e`` rows ``e*H:(e+1)*H``) are the
gate / up halves of ``gate_up [E, D, 2H]`` transposed; ``experts.mlp.w2`` is ``down [E, H, D]`` flattened.
Gradients are mapped back the same way for the work check.

config: ``data``, ``top_k``, ``iters``, ``samples``, ``threads``, ``device``.
"""

from __future__ import annotations

from typing import Any

import torch


def fingerprint(tensors: dict[str, torch.Tensor], samples: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, t in tensors.items():
        flat = t.detach().float().cpu().reshape(-1)
        idx = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:samples]
        out[name] = flat[idx].tolist()
        out[f"{name}.sum"] = [flat.double().sum().item(), flat.double().abs().sum().item()]
    return out


def setup(config: dict[str, Any]):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    from olmo_core.nn.moe import MoEConfig, MoERouterConfig, MoEType

    device = torch.device(config["device"])
    data = torch.load(config["data"], weights_only=True)
    e, d, h2 = data["gate_up"].shape
    h = h2 // 2
    block = MoEConfig(name=MoEType.dropless, num_experts=e, hidden_size=h,
                      router=MoERouterConfig(top_k=int(config["top_k"])), lb_loss_weight=None,
                      z_loss_weight=None).build(d, init_device="cpu")
    gu = data["gate_up"]
    state = {"router.weight": data["router"].reshape(-1),
             "experts.mlp.w1": gu[:, :, :h].transpose(1, 2).reshape(e * h, d),
             "experts.mlp.w3": gu[:, :, h:].transpose(1, 2).reshape(e * h, d),
             "experts.mlp.w2": data["down"].reshape(e * h, d)}
    block.load_state_dict(state, strict=True)
    block.to(device).eval()
    x, dy = data["x"].to(device), data["dy"].to(device)
    iters, samples = int(config["iters"]), int(config["samples"])
    mlp = block.experts.mlp
    print(f"olmo-core peer MoE: grouped_gemm {'installed' if mlp._gmm is not None else 'absent (per-expert loop)'}")

    def round_fn() -> dict[str, Any]:
        for _ in range(iters):
            block.zero_grad(set_to_none=True)
            xi = x.detach().requires_grad_(True)
            y = block(xi)
            y.backward(dy)
        g1, g3, g2 = (w.grad.view(e, h, d) for w in (mlp.w1, mlp.w3, mlp.w2))
        grads = {"y": y, "dx": xi.grad, "d_router": block.router.weight.grad.view(e, d),
                 "d_gate_up": torch.cat([g1.transpose(1, 2), g3.transpose(1, 2)], dim=2), "d_down": g2}
        return {"units": float(iters * x.numel() // x.shape[-1]), "output": fingerprint(grads, samples),
                "device": device.type}

    return round_fn
