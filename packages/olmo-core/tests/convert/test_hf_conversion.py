"""HF conversion: a tiny random model, converted with the ``olmo-core convert`` command, loads in
transformers (the independent reference) and gives the same logits on real text; converting back
gives identical weights. Norm weights are randomized so a swapped norm would show."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.cli import main
from olmo_core.convert import converter_for_config, hf_model_config
from olmo_core.model import get_model_preset
from olmo_core.tokenizer import encode, load_olmo_tokenizer

SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "data"


def _real_text_ids(n_tokens: int = 96) -> torch.Tensor:
    tok = load_olmo_tokenizer()
    rows = []
    with gzip.open(SHARED / "eval_gen" / "gsm8k" / "requests.jsonl.gz", "rt") as f:
        for _ in range(2):
            doc = json.loads(next(f))["doc"]
            rows.append(encode(tok, doc["question"] + "\n" + doc["answer"])[:n_tokens])
    n = min(len(r) for r in rows)
    return torch.tensor([r[:n] for r in rows])


def _cli(*argv: str) -> int:
    return main(["convert", *argv])


CASES = {
    # OLMo-1: tied, clip_qkv, grouped-query attention
    "olmo": get_model_preset("tiny").replace(d_model=64, n_heads=4, n_kv_heads=2, mlp_hidden_size=160,
                                              clip_qkv=4.0, weight_tying=True),
    # OLMo-2: untied, RMSNorm weights, QK-norm, reordered norm
    "olmo2": get_model_preset("tiny_olmo2").replace(d_model=64, n_heads=4, mlp_hidden_size=160),
}


@pytest.mark.parametrize("layout", sorted(CASES))
def test_to_hf_logit_parity_and_round_trip(tmp_path: Path, layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = CASES[layout]
    assert converter_for_config(cfg).model_type == layout
    torch.manual_seed(0)
    model = cfg.build()
    model.init_weights(seed=1)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:  # norm weights: make them distinct from 1 and from each other
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
    ours_dir = save_model_checkpoint(model, tmp_path / "ours")
    hf_dir = tmp_path / "hf"
    assert _cli("to-hf", str(ours_dir), str(hf_dir)) == 0

    hf_model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32, local_files_only=True)
    hf_model.eval()
    assert type(hf_model).__name__ == {"olmo": "OlmoForCausalLM", "olmo2": "Olmo2ForCausalLM"}[layout]
    hf_tok = AutoTokenizer.from_pretrained(str(hf_dir), local_files_only=True)
    ids = _real_text_ids()
    assert hf_tok(load_olmo_tokenizer().decode(ids[0].tolist()), add_special_tokens=False)["input_ids"] == \
        ids[0].tolist()
    with torch.no_grad():
        ours = model(ids)
        theirs = hf_model(input_ids=ids).logits
    assert theirs.shape == ours.shape
    diff = (ours - theirs).abs().max().item()
    assert diff < 1e-4, diff
    assert ours.std() > 0.1  # not trivially small logits

    back = tmp_path / "back"
    assert _cli("from-hf", str(hf_dir), str(back), "--step", "3") == 0
    again = load_model_checkpoint(back)
    assert again.config == model.config
    ref = model.state_dict()
    got = again.state_dict()
    assert ref.keys() == got.keys()
    for name in ref:
        assert torch.equal(ref[name], got[name]), name


def test_hf_config_without_our_extra_field(tmp_path: Path) -> None:
    """A folder written by someone else (no olmo_core_model_config): the vocabulary comes from the
    tokenizer, the rest from HF's fields."""
    model = CASES["olmo"].build()
    hf_dir = tmp_path / "hf"
    from olmo_core.convert import to_hf

    to_hf(save_model_checkpoint(model, tmp_path / "ours"), hf_dir)
    cfg_path = hf_dir / "config.json"
    raw = json.loads(cfg_path.read_text())
    raw.pop("olmo_core_model_config")
    cfg_path.write_text(json.dumps(raw))
    cfg = hf_model_config(hf_dir)
    assert cfg.vocab_size == 50280 and cfg.embedding_size == 50304
    assert (cfg.d_model, cfg.kv_heads, cfg.clip_qkv, cfg.weight_tying) == (64, 2, 4.0, True)
    raw["model_type"] = "gpt2"
    cfg_path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="model_type 'gpt2'"):
        hf_model_config(hf_dir)


def test_unconvertible_config_says_why(tmp_path: Path) -> None:
    cfg = CASES["olmo"].replace(norm="rmsnorm")
    with pytest.raises(ValueError, match="no HF converter"):
        converter_for_config(cfg)
    ours = save_model_checkpoint(CASES["olmo"].build(), tmp_path / "ours")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        _cli("to-hf", str(ours), str(tmp_path / "taken"))


def test_hf_weights_that_do_not_fit_are_named(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from olmo_core.convert import from_hf, to_hf

    hf_dir = to_hf(save_model_checkpoint(CASES["olmo2"].build(), tmp_path / "ours"), tmp_path / "hf", tokenizer=None)
    weights = load_file(str(hf_dir / "model.safetensors"))
    weights.pop("model.layers.1.self_attn.k_norm.weight")
    save_file(weights, str(hf_dir / "model.safetensors"))
    with pytest.raises(ValueError, match="k_norm"):
        from_hf(hf_dir, tmp_path / "back")
    assert not (tmp_path / "back" / "manifest.json").exists()


@pytest.mark.parametrize("model_type", ["olmo", "olmo2"])
def test_from_hf_on_a_folder_transformers_wrote(tmp_path: Path, model_type: str) -> None:
    """A randomly initialized transformers model saved by transformers itself (no olmo-core field):
    from_hf must reproduce its logits."""
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(5)
    hf_cfg = AutoConfig.for_model(model_type, vocab_size=384, hidden_size=64, intermediate_size=96,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=128, rope_theta=20_000.0, eos_token_id=0, pad_token_id=1,
                                  tie_word_embeddings=model_type == "olmo", initializer_range=0.2)
    hf = AutoModelForCausalLM.from_config(hf_cfg, dtype=torch.float32).eval()
    with torch.no_grad():
        for p in hf.parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
    hf.save_pretrained(str(tmp_path / "hf"))
    ours = load_model_checkpoint(_from_hf_cli(tmp_path / "hf", tmp_path / "ours"))
    assert ours.config.rope_theta == 20_000.0 and ours.config.kv_heads == 2
    assert ours.config.weight_tying == (model_type == "olmo")
    ids = torch.randint(0, 384, (2, 40))
    with torch.no_grad():
        assert (ours(ids) - hf(input_ids=ids).logits).abs().max() < 1e-4


def _from_hf_cli(hf_dir: Path, out: Path) -> Path:
    assert _cli("from-hf", str(hf_dir), str(out)) == 0
    return out
