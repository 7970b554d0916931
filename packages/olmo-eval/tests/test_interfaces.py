"""The LanguageModel contract olmo-eval owns."""

from __future__ import annotations

import pytest
import torch

from olmo_eval.interfaces import InterfaceError, LanguageModel, check_language_model


class Bigram(torch.nn.Module):
    vocab_size = 11
    max_sequence_length = 16
    eos_token_id = 10

    def __init__(self, width: int = 11) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(11, width)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.table(input_ids)


def test_structural_model_meets_contract() -> None:
    model = Bigram()
    assert isinstance(model, LanguageModel)
    check_language_model(model)


def test_too_few_logits_refused() -> None:
    with pytest.raises(InterfaceError, match="fewer than vocab_size"):
        check_language_model(Bigram(width=5))
