"""The scoring kernel against a naive one-request-at-a-time computation."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from olmo_eval.scoring import TokenRequest, score_requests


class ToyLM(torch.nn.Module):
    """Causal by construction (running mean of embeddings), with padded logits (V=40 > vocab 37)."""

    vocab_size, max_sequence_length, eos_token_id = 37, 12, 36

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.emb = torch.nn.Parameter(torch.randn(40, 16, generator=g))
        self.out = torch.nn.Parameter(torch.randn(16, 40, generator=g) * 2)
        self.calls: list[tuple[int, int]] = []

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(ids.shape))
        h = self.emb[ids].cumsum(1) / torch.arange(1, ids.shape[1] + 1)[None, :, None]
        return torch.tanh(h) @ self.out


def naive(model: ToyLM, req: TokenRequest) -> tuple[float, bool]:
    full = list(req.context) + list(req.continuation)
    full = full[-(model.max_sequence_length + 1):]
    k = min(len(req.continuation), len(full) - 1)
    with torch.no_grad():
        logits = model(torch.tensor([full[:-1]]))[0, :, : model.vocab_size].double()
    lp = torch.log_softmax(logits, -1)
    pos = range(len(full) - 1 - k, len(full) - 1)
    targets = full[-k:]
    total = sum(float(lp[p, t]) for p, t in zip(pos, targets))
    greedy = all(int(logits[p].argmax()) == t for p, t in zip(pos, targets))
    return total, greedy


def make_requests(n: int, seed: int = 0) -> list[TokenRequest]:
    rng = random.Random(seed)
    reqs = []
    for _ in range(n):
        ctx = [rng.randrange(37) for _ in range(rng.randint(1, 14))]  # some longer than the window
        if rng.random() < 0.4:  # lettered-style: several single-token continuations share a context
            for t in rng.sample(range(37), 3):
                reqs.append(TokenRequest(ctx, [t]))
        else:
            reqs.append(TokenRequest(ctx, [rng.randrange(37) for _ in range(rng.randint(1, 4))]))
    return reqs


@pytest.mark.parametrize("budget", [12, 40, 10_000])
def test_matches_naive_for_any_budget(budget: int) -> None:
    model = ToyLM()
    reqs = make_requests(60)
    scores = score_requests(model, reqs, token_budget=budget)
    for i, r in enumerate(reqs):
        lp, greedy = naive(model, r)
        assert scores.logprob[i] == pytest.approx(lp, abs=1e-5)
        assert bool(scores.greedy[i]) == greedy
        assert scores.num_tokens[i] == min(len(r.continuation), 12)


def test_batches_respect_budget_and_shared_contexts_run_once() -> None:
    model = ToyLM()
    ctx = [1, 2, 3, 4]
    reqs = [TokenRequest(ctx, [t]) for t in (5, 6, 7, 8)] + [TokenRequest([9] * 6, [1, 2])]
    score_requests(model, reqs, token_budget=7)
    # two distinct inputs: [9]*6 + [1] (7 tokens) and ctx (4 tokens), longest first, one row each
    assert model.calls == [(1, 7), (1, 4)]
    model.calls.clear()
    score_requests(model, reqs, token_budget=100)
    assert model.calls == [(2, 7)]


def test_deterministic_and_order_preserving() -> None:
    model = ToyLM()
    reqs = make_requests(30, seed=1)
    a = score_requests(model, reqs, token_budget=50)
    perm = list(range(len(reqs)))
    random.Random(2).shuffle(perm)
    b = score_requests(model, [reqs[i] for i in perm], token_budget=50)
    np.testing.assert_allclose(b.logprob, a.logprob[perm], atol=1e-6)
    c = score_requests(model, reqs, token_budget=50)
    assert np.array_equal(a.logprob, c.logprob)


def test_empty_continuation_is_refused() -> None:
    with pytest.raises(ValueError, match="request 0: empty continuation"):
        score_requests(ToyLM(), [TokenRequest([1], [])])


class SplitToyLM(ToyLM):
    """The same model offering the hidden-state path: vocabulary projection only where needed."""

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(ids.shape))
        return torch.tanh(self.emb[ids].cumsum(1) / torch.arange(1, ids.shape[1] + 1)[None, :, None])

    def logits_from_hidden(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.out


def test_hidden_state_path_matches_full_logits() -> None:
    reqs = make_requests(40, seed=5)
    full = score_requests(ToyLM(), reqs, token_budget=60)
    split_model = SplitToyLM()
    split = score_requests(split_model, reqs, token_budget=60)
    np.testing.assert_allclose(split.logprob, full.logprob, atol=1e-5)
    assert np.array_equal(split.greedy, full.greedy) and split_model.calls
