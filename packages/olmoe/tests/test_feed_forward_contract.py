"""olmoe builds on olmo-core's FeedForward contract (declared dependency)."""

from __future__ import annotations

import torch

from olmo_core.interfaces import FeedForward, HasAuxiliaryLosses, check_feed_forward


class Toy(torch.nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(d_model, d_model)
        self._aux: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._aux.append(x.pow(2).mean())
        return self.proj(x)

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]:
        out, self._aux = {"toy": torch.stack(self._aux).sum()} if self._aux else {}, []
        return out

    def pop_metrics(self) -> dict[str, torch.Tensor]:
        return {}


def test_toy_layer_meets_contract() -> None:
    layer = Toy(4)
    assert isinstance(layer, FeedForward) and isinstance(layer, HasAuxiliaryLosses)
    check_feed_forward(layer, 4)
    assert layer.pop_auxiliary_losses() == {}
