"""``to_hf`` / ``from_hf``: whole-folder conversion between an olmo-core model checkpoint and an HF
transformers model folder (``config.json`` + ``model.safetensors`` [+ tokenizer files]).

transformers is imported only inside :func:`to_hf` (to write a config its own classes accept);
``from_hf`` needs only the JSON and safetensors files. The HF ``config.json`` we write carries our
full model config under ``olmo_core_model_config`` so a round trip restores the fields HF has no
place for (tokenizer vocabulary size, init scheme)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from olmo_core.checkpoint.model_io import (
    load_model_checkpoint,
    load_model_state,
    model_state_for_save,
    save_model_checkpoint,
)
from olmo_core.convert.registry import State, converter_for_config, converter_for_model_type
from olmo_core.faults import fault_point
from olmo_core.fileio import atomic_path
from olmo_core.model.config import ModelConfig
from olmo_core.tokenizer import (
    OLMO_EOS_ID,
    OLMO_EOS_TOKEN,
    OLMO_PAD_TOKEN,
    OLMO_VOCAB_SIZE,
    default_tokenizer_path,
    load_olmo_tokenizer,
)

OLMO_CORE_KEY = "olmo_core_model_config"
#: fields that must agree between HF's config and the stored olmo-core config for the latter to be used
_STRUCTURAL = ("d_model", "n_layers", "n_heads", "kv_heads", "mlp_hidden_size", "embedding_size", "weight_tying",
               "norm", "norm_affine", "qk_norm", "reordered_norm", "clip_qkv", "rope_theta")


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as e:
        raise ImportError("converting to HF needs transformers: pip install 'olmo-core[hf]'") from e
    return transformers


def _write_tokenizer(out: Path, cfg: ModelConfig, tokenizer: str | Path | None) -> None:
    if tokenizer is None or tokenizer == "none":
        return
    if tokenizer == "auto":
        if cfg.vocab_size != OLMO_VOCAB_SIZE or cfg.eos_token_id != OLMO_EOS_ID:
            return  # not the OLMo-1 vocabulary: nothing we ship fits
        tokenizer = default_tokenizer_path()
    path = Path(tokenizer)
    if path.is_dir():
        path = path / "tokenizer.json"
    transformers = _import_transformers()
    tok = load_olmo_tokenizer(path, check_ids=False)
    eos, pad = tok.id_to_token(cfg.eos_token_id), tok.id_to_token(cfg.pad_token_id)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token=eos or OLMO_EOS_TOKEN,
                                                pad_token=pad or OLMO_PAD_TOKEN)
    fast.save_pretrained(str(out))


def to_hf(checkpoint_dir: str | Path, out_dir: str | Path, *, tokenizer: str | Path | None = "auto",
          overwrite: bool = False) -> Path:
    """Write an HF folder that ``AutoModelForCausalLM.from_pretrained(out_dir)`` loads.

    ``tokenizer``: ``"auto"`` adds the shipped OLMo tokenizer when the model uses its vocabulary,
    a path adds that ``tokenizer.json``, ``None`` adds none."""
    transformers = _import_transformers()
    from safetensors.torch import save_file

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    model = load_model_checkpoint(checkpoint_dir)
    cfg = model.config
    conv = converter_for_config(cfg)
    try:
        hf_state = conv.to_hf_state(cfg, model_state_for_save(model))
    except ValueError as e:
        raise ValueError(f"{checkpoint_dir}: {e}") from e
    dtype = str(next(iter(hf_state.values())).dtype).removeprefix("torch.")
    hf_config = transformers.AutoConfig.for_model(conv.model_type, **conv.hf_config(cfg),
                                                  **{OLMO_CORE_KEY: cfg.to_dict()})
    hf_config.dtype = dtype
    # The whole folder is written under a temporary name and renamed when complete: a kill mid-write
    # never leaves an ``out`` that looks finished (its temporary is swept by the next write of ``out``).
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        hf_config.save_pretrained(str(tmp))
        fault_point("convert.file")
        save_file(hf_state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        fault_point("convert.file")
        _write_tokenizer(tmp, cfg, tokenizer)
        fault_point("convert.file")
    return out


def read_hf_weights(hf_dir: Path) -> State:
    """All tensors of an HF folder: ``model.safetensors``, a sharded safetensors index, or (legacy)
    ``pytorch_model.bin`` files."""
    from safetensors.torch import load_file

    if (hf_dir / "model.safetensors").is_file():
        return load_file(str(hf_dir / "model.safetensors"))
    for index_name, loader in (("model.safetensors.index.json", lambda p: load_file(str(p))),
                               ("pytorch_model.bin.index.json",
                                lambda p: torch.load(p, map_location="cpu", weights_only=True))):
        index = hf_dir / index_name
        if index.is_file():
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state: State = {}
            for name in files:
                state.update(loader(hf_dir / name))
            return state
    if (hf_dir / "pytorch_model.bin").is_file():
        return torch.load(hf_dir / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{hf_dir}: no model.safetensors, safetensors index or pytorch_model.bin")


def _tokenizer_vocab_size(hf_dir: Path) -> int | None:
    path = hf_dir / "tokenizer.json"
    if not path.is_file():
        return None
    return load_olmo_tokenizer(path, check_ids=False).get_vocab_size(with_added_tokens=True)


def hf_model_config(hf_dir: str | Path) -> ModelConfig:
    """Our model config for an HF folder (using the stored olmo-core config when it agrees)."""
    hf_dir = Path(hf_dir)
    cpath = hf_dir / "config.json"
    try:
        hf = json.loads(cpath.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{cpath}: missing") from None
    conv = converter_for_model_type(str(hf.get("model_type")), source=str(cpath))
    cfg = conv.from_hf_config(hf, vocab_size=_tokenizer_vocab_size(hf_dir))
    stored = hf.get(OLMO_CORE_KEY)
    if isinstance(stored, dict):
        stored_cfg = ModelConfig.from_dict(stored)
        if all(getattr(stored_cfg, f) == getattr(cfg, f) for f in _STRUCTURAL):
            cfg = stored_cfg
    if cfg.vocab_size > cfg.embedding_size:
        cfg = cfg.replace(vocab_size=cfg.embedding_size)
    return cfg


def from_hf(hf_dir: str | Path, out_dir: str | Path, *, step: int = 0) -> Path:
    """Convert an HF OLMo / OLMo-2 folder into an olmo-core model checkpoint at ``out_dir``."""
    hf_dir = Path(hf_dir)
    cfg = hf_model_config(hf_dir)
    hf = json.loads((hf_dir / "config.json").read_text())
    conv = converter_for_model_type(str(hf.get("model_type")))
    try:
        state = conv.from_hf_state(cfg, read_hf_weights(hf_dir))
    except ValueError as e:
        raise ValueError(f"{hf_dir}: {e}") from e
    model = cfg.build(init_device="meta")
    load_model_state(model, state, source=str(hf_dir), assign=True)
    return save_model_checkpoint(model, out_dir, step=step,
                                 extra_config={"converted_from": {"hf_dir": str(hf_dir),
                                                                  "model_type": conv.model_type}})
