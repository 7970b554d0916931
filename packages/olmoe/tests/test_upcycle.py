"""Sparse upcycling: the replicated MoE computes the dense function at step 0, sliced experts add up to
the dense MLP, and the result trains at once."""

from __future__ import annotations

from pathlib import Path

import torch

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.model import ModelConfig, OLMo
from olmoe.cli import main
from olmoe.moe import MoEFeedForward

IDS = torch.randint(0, 200, (2, 20), generator=torch.Generator().manual_seed(0))


def dense_checkpoint(tmp_path: Path) -> tuple[OLMo, Path]:
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, n_layers=2, n_heads=2, mlp_hidden_size=64, vocab_size=200, embedding_size=256,
                      eos_token_id=199, max_sequence_length=64)
    model = OLMo(cfg).eval()
    return model, save_model_checkpoint(model, tmp_path / "dense")


def test_replicate_equals_dense_model_and_trains(tmp_path: Path) -> None:
    dense, path = dense_checkpoint(tmp_path)
    assert main(["upcycle", str(path), str(tmp_path / "moe"), "--experts", "4", "--top-k", "2"]) == 0
    moe = load_model_checkpoint(tmp_path / "moe").eval()
    assert isinstance(moe.blocks[0].feed_forward, MoEFeedForward)
    assert moe.num_params() > dense.num_params()
    with torch.no_grad():
        torch.testing.assert_close(moe(IDS), dense(IDS), atol=1e-5, rtol=1e-5)

    moe.train()
    opt = torch.optim.AdamW(moe.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        logits = moe(IDS[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), IDS[:, 1:].reshape(-1))
        aux = moe.pop_auxiliary_losses()
        (loss + sum(aux.values())).backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert set(aux) == {"lb_loss", "z_loss"} and losses[-1] < losses[0] - 0.1
    assert moe.blocks[0].feed_forward.router.weight.grad is None  # zeroed; it did get gradients:
    assert not torch.equal(moe.blocks[0].feed_forward.router.weight,
                           load_model_checkpoint(tmp_path / "moe").blocks[0].feed_forward.router.weight)


def test_slices_add_up_to_the_dense_mlp(tmp_path: Path) -> None:
    dense, path = dense_checkpoint(tmp_path)
    assert main(["upcycle", str(path), str(tmp_path / "moe"), "--experts", "8", "--top-k", "8", "--mode",
                 "slice"]) == 0
    moe = load_model_checkpoint(tmp_path / "moe")
    ff = moe.blocks[1].feed_forward
    assert (ff.num_experts, ff.hidden_size) == (8, 8)
    x = torch.randn(5, 32)
    total = torch.zeros(5, 32)
    for e in range(8):
        g, u = (x @ ff.gate_up[e]).chunk(2, dim=-1)
        total += (torch.nn.functional.silu(g) * u) @ ff.down[e]
    with torch.no_grad():
        # each sliced down projection carries a factor E
        torch.testing.assert_close(total / 8, dense.blocks[1].feed_forward(x), atol=1e-5, rtol=1e-5)
