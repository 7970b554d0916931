"""The transformer's behaviour: causality, per-document masking, the pluggable feed-forward and its
auxiliary losses reaching the loss, meta-device construction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.interfaces import check_feed_forward
from olmo_core.model import FeedForwardConfig, ModelConfig, get_model_preset
from olmo_core.model.config import ConfigError
from olmo_core.model.feed_forward import FEED_FORWARDS, register_feed_forward


def _tiny(**kw: object) -> ModelConfig:
    return get_model_preset("tiny").replace(d_model=64, mlp_hidden_size=128, vocab_size=300, embedding_size=320,
                                            eos_token_id=0, **kw)


@pytest.mark.parametrize("preset", ["tiny", "tiny_olmo2"])
def test_forward_is_causal(preset: str) -> None:
    torch.manual_seed(0)
    model = get_model_preset(preset).build()
    x = torch.randint(0, 50280, (2, 12))
    y = x.clone()
    y[:, 8:] = torch.randint(0, 50280, (2, 4))
    with torch.no_grad():
        a, b = model(x), model(y)
    assert a.shape == (2, 12, 50304)
    torch.testing.assert_close(a[:, :8], b[:, :8], rtol=0, atol=1e-5)
    assert (a[:, 8:] - b[:, 8:]).abs().max() > 1e-3


@pytest.mark.parametrize("olmo2", [False, True])
def test_doc_ids_make_packed_documents_independent(olmo2: bool) -> None:
    """Two documents packed in one row with doc_ids give the logits each gives alone. RoPE is
    relative, so this holds without resetting positions at the boundary."""
    cfg = get_model_preset("tiny_olmo2" if olmo2 else "tiny")
    torch.manual_seed(1)
    model = cfg.replace(n_kv_heads=2).build()
    a, b = torch.randint(0, 50280, (1, 7)), torch.randint(0, 50280, (1, 9))
    packed = torch.cat([a, b], dim=1)
    doc_ids = torch.tensor([[0] * 7 + [1] * 9])
    with torch.no_grad():
        both = model(packed, doc_ids=doc_ids)
        alone_a, alone_b = model(a), model(b)
        unmasked = model(packed)
    torch.testing.assert_close(both[:, :7], alone_a, rtol=0, atol=1e-4)
    torch.testing.assert_close(both[:, 7:], alone_b, rtol=0, atol=1e-4)
    assert (unmasked[:, 7:] - alone_b).abs().max() > 1e-3  # without the mask, b sees a


def test_position_ids_restart_matches_separate_documents() -> None:
    torch.manual_seed(2)
    model = _tiny().build()
    a, b = torch.randint(0, 300, (1, 5)), torch.randint(0, 300, (1, 6))
    pos = torch.tensor([list(range(5)) + list(range(6))])
    with torch.no_grad():
        both = model(torch.cat([a, b], 1), doc_ids=torch.tensor([[3] * 5 + [4] * 6]), position_ids=pos)
        torch.testing.assert_close(both[:, 5:], model(b), rtol=0, atol=1e-4)


class AuxFeedForward(nn.Module):
    """A FeedForward defined here, not in olmoe: a linear map plus an auxiliary loss whose only path
    to ``gate`` is the loss itself."""

    def __init__(self, d_model: int, weight: float = 0.5) -> None:
        super().__init__()
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.gate = nn.Parameter(torch.tensor(2.0))
        self.weight = weight
        self._losses: list[torch.Tensor] = []
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self._losses.append(self.weight * self.gate * x.float().pow(2).mean())
        return self.proj(x)

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]:
        losses, self._losses = self._losses, []
        return {"aux_loss": torch.stack(losses).sum()} if losses else {}

    def pop_metrics(self) -> dict[str, torch.Tensor]:
        return {"calls": torch.tensor(float(self.calls))}


@pytest.fixture
def aux_feed_forward() -> Iterator[str]:
    """``AuxFeedForward`` registered under a name for the test's duration (plug-ins register by name)."""
    name = "test_aux_feed_forward"
    register_feed_forward(name)(lambda config, **options: AuxFeedForward(config.d_model, **options))
    yield name
    del FEED_FORWARDS[name]


def test_plugged_feed_forward_aux_loss_reaches_the_loss(aux_feed_forward: str) -> None:
    cfg = _tiny(feed_forward=FeedForwardConfig(target=aux_feed_forward, options={"weight": 0.25}))
    torch.manual_seed(3)
    model = cfg.build()
    assert all(isinstance(b.feed_forward, AuxFeedForward) for b in model.blocks)
    check_feed_forward(model.blocks[0].feed_forward, 64)
    x = torch.randint(0, 300, (2, 10))
    logits = model(x)
    aux = model.pop_auxiliary_losses()
    assert set(aux) == {"aux_loss"}
    assert model.pop_auxiliary_losses() == {}  # popped
    # Independent recomputation of the two blocks' aux terms from the feed-forward inputs.
    expected = torch.zeros(())
    with torch.no_grad():
        h = model.embeddings(x)
        for block in model.blocks:
            h = h + block.attention(block.attention_norm(h), torch.arange(10))
            ff_in = block.feed_forward_norm(h)
            expected = expected + 0.25 * 2.0 * ff_in.pow(2).mean()
            h = h + block.feed_forward.proj(ff_in)
    torch.testing.assert_close(aux["aux_loss"].detach(), expected, rtol=1e-5, atol=1e-6)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
    (loss + sum(aux.values())).backward()
    assert model.blocks[0].feed_forward.gate.grad is not None
    assert model.blocks[0].feed_forward.gate.grad.abs() > 0
    metrics = model.pop_metrics()
    assert set(metrics) == {"layer0/calls", "layer1/calls"}


def test_a_module_path_in_a_config_imports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config (from a checkpoint's config.json, say) naming a module path is refused without the
    module being imported: importing it would run its code."""
    (tmp_path / "evil_feed_forward_mod.py").write_text(
        f"open({str(tmp_path / 'imported')!r}, 'w').close()\nclass Thing: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="not a registered feed-forward"):
        _tiny(feed_forward=FeedForwardConfig(target="evil_feed_forward_mod:Thing")).build()
    assert not (tmp_path / "imported").exists()


def test_dense_model_has_no_auxiliary_losses() -> None:
    model = _tiny().build()
    model(torch.zeros(1, 3, dtype=torch.long))
    assert model.pop_auxiliary_losses() == {} and model.pop_metrics() == {}


def test_bad_feed_forward_target_names_the_field() -> None:
    with pytest.raises(ConfigError, match="model.feed_forward.target.*not a registered feed-forward"):
        _tiny(feed_forward=FeedForwardConfig(target="no_such_module_xyz:Thing")).build()
    with pytest.raises(ConfigError, match="model.feed_forward.target"):
        _tiny(feed_forward=FeedForwardConfig(target="nonsense")).build()


def test_meta_build_then_materialize_is_deterministic_and_tied() -> None:
    cfg = _tiny()
    with torch.device("meta"):
        model = cfg.build()
    assert model.embeddings.weight.is_meta
    model.to_empty(device="cpu")
    assert model.lm_head.weight is model.embeddings.weight
    model.init_weights(seed=7)
    assert model.lm_head.weight is model.embeddings.weight
    ref = cfg.build()
    ref.init_weights(seed=7)
    for (n, p), (_, q) in zip(model.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(p, q), n
    x = torch.randint(0, 300, (1, 5))
    assert torch.isfinite(model(x)).all()


def test_gqa_and_clip_qkv_run() -> None:
    model = _tiny(n_kv_heads=1, clip_qkv=0.5).build()
    assert model.blocks[0].attention.w_k.weight.shape == (16, 64)
    assert torch.isfinite(model(torch.randint(0, 300, (2, 6)))).all()


def test_language_model_attributes() -> None:
    model = get_model_preset("tiny").build()
    assert (model.vocab_size, model.max_sequence_length, model.eos_token_id) == (50280, 2048, 50279)


@pytest.mark.parametrize("preset", ["tiny", "tiny_olmo2"])
def test_bfloat16_forward_tracks_float32(preset: str) -> None:
    torch.manual_seed(4)
    model = get_model_preset(preset).replace(d_model=64, mlp_hidden_size=128).build()
    x = torch.randint(0, 50280, (1, 16))
    with torch.no_grad():
        ref = model(x, doc_ids=torch.tensor([[0] * 6 + [1] * 10]))
        low = model.to(torch.bfloat16)(x, doc_ids=torch.tensor([[0] * 6 + [1] * 10]))
    assert low.dtype == torch.bfloat16
    assert (low.float() - ref).abs().max() < 0.1 * ref.abs().max()
