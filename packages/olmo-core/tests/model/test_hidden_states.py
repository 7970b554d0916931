"""``hidden_states`` + ``logits_from_hidden`` (olmo-eval's scorer projects only the positions it
scores through them) and ``forward(head_fn=...)`` give exactly what ``forward`` gives."""

from __future__ import annotations

import torch

from olmo_core.model.config import ModelConfig
from olmo_core.model.transformer import OLMo


def _model() -> OLMo:
    cfg = ModelConfig(d_model=32, n_layers=2, n_heads=2, mlp_hidden_size=64, vocab_size=100, embedding_size=128,
                      eos_token_id=99, pad_token_id=1, max_sequence_length=64)
    model = cfg.build()
    model.init_weights(0)
    return model.eval()


def test_hidden_states_then_head_equal_forward_logits() -> None:
    model = _model()
    ids = torch.randint(2, 99, (2, 10), generator=torch.Generator().manual_seed(0))
    doc_ids = torch.tensor([[0] * 4 + [1] * 6, [0] * 10])
    with torch.no_grad():
        logits = model(ids, doc_ids=doc_ids)
        h = model.hidden_states(ids, doc_ids=doc_ids)
        assert h.shape == (2, 10, 32)
        torch.testing.assert_close(model.logits_from_hidden(h), logits, rtol=0, atol=0)
        # The scorer's use: a gathered [N, D] selection of positions.
        picked = model.logits_from_hidden(h[torch.tensor([0, 1]), torch.tensor([3, 9])])
        torch.testing.assert_close(picked, logits[torch.tensor([0, 1]), torch.tensor([3, 9])])


def test_head_fn_receives_normed_hidden_states_and_head_weight() -> None:
    model = _model()
    ids = torch.randint(2, 99, (2, 10), generator=torch.Generator().manual_seed(1))
    seen = {}

    def head_fn(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        seen["weight"] = weight
        return h @ weight.t()

    with torch.no_grad():
        out = model(ids, head_fn=head_fn)
        torch.testing.assert_close(out, model(ids), rtol=0, atol=1e-6)
    assert seen["weight"] is model.lm_head.weight
