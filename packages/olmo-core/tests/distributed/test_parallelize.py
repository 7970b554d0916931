"""Activation checkpointing and per-block compile change neither the loss, the gradients nor the
parameter names; strategies are resolved from the world."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from olmo_core.distributed.parallelize import (
    ParallelConfig,
    apply_activation_checkpointing,
    parallelize,
    resolved_strategy,
)
from olmo_core.model.transformer import OLMo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from trainer_testlib import small_config  # noqa: E402


def _model(n_layers: int = 2) -> OLMo:
    model = small_config().replace(n_layers=n_layers).build()
    model.init_weights(0)
    return model


def _loss_and_grads(model: torch.nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    logits = model(ids[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("mode,wrapped", [("full", 2), ("every_n", 1)])
def test_activation_checkpointing_is_exact(mode: str, wrapped: int) -> None:
    ids = torch.randint(2, 99, (2, 16), generator=torch.Generator().manual_seed(0))
    ref_loss, ref_grads = _loss_and_grads(_model(), ids)
    model = _model()
    names = list(model.state_dict())
    assert apply_activation_checkpointing(model, mode, every_n=2) == wrapped
    assert list(model.state_dict()) == names  # checkpoints keep olmo-core names
    loss, grads = _loss_and_grads(model, ids)
    torch.testing.assert_close(loss, ref_loss)
    grads = {n.replace("_checkpoint_wrapped_module.", ""): g for n, g in grads.items()}
    assert grads.keys() == ref_grads.keys()
    for n, g in ref_grads.items():
        torch.testing.assert_close(grads[n], g)


def test_compile_per_block_inductor_matches_eager() -> None:
    """The real path of ``parallel.compile=true``: inductor compiles the block (C++ on the CPU, so CI needs
    a compiler, see .ci/run); three SGD steps give eager's losses and gradients within fp32 tolerance."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    ids = torch.randint(2, 99, (4, 3, 17), generator=torch.Generator().manual_seed(1))
    eager = _model(n_layers=1)
    model = _model(n_layers=1)
    names = list(model.state_dict())
    model = parallelize(model, ParallelConfig(strategy="single", param_dtype="float32", compile=True),
                        torch.device("cpu"))
    assert ParallelConfig().compile_backend == "inductor"
    assert list(model.state_dict()) == names  # compile keeps olmo-core names
    opts = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (eager, model)]
    for step_ids in ids:
        (ref_loss, ref_grads), (loss, grads) = (_loss_and_grads(m, step_ids) for m in (eager, model))
        torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
        for n, g in ref_grads.items():
            torch.testing.assert_close(grads[n], g, rtol=1e-4, atol=1e-5)
        for opt in opts:
            opt.step()
            opt.zero_grad()
    # inductor itself ran (not a silent fallback to eager): it generated the forward and backward kernels
    assert counters["inductor"]["fxgraph_cache_miss"] + counters["inductor"]["fxgraph_cache_hit"] >= 2, \
        dict(counters["inductor"])
    assert counters["stats"]["unique_graphs"] >= 1


def test_strategies_need_a_process_group() -> None:
    assert resolved_strategy(ParallelConfig(strategy="auto")) == "single"
    with pytest.raises(ValueError, match="needs a process group"):
        resolved_strategy(ParallelConfig(strategy="fsdp"))
    with pytest.raises(ValueError, match="not one of"):
        resolved_strategy(ParallelConfig(strategy="zero3"))
