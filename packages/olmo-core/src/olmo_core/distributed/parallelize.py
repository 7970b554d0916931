"""Parallelism and memory savings applied to a model from outside, torchtitan style.

The model only has to expose its transformer blocks as ``model.blocks`` (an ``nn.ModuleList``): each
block is the unit that FSDP2 shards, activation checkpointing recomputes and ``torch.compile``
compiles. Order matters and is fixed here: checkpointing, then compile, then FSDP/DDP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from olmo_core.distributed.utils import get_world_size, is_distributed
from olmo_core.model.config import ModelConfig

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}


def resolve_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(DTYPES)}") from None


@dataclass
class ParallelConfig:
    """How the model is spread over ranks and how it saves memory.

    ``strategy``: ``fsdp`` (FSDP2 ``fully_shard`` per block then the root), ``ddp`` or ``single``;
    ``auto`` picks fsdp when the world has more than one rank. ``param_dtype``/``reduce_dtype`` are the
    FSDP2 ``MixedPrecisionPolicy``; in ddp/single mode ``param_dtype`` other than float32 runs the
    forward under autocast. ``activation_checkpointing``: ``none``, ``full`` (every block) or
    ``every_n`` (every ``ac_every_n``-th block)."""

    strategy: str = "auto"
    param_dtype: str = "bfloat16"
    reduce_dtype: str = "float32"
    reshard_after_forward: bool = True
    activation_checkpointing: str = "none"
    ac_every_n: int = 2
    compile: bool = False
    compile_backend: str = "inductor"
    #: restrict scaled_dot_product_attention to these kernels (``flash``, ``efficient``, ``math``,
    #: ``cudnn``); ``null`` lets torch choose. LUMI leaves flash out.
    sdpa_backends: list[str] | None = None

    def build(self, model_cfg: ModelConfig, device: torch.device, *, init_seed: int = 0) -> nn.Module:
        """The model of ``model_cfg`` on this rank, parallelized as this config says.

        Built on the meta device (no CPU copy, no throwaway init), materialized on ``device``,
        initialized there from ``init_seed`` (so the weights are the same at any world size), then
        sharded: FSDP frees the other ranks' shards at once."""
        model = model_cfg.build(init_device="meta")
        model.to_empty(device=device)
        model.init_weights(init_seed)
        return parallelize(model, self, device)


def resolved_strategy(cfg: ParallelConfig) -> str:
    if cfg.strategy == "auto":
        return "fsdp" if get_world_size() > 1 else "single"
    if cfg.strategy not in ("fsdp", "ddp", "single"):
        raise ValueError(f"parallel.strategy: {cfg.strategy!r} is not one of auto, fsdp, ddp, single")
    if cfg.strategy != "single" and not is_distributed():
        raise ValueError(f"parallel.strategy={cfg.strategy!r} needs a process group: launch with torchrun")
    return cfg.strategy


def _blocks(model: nn.Module) -> nn.ModuleList:
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleList):
        raise TypeError(f"{type(model).__name__} has no `blocks` ModuleList to wrap per block")
    return blocks


def apply_activation_checkpointing(model: nn.Module, mode: str, every_n: int = 1) -> int:
    """Wrap whole blocks so their activations are recomputed in backward. Returns how many."""
    if mode == "none":
        return 0
    if mode not in ("full", "every_n"):
        raise ValueError(f"activation_checkpointing: {mode!r} is not one of none, full, every_n")
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

    blocks = _blocks(model)
    n = 0
    for i in range(len(blocks)):
        if mode == "full" or i % max(every_n, 1) == 0:
            # Non-reentrant checkpointing; the wrapper strips its own prefix from state_dict keys.
            blocks[i] = checkpoint_wrapper(blocks[i], preserve_rng_state=False)
            n += 1
    return n


def apply_compile(model: nn.Module, backend: str = "inductor") -> None:
    """``torch.compile`` each block in place (same module, same state_dict keys); blocks are
    identical so one compiled graph is reused."""
    for block in _blocks(model):
        block.compile(backend=backend, fullgraph=False)


def apply_fsdp(model: nn.Module, cfg: ParallelConfig, device: torch.device) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mesh = init_device_mesh(device.type, (get_world_size(),))
    mp = MixedPrecisionPolicy(param_dtype=resolve_dtype(cfg.param_dtype), reduce_dtype=resolve_dtype(cfg.reduce_dtype))
    blocks = _blocks(model)
    for i, block in enumerate(blocks):
        # The last block is resharded by the root right away, so keeping it unsharded saves a gather.
        reshard = cfg.reshard_after_forward and i < len(blocks) - 1
        fully_shard(block, mesh=mesh, mp_policy=mp, reshard_after_forward=reshard)
    fully_shard(model, mesh=mesh, mp_policy=mp, reshard_after_forward=cfg.reshard_after_forward)
    return model


def apply_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def parallelize(model: nn.Module, cfg: ParallelConfig, device: torch.device) -> nn.Module:
    """Apply checkpointing, compile and the data-parallel strategy; return the module to train."""
    apply_activation_checkpointing(model, cfg.activation_checkpointing, cfg.ac_every_n)
    if cfg.compile:
        apply_compile(model, cfg.compile_backend)
    strategy = resolved_strategy(cfg)
    if strategy == "fsdp":
        return apply_fsdp(model, cfg, device)
    if strategy == "ddp":
        return apply_ddp(model, device)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module under a DDP wrapper (FSDP2 modifies the module in place)."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def autocast_context(model: nn.Module, cfg: ParallelConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """FSDP2 casts parameters itself; other strategies get autocast when a low precision is asked."""
    dtype = resolve_dtype(cfg.param_dtype)
    if dtype == torch.float32 or resolved_strategy(cfg) == "fsdp":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def sdpa_context(cfg: ParallelConfig) -> contextlib.AbstractContextManager:
    if not cfg.sdpa_backends:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    names = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
             "math": SDPBackend.MATH, "cudnn": SDPBackend.CUDNN_ATTENTION}
    try:
        backends = [names[b] for b in cfg.sdpa_backends]
    except KeyError as e:
        raise ValueError(f"parallel.sdpa_backends: unknown {e.args[0]!r}; known: {sorted(names)}") from None
    return sdpa_kernel(backends)


@contextlib.contextmanager
def gradient_sync(model: nn.Module, enabled: bool) -> Iterator[None]:
    """Skip the gradient reduction on all but the last micro-batch of a step."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        if enabled:
            yield
        else:
            with model.no_sync():
                yield
        return
    setter = getattr(model, "set_requires_gradient_sync", None)  # FSDP2 modules have it
    if setter is not None:
        setter(enabled)
    yield
