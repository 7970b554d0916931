"""The fused, chunked head + cross-entropy against the plain path: ``F.cross_entropy`` on fully
materialized float32 logits (and the z-loss written out from ``torch.logsumexp``) is the independent
reference for the sums and, through autograd, for the gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from trainer_testlib import small_config

from olmo_core.train.fused_ce import linear_cross_entropy_sum
from olmo_core.train.loss import IGNORE_INDEX, LanguageModelingLoss, accepts_head_fn


def _reference(h: torch.Tensor, w: torch.Tensor, labels: torch.Tensor, mult: float | None):  # type: ignore[no-untyped-def]
    logits = (h @ w.t()).float().reshape(-1, w.size(0))
    flat = labels.reshape(-1)
    ce = F.cross_entropy(logits, flat, ignore_index=IGNORE_INDEX, reduction="sum")
    if mult is None:
        return ce, ce, None
    z = mult * torch.logsumexp(logits[flat != IGNORE_INDEX], dim=-1).pow(2).sum()
    return ce + z, ce, z


@pytest.mark.parametrize("mult", [None, 1e-2])
@pytest.mark.parametrize("chunk_rows", [1, 7, 4096])
def test_sums_and_gradients_equal_plain_cross_entropy(mult: float | None, chunk_rows: int) -> None:
    g = torch.Generator().manual_seed(0)
    h0 = torch.randn(3, 17, 24, generator=g)
    w0 = torch.randn(301, 24, generator=g) * 0.3
    labels = torch.randint(0, 301, (3, 17), generator=g)
    labels[0, :5] = IGNORE_INDEX
    labels[2, 9:] = IGNORE_INDEX
    h1, w1 = h0.clone().requires_grad_(), w0.clone().requires_grad_()
    h2, w2 = h0.clone().requires_grad_(), w0.clone().requires_grad_()

    loss, ce, z = linear_cross_entropy_sum(h1, w1, labels, z_loss_multiplier=mult, chunk_rows=chunk_rows)
    ref_loss, ref_ce, ref_z = _reference(h2, w2, labels, mult)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(ce, ref_ce.detach(), rtol=1e-6, atol=1e-5)
    assert (z is None) == (ref_z is None)
    if z is not None:
        torch.testing.assert_close(z, ref_z.detach(), rtol=1e-6, atol=1e-6)
    assert not ce.requires_grad
    # A scale other than 1, as the trainer's division by the global target count gives.
    (loss / 37).backward()
    (ref_loss / 37).backward()
    torch.testing.assert_close(h1.grad, h2.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-5, atol=1e-7)
    # Ignored rows get exactly no gradient.
    assert torch.all(h1.grad[labels == IGNORE_INDEX] == 0)


def test_all_targets_ignored_gives_zero_loss_and_gradient() -> None:
    h = torch.randn(4, 8, requires_grad=True)
    w = torch.randn(10, 8, requires_grad=True)
    loss, ce, _ = linear_cross_entropy_sum(h, w, torch.full((4,), IGNORE_INDEX), z_loss_multiplier=1e-3)
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(ce) == 0.0
    assert torch.all(h.grad == 0) and torch.all(w.grad == 0)


def test_shape_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="labels shape"):
        linear_cross_entropy_sum(torch.randn(2, 3, 8), torch.randn(10, 8), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="weight shape"):
        linear_cross_entropy_sum(torch.randn(2, 8), torch.randn(10, 7), torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("mult", [None, 1e-3])
def test_lm_loss_fused_equals_plain_on_the_model(tied: bool, mult: float | None) -> None:
    cfg = small_config().replace(weight_tying=tied)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(2, 99, (3, 20), generator=g)
    labels = torch.randint(2, 99, (3, 20), generator=g)
    labels[1, :12] = IGNORE_INDEX
    doc_ids = torch.zeros_like(ids)
    doc_ids[:, 11:] = 1
    batch = {"input_ids": ids, "labels": labels, "doc_ids": doc_ids}
    outs, grads = [], []
    for fused in (True, False):
        model = cfg.build()
        model.init_weights(0)
        assert (model.lm_head.weight is model.embeddings.weight) == tied
        out = LanguageModelingLoss(z_loss_multiplier=mult, fused=fused, chunk_rows=16)(model, batch)
        (out.loss_sum / out.num_target_tokens).backward()
        outs.append(out)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    # Independent of LanguageModelingLoss: plain F.cross_entropy on the model's own logits.
    model = cfg.build()
    model.init_weights(0)
    logits = model(ids, doc_ids=doc_ids).float().reshape(-1, cfg.embedding_size)
    ref = F.cross_entropy(logits, labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")
    fused, plain = outs
    torch.testing.assert_close(fused.metrics["ce_loss"], ref.detach(), rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(fused.loss_sum.detach(), plain.loss_sum.detach(), rtol=1e-6, atol=1e-5)
    assert int(fused.num_target_tokens) == int((labels != IGNORE_INDEX).sum())
    assert set(fused.metrics) == set(plain.metrics)
    for k in plain.metrics:
        torch.testing.assert_close(fused.metrics[k], plain.metrics[k], rtol=1e-6, atol=1e-6)
    assert set(grads[0]) == set(grads[1])
    for n in grads[1]:
        torch.testing.assert_close(grads[0][n], grads[1][n], rtol=1e-4, atol=1e-6, msg=n)


def test_models_without_head_fn_take_the_plain_path() -> None:
    class Bigram(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = torch.nn.Embedding(10, 10)

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.table(input_ids)

    model = Bigram()
    assert not accepts_head_fn(model) and accepts_head_fn(small_config().build())
    ids = torch.tensor([[1, 2, 3]])
    labels = torch.tensor([[2, 3, IGNORE_INDEX]])
    out = LanguageModelingLoss()(model, {"input_ids": ids, "labels": labels})
    ref = F.cross_entropy(model(ids)[0], labels[0], ignore_index=IGNORE_INDEX, reduction="sum")
    torch.testing.assert_close(out.loss_sum, ref)
