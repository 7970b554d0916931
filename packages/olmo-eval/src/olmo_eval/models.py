"""Load what ``olmo-eval run --model PATH`` names: an olmo-core checkpoint or a HF model folder.

olmo-core (extra ``olmo-core``) and transformers (extra ``hf``) are imported only here, only when a
model of that kind is loaded; the scoring path itself needs neither.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from olmo_eval.interfaces import check_language_model


class HFCausalLM(torch.nn.Module):
    """A transformers causal LM seen through the LanguageModel contract (``input_ids -> logits``)."""

    def __init__(self, model: Any, max_sequence_length: int | None = None) -> None:
        super().__init__()
        self.model = model
        cfg = model.config
        self.vocab_size = int(cfg.vocab_size)
        self.max_sequence_length = int(max_sequence_length or getattr(cfg, "max_position_embeddings", 2048))
        eos = cfg.eos_token_id
        if isinstance(eos, (list, tuple)):
            eos = eos[0]
        self.eos_token_id = int(eos if eos is not None else 0)
        if any(getattr(cfg, name, None) not in (None, 1.0) for name in ("final_logit_softcapping", "logit_scale")):
            # the head is not a plain projection: score through the full forward only
            self.hidden_states = None  # type: ignore[assignment]

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, use_cache=False).logits

    def hidden_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Final hidden states; with :meth:`logits_from_hidden` the scoring kernel projects onto the
        vocabulary only where a continuation token is predicted."""
        return self.model.get_decoder()(input_ids=input_ids, use_cache=False).last_hidden_state

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.get_output_embeddings()(hidden)


def is_olmo_core_checkpoint(path: Path) -> bool:
    manifest = path / "manifest.json"
    if not manifest.exists():
        return False
    try:
        return json.loads(manifest.read_text()).get("format") == "olmo-core/checkpoint"
    except (OSError, json.JSONDecodeError):
        return False


def load_hf_model(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                  max_sequence_length: int | None = None) -> HFCausalLM:
    try:
        from transformers import AutoModelForCausalLM
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("loading a HF model folder needs the `hf` extra: pip install 'olmo-eval[hf]'") from e
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, local_files_only=True)
    return HFCausalLM(model.to(device).eval(), max_sequence_length)


def load_olmo_core_model(path: str | Path, device: str | torch.device = "cpu") -> Any:
    try:
        from olmo_core.checkpoint.model_io import load_model_checkpoint
    except ImportError as e:
        raise ImportError("loading an olmo-core checkpoint needs the `olmo-core` extra: "
                          "pip install 'olmo-eval[olmo-core]'") from e
    return load_model_checkpoint(str(path), device=str(device)).eval()


def default_tokenizer_for(path: Path) -> Any:
    from olmo_eval.tokenizer import HFTokenizer, load_tokenizer

    if (path / "tokenizer.json").exists():
        return load_tokenizer(path)
    try:
        from olmo_core.tokenizer import load_olmo_tokenizer
    except ImportError as e:
        raise FileNotFoundError(f"{path}: no tokenizer.json and olmo-core's tokenizer is unavailable; "
                                "pass --tokenizer PATH") from e
    return HFTokenizer(load_olmo_tokenizer(), 50279)


def load_model(path: str | Path, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               tokenizer: str | Path | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for an olmo-core checkpoint folder or a HF model folder."""
    from olmo_eval.tokenizer import load_tokenizer

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a model folder")
    if is_olmo_core_checkpoint(path):
        model = load_olmo_core_model(path, device).to(dtype=dtype)
    elif (path / "config.json").exists():
        model = load_hf_model(path, device, dtype)
    else:
        raise ValueError(f"{path}: neither an olmo-core checkpoint (manifest.json) nor a HF folder (config.json)")
    check_language_model(model)
    tok = load_tokenizer(tokenizer) if tokenizer else default_tokenizer_for(path)
    return model, tok
