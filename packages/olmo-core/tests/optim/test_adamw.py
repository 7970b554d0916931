"""AdamW parameter groups follow OLMo: decay on weight matrices only."""

from __future__ import annotations

import torch
from torch import nn

from olmo_core.optim.adamw import OptimConfig, param_groups


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embeddings = nn.Embedding(10, 4)
        self.proj = nn.Linear(4, 4, bias=True)
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embeddings.weight  # tied


def test_no_decay_on_embeddings_norms_biases_and_tied_weights_once() -> None:
    groups = {g["name"]: g for g in param_groups(Toy(), 0.1)}
    assert groups["decay"]["param_names"] == ["proj.weight"]
    assert sorted(groups["no_decay"]["param_names"]) == ["embeddings.weight", "norm.bias", "norm.weight", "proj.bias"]
    assert groups["decay"]["weight_decay"] == 0.1 and groups["no_decay"]["weight_decay"] == 0.0


def test_optimizer_uses_olmo_settings_and_decays_only_matrices() -> None:
    model = Toy()
    opt = OptimConfig(lr=0.1, weight_decay=0.5).build(model)
    assert opt.defaults["betas"] == (0.9, 0.95) and opt.defaults["eps"] == 1e-5
    before_emb = model.embeddings.weight.detach().clone()
    before_proj = model.proj.weight.detach().clone()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    # With zero gradients only decoupled weight decay moves a parameter: w <- w * (1 - lr * wd).
    torch.testing.assert_close(model.proj.weight, before_proj * (1 - 0.1 * 0.5))
    torch.testing.assert_close(model.embeddings.weight, before_emb)
