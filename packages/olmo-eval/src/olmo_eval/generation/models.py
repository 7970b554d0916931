"""Models that generate: adapters meeting :class:`~olmo_eval.interfaces.GenerativeLanguageModel`
(and :class:`~olmo_eval.interfaces.LanguageModel`, for bits per byte), and a text codec.

- :class:`OlmoCoreGenerator`: an olmo-core ``OLMo`` with olmo-core's batched KV-cache
  ``olmo_core.generate.generate`` (optional extra ``olmo-core``, imported when used).
- :class:`HFGenerator`: a transformers causal LM with its ``generate`` (extra ``hf``).
- :class:`NaiveGenerator`: any ``LanguageModel``, one full forward per new token; slow, no
  dependency, the reference the other two are checked against.

:func:`load_generator` opens a folder: an olmo-core checkpoint (``manifest.json``) or an HF model
folder (``config.json`` with ``model_type``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


class TextCodec:
    """``encode(text) -> ids`` without special tokens and ``decode(ids) -> text``, over a
    ``tokenizers.Tokenizer``, a transformers tokenizer, or anything with those two methods."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self._fast = type(tok).__module__.startswith("tokenizers")

    @classmethod
    def from_file(cls, path: str | Path) -> TextCodec:
        from tokenizers import Tokenizer

        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no tokenizer.json here (pass --tokenizer PATH)")
        return cls(Tokenizer.from_file(str(path)))

    def encode(self, text: str) -> list[int]:
        if self._fast:
            return list(self.tok.encode(text, add_special_tokens=False).ids)
        try:
            return list(self.tok.encode(text, add_special_tokens=False))
        except TypeError:
            return list(self.tok.encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        if self._fast or hasattr(self.tok, "convert_ids_to_tokens"):
            return self.tok.decode(list(ids), skip_special_tokens=False)
        return self.tok.decode(list(ids))


def as_codec(tok: Any) -> TextCodec:
    if isinstance(tok, TextCodec):
        return tok
    if isinstance(tok, (str, Path)):
        return TextCodec.from_file(tok)
    return TextCodec(tok)


def _device(model: Any) -> torch.device:
    try:
        return next(iter(model.parameters())).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device):
    """Seed torch for one call without disturbing the caller's random state."""
    if seed is None:
        yield
        return
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _truncate_at_stops(ids: list[int], eos: int | None, stops: Sequence[Sequence[int]]) -> list[int]:
    for n in range(1, len(ids) + 1):
        if eos is not None and ids[n - 1] == eos:
            return ids[:n]
        for stop in stops:
            if len(stop) <= n and ids[n - len(stop):n] == list(stop):
                return ids[:n]
    return ids


def sample_next(logits: torch.Tensor, temperature: float, top_p: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Greedy (``temperature == 0``) or nucleus sampling over ``logits [B, V]``."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(dim=-1) - sorted_p < top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class NaiveGenerator:
    """Generation for any ``LanguageModel`` by re-running the whole sequence for each token."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.vocab_size = int(model.vocab_size)
        self.max_sequence_length = int(model.max_sequence_length)
        self.eos_token_id = int(model.eos_token_id)

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids)

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        device = _device(self.model)
        gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        out = []
        for prompt in prompts:
            ids = list(prompt)
            new: list[int] = []
            for _ in range(max_new_tokens):
                logits = self.model(torch.tensor([ids], device=device))[0, -1, : self.vocab_size]
                tok = int(sample_next(logits[None], temperature, top_p, gen)[0])
                ids.append(tok)
                new.append(tok)
                if _truncate_at_stops(new, self.eos_token_id, stop_sequences_ids or []) != new or \
                        tok == self.eos_token_id:
                    break
            out.append(_truncate_at_stops(new, self.eos_token_id, stop_sequences_ids or []))
        return out


class OlmoCoreGenerator:
    """An olmo-core model with ``olmo_core.generate.generate`` (batched, left padded, KV cache)."""

    def __init__(self, model: Any, pad_token_id: int | None = None) -> None:
        self.model = model
        self.vocab_size = int(model.vocab_size)
        self.max_sequence_length = int(model.max_sequence_length)
        self.eos_token_id = int(model.eos_token_id)
        cfg = getattr(model, "config", None)
        self.pad_token_id = int(pad_token_id if pad_token_id is not None else getattr(cfg, "pad_token_id", 1))

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids)

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        from olmo_core.generate import generate

        out = generate(self.model, [list(p) for p in prompts], max_new_tokens, temperature=temperature,
                       top_p=top_p, eos_token_id=self.eos_token_id, stop_sequences_ids=stop_sequences_ids,
                       seed=seed, pad_token_id=self.pad_token_id)
        return [_truncate_at_stops(list(o), self.eos_token_id, stop_sequences_ids or []) for o in out]


class HFGenerator:
    """A transformers causal LM; ``generate`` runs transformers' own ``generate`` on a left-padded
    batch with an attention mask."""

    def __init__(self, model: Any) -> None:
        self.model = model
        cfg = model.config
        self.vocab_size = int(cfg.vocab_size)
        self.max_sequence_length = int(getattr(cfg, "max_position_embeddings", 2048))
        eos = cfg.eos_token_id
        self.eos_token_id = int(eos[0] if isinstance(eos, list) else eos)
        pad = getattr(cfg, "pad_token_id", None)
        self.pad_token_id = int(pad if pad is not None else self.eos_token_id)

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids).logits

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        device = _device(self.model)
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p):] = 1
        stops = [list(s) for s in (stop_sequences_ids or []) if s]

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                tails = input_ids[:, width:].tolist()
                for row, tail in enumerate(tails):
                    done[row] = any(len(s) <= len(tail) and tail[-len(s):] == s for s in stops)
                return done

        sample = temperature > 0
        config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=sample,
                                  temperature=temperature if sample else None, top_p=top_p if sample else None,
                                  top_k=None, eos_token_id=self.eos_token_id, pad_token_id=self.pad_token_id)
        with _seeded(seed, device):
            out = self.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                      generation_config=config,
                                      stopping_criteria=StoppingCriteriaList([_Stop()]) if stops else None)
        return [_truncate_at_stops(row[width:].tolist(), self.eos_token_id, stops) for row in out]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from exc


def default_prompt_style(path: str | Path) -> str:
    """``"chat"`` for adapted models, ``"base"`` otherwise: a model is adapted when its folder
    says so (``chat_template`` in ``config.json``, olmo-core's extra config written by open-instruct,
    or in ``tokenizer_config.json``, as transformers saves it)."""
    path = Path(path)
    for name in ("config.json", "tokenizer_config.json"):
        f = path / name
        if f.exists():
            cfg = _read_json(f)
            if cfg.get("chat_template") or (cfg.get("extra") or {}).get("chat_template"):
                return "chat"
    return "base"


def load_generator(path: str | Path, *, device: str = "cpu", tokenizer: str | Path | None = None
                   ) -> tuple[Any, TextCodec]:
    """A generator and its codec for an olmo-core checkpoint or an HF model folder."""
    path = Path(path)
    if (path / "manifest.json").exists():
        from olmo_core.checkpoint.model_io import load_model_checkpoint

        model = load_model_checkpoint(path, device=device).eval()
        if tokenizer is not None:
            codec = as_codec(tokenizer)
        elif (path / "tokenizer.json").exists():
            codec = as_codec(path)
        else:
            from olmo_core.tokenizer import load_olmo_tokenizer

            codec = as_codec(load_olmo_tokenizer())
        return OlmoCoreGenerator(model), codec
    if (path / "config.json").exists() and "model_type" in _read_json(path / "config.json"):
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(path)).to(device).eval()
        return HFGenerator(model), as_codec(tokenizer if tokenizer is not None else path)
    raise FileNotFoundError(f"{path}: neither an olmo-core checkpoint (manifest.json) nor an HF model "
                            "folder (config.json with model_type)")
