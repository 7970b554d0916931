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


def _model() -> OLMo:
    model = small_config().replace(n_layers=2).build()
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


def test_compile_per_block_keeps_names_and_values() -> None:
    ids = torch.randint(2, 99, (2, 16), generator=torch.Generator().manual_seed(1))
    ref_loss, _ = _loss_and_grads(_model(), ids)
    model = _model()
    names = list(model.state_dict())
    model = parallelize(model, ParallelConfig(strategy="single", param_dtype="float32", compile=True,
                                              compile_backend="eager"), torch.device("cpu"))
    assert list(model.state_dict()) == names
    loss, _ = _loss_and_grads(model, ids)
    torch.testing.assert_close(loss, ref_loss)


def test_strategies_need_a_process_group() -> None:
    assert resolved_strategy(ParallelConfig(strategy="auto")) == "single"
    with pytest.raises(ValueError, match="needs a process group"):
        resolved_strategy(ParallelConfig(strategy="fsdp"))
    with pytest.raises(ValueError, match="not one of"):
        resolved_strategy(ParallelConfig(strategy="zero3"))
