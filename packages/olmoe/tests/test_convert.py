"""HF conversion: logits of a tiny random MoE OLMo equal transformers' OlmoeForCausalLM (fp32, < 1e-4),
both directions, in memory and through folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, OlmoeConfig, OlmoeForCausalLM

from olmo_core.checkpoint.model_io import load_model_checkpoint, model_state_for_save, save_model_checkpoint
from olmo_core.convert import converter_for_config, from_hf
from olmo_core.model import OLMo
from olmoe.cli import main
from olmoe.presets import get_olmoe_preset


def tiny_cfg():
    cfg = get_olmoe_preset("olmoe_tiny").replace(d_model=64, n_heads=4, vocab_size=300, embedding_size=320,
                                                 eos_token_id=299, pad_token_id=1, max_sequence_length=64)
    cfg.feed_forward.options.update(num_experts=6, top_k=3, hidden_size=32)
    return cfg.validate()


@pytest.fixture(scope="module")
def model() -> OLMo:
    torch.manual_seed(0)
    m = OLMo(tiny_cfg())
    with torch.no_grad():  # norm weights away from 1, so a swapped norm would show
        for _name, p in m.named_parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)
    return m.eval()


IDS = torch.randint(0, 300, (2, 24), generator=torch.Generator().manual_seed(1))


def test_to_hf_in_memory_matches_transformers_logits(model: OLMo) -> None:
    conv = converter_for_config(model.config)
    assert conv.model_type == "olmoe"
    hf = OlmoeForCausalLM(OlmoeConfig(**conv.hf_config(model.config))).eval()
    hf.load_state_dict(conv.to_hf_state(model.config, model_state_for_save(model)), strict=True)
    with torch.no_grad():
        ours, theirs = model(IDS), hf(IDS).logits
    assert (ours - theirs).abs().max().item() < 1e-4


def test_folder_round_trip_through_transformers(model: OLMo, tmp_path: Path) -> None:
    save_model_checkpoint(model, tmp_path / "ckpt")
    assert main(["convert", "to-hf", str(tmp_path / "ckpt"), str(tmp_path / "hf"), "--tokenizer", "none"]) == 0
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    assert type(hf).__name__ == "OlmoeForCausalLM"
    with torch.no_grad():
        assert (model(IDS) - hf(IDS).logits).abs().max().item() < 1e-4
    assert main(["convert", "from-hf", str(tmp_path / "hf"), str(tmp_path / "back")]) == 0
    back = load_model_checkpoint(tmp_path / "back").eval()
    assert back.config.feed_forward == model.config.feed_forward
    for (n, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), n


def test_from_hf_random_transformers_model_and_per_expert_layout(tmp_path: Path) -> None:
    torch.manual_seed(2)
    hf_cfg = OlmoeConfig(vocab_size=320, hidden_size=64, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_experts=6, num_experts_per_tok=2, norm_topk_prob=True,
                         max_position_embeddings=64, eos_token_id=299)
    hf = OlmoeForCausalLM(hf_cfg).eval()
    with torch.no_grad():
        hf.model.layers[0].mlp.gate.weight.normal_(0, 0.5)  # routing decisions that matter
    hf.save_pretrained(tmp_path / "hf")
    from_hf(tmp_path / "hf", tmp_path / "ours")
    ours = load_model_checkpoint(tmp_path / "ours").eval()
    assert ours.config.feed_forward.options["renormalize"] is True
    with torch.no_grad():
        assert (ours(IDS) - hf(IDS).logits).abs().max().item() < 1e-4
    # the hub files of allenai/OLMoE-1B-7B-0924 store one matrix per expert: accept that layout too
    conv = converter_for_config(ours.config)
    state = dict(hf.state_dict())
    for i in range(2):
        gu = state.pop(f"model.layers.{i}.mlp.experts.gate_up_proj")
        dn = state.pop(f"model.layers.{i}.mlp.experts.down_proj")
        for e in range(6):
            state[f"model.layers.{i}.mlp.experts.{e}.gate_proj.weight"] = gu[e, :32]
            state[f"model.layers.{i}.mlp.experts.{e}.up_proj.weight"] = gu[e, 32:]
            state[f"model.layers.{i}.mlp.experts.{e}.down_proj.weight"] = dn[e]
    converted = conv.from_hf_state(ours.config, state)
    for name, value in ours.state_dict().items():
        assert torch.equal(converted[name], value), name


def test_refuses_what_hf_olmoe_cannot_express(model: OLMo) -> None:
    cfg = tiny_cfg()
    cfg.feed_forward.options["shared_expert_hidden_size"] = 16
    with pytest.raises(ValueError, match="shared expert"):
        converter_for_config(cfg)
