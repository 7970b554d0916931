"""The OLMo-core side of ``tools/bench/vs_olmo_core.py`` (dense train step): ``ai2-olmo-core`` 3.0.0's own
``TransformerTrainModule`` on its ``Transformer``, run in the peer's pinned environment (nothing of ours
is imported: the two packages share the name ``olmo_core``).

A step is what OLMo-core's ``Trainer`` runs per batch (``trainer.py``: ``train_module.train_batch``,
``train_module.optim_step``, ``train_module.zero_grads``): forward with labels, its loss normalised by
the batch's target count, backward, ``_clip_grad_norm`` (total norm, then ``clip_grads_with_norm_``),
``AdamW.step``, ``zero_grad(set_to_none=True)``. The ``Trainer`` itself is not built (it needs a data
loader, callbacks and a save folder); its only duty inside those three calls, recording metrics, is
done by :class:`_Metrics` (a dict per step, as the real ``Trainer.record_metric`` keeps).

Model: ``TransformerConfig.olmo2_30M(vocab_size=50304)`` for ``d_model == 256``, 4 layers, else
``TransformerConfig.llama_like`` with the same OLMo-2 options (reordered norm, QK-norm, theta 500k, eps
1e-6); the weights come from the safetensors file the benchmark wrote in OLMo-core's layout (converted
by ours) and are loaded with ``strict=True`` *after* the train module is built (building it runs
``init_weights``).

config: ``weights``, ``tokens``, ``d_model``, ``n_layers``, ``n_heads``, ``steps``, ``lr``, ``betas``,
``eps``, ``weight_decay``, ``max_grad_norm``, ``no_decay`` (our no-decay parameters, by OLMo-core name),
``optimizer`` (``fused`` / ``foreach`` / ``for-loop``), ``device``, ``threads``, ``compile``,
``autocast`` (``bfloat16`` or null).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import torch


class _Metrics:
    """What ``TransformerTrainModule`` asks of its trainer inside ``train_batch``/``optim_step``."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.global_step = device, 1
        self.metrics: dict[int, OrderedDict[str, torch.Tensor]] = {}

    def record_metric(self, name: str, value: Any, reduce_type: Any = None, namespace: str | None = None,
                      merge_strategy: Any = None) -> None:
        if namespace is not None:
            name = f"{namespace.rstrip('/')}/{name.lstrip('/')}"
        self.metrics.setdefault(self.global_step, OrderedDict())[name] = torch.as_tensor(value)

    def record_ce_loss(self, value: Any, reduce_type: Any = None) -> None:
        self.record_metric("train/CE loss", value, reduce_type)


def model_config(config: dict):  # type: ignore[no-untyped-def]
    from olmo_core.nn.transformer import TransformerBlockType, TransformerConfig

    vocab = 50304
    if int(config["d_model"]) == 256 and int(config["n_layers"]) == 4:
        return TransformerConfig.olmo2_30M(vocab_size=vocab)
    return TransformerConfig.llama_like(d_model=int(config["d_model"]), n_layers=int(config["n_layers"]),
                                        n_heads=int(config["n_heads"]), vocab_size=vocab,
                                        block_name=TransformerBlockType.reordered_norm, qk_norm=True,
                                        rope_theta=500_000, layer_norm_eps=1e-6)


def setup(config: dict):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    torch.manual_seed(0)
    from safetensors.torch import load_file

    from olmo_core.optim import AdamWConfig, OptimGroupOverride
    from olmo_core.train.train_module import TransformerTrainModule

    device = torch.device(config["device"])
    cfg = model_config(config)
    model = cfg.build(init_device="cpu")
    impl = config["optimizer"]
    kwargs = {"fused": True} if impl == "fused" else {"foreach": impl == "foreach", "fused": False}
    # OLMo-core's recipes exempt the embedding from decay with a group override; ours also exempts norm
    # weights, so the same parameters are listed here by name (strict: each must exist)
    no_decay = list(config["no_decay"])
    optim = AdamWConfig(lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"],
                        weight_decay=config["weight_decay"],
                        group_overrides=[OptimGroupOverride(params=no_decay, opts={"weight_decay": 0.0})],
                        **kwargs)
    with open(config["tokens"]) as f:
        tokens = torch.tensor(json.load(f), dtype=torch.long)
    b, t = tokens.shape[0], tokens.shape[1] - 1
    autocast = getattr(torch, config["autocast"]) if config.get("autocast") else None
    module = TransformerTrainModule(model=model, optim=optim, rank_microbatch_size=b * t, max_sequence_length=t,
                                    compile_model=bool(config.get("compile")), max_grad_norm=config["max_grad_norm"],
                                    autocast_precision=autocast, device=device)
    module.model.load_state_dict(load_file(config["weights"]), strict=True)  # after the build's init_weights
    metrics = _Metrics(device)
    module._attach_trainer(metrics)  # type: ignore[arg-type]
    inputs, labels = tokens[:, :-1].contiguous().to(device), tokens[:, 1:].contiguous().to(device)
    steps = int(config["steps"])
    print(f"olmo-core peer: {type(module.optim).__name__} {kwargs}, {sum(p.numel() for p in module.model.parameters()):,} "
          f"params, loss {module.model.lm_head.loss_implementation}, threads {torch.get_num_threads()}")

    def round_fn() -> dict:
        losses = []
        for _ in range(steps):
            # the batch dict is consumed (popped) by train_batch, as the Trainer hands it a fresh one
            module.train_batch({"input_ids": inputs, "labels": labels})
            module.optim_step()
            module.zero_grads()
            losses.append(float(metrics.metrics[metrics.global_step]["train/CE loss"]))
            metrics.metrics.pop(metrics.global_step)
            metrics.global_step += 1
        return {"units": steps * inputs.numel(), "output": losses, "device": device.type}

    return round_fn
