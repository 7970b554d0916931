"""The model adapters: what ``--model PATH`` names, seen through olmo-eval's contracts.

Each adapter meets both :class:`~olmo_eval.interfaces.LanguageModel` (``input_ids -> logits``, for
scoring) and :class:`~olmo_eval.interfaces.GenerativeLanguageModel` (``generate``, for generation
tasks), so one loaded model serves every kind of task:

- :class:`OlmoCoreLM`: an olmo-core ``OLMo`` loaded from a checkpoint (optional extra ``olmo-core``),
  generating with olmo-core's batched KV-cache ``olmo_core.generate.generate``.
- :class:`HFCausalLM`: a transformers causal LM (extra ``hf``), generating with its own ``generate``.
- :class:`NaiveGenerator`: any ``LanguageModel``, one full forward per new token; slow, no
  dependency, the reference the other two are checked against.

olmo-core and transformers are imported only here, only when a model of that kind is loaded or
generates; the scoring path itself needs neither. :func:`load_model` opens a folder and returns the
adapter with its tokenizer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from olmo_eval.interfaces import check_language_model
from olmo_eval.tokenizer import Tokenizer, tokenizer_for_model


def model_device(model: Any) -> torch.device:
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

    def parameters(self) -> Any:
        return self.model.parameters()

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        device = model_device(self.model)
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


class OlmoCoreLM(torch.nn.Module):
    """An olmo-core model: its forward for scoring (and its ``hidden_states`` /
    ``logits_from_hidden``, so the scoring kernel projects only where continuations are predicted),
    ``olmo_core.generate.generate`` (batched, left padded, KV cache) for generation."""

    def __init__(self, model: Any, pad_token_id: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.vocab_size = int(model.vocab_size)
        self.max_sequence_length = int(model.max_sequence_length)
        self.eos_token_id = int(model.eos_token_id)
        cfg = getattr(model, "config", None)
        self.pad_token_id = int(pad_token_id if pad_token_id is not None else getattr(cfg, "pad_token_id", 1))
        if not (callable(getattr(model, "hidden_states", None)) and callable(getattr(model, "logits_from_hidden", None))):
            self.hidden_states = None  # type: ignore[assignment]

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids)

    def hidden_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.hidden_states(input_ids)

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.model.logits_from_hidden(hidden)

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        from olmo_core.generate import generate

        out = generate(self.model, [list(p) for p in prompts], max_new_tokens, temperature=temperature,
                       top_p=top_p, eos_token_id=self.eos_token_id, stop_sequences_ids=stop_sequences_ids,
                       seed=seed, pad_token_id=self.pad_token_id)
        return [_truncate_at_stops(list(o), self.eos_token_id, stop_sequences_ids or []) for o in out]


class HFCausalLM(torch.nn.Module):
    """A transformers causal LM: ``input_ids -> logits`` for scoring, transformers' own ``generate``
    on a left-padded batch with an attention mask for generation."""

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
        pad = getattr(cfg, "pad_token_id", None)
        self.pad_token_id = int(pad if pad is not None else self.eos_token_id)
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

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]:
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        device = model_device(self.model)
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


def as_generative(model: Any) -> Any:
    """``model`` itself when it is one of the adapters above (they generate), else a wrapper: raw
    transformers and olmo-core models get theirs, any other ``LanguageModel`` the naive loop."""
    if isinstance(model, (HFCausalLM, OlmoCoreLM, NaiveGenerator)):
        return model
    module = type(model).__module__
    if module.startswith("transformers"):
        return HFCausalLM(model)
    if module.startswith(("olmo_core", "olmoe")):
        return OlmoCoreLM(model)
    if callable(getattr(model, "generate", None)):  # a test double or another adapter of the contract
        return model
    return NaiveGenerator(model)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from exc


def is_olmo_core_checkpoint(path: Path) -> bool:
    manifest = path / "manifest.json"
    if not manifest.exists():
        return False
    try:
        manifest_obj = json.loads(manifest.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # not JSON, not UTF-8
        return False
    return isinstance(manifest_obj, dict) and manifest_obj.get("format") == "olmo-core/checkpoint"


def _is_hf_folder(path: Path) -> bool:
    try:
        config = json.loads((path / "config.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "model_type" in config


def model_identity(path: str | Path, dtype: str = "float32") -> str:
    """What decides whether a finished result in an output folder may be reused for ``path``: its resolved
    location, a digest of its contents and the dtype it is scored in. The digest is the sha256 of an
    olmo-core checkpoint's manifest (which holds every file's sha256), else of each file's name, size and
    modification time: a folder retrained or replaced in place is scored again, never taken for the old one."""
    path = Path(path).resolve()
    h = hashlib.sha256()
    if is_olmo_core_checkpoint(path):
        h.update((path / "manifest.json").read_bytes())
    else:
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f.relative_to(path).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return f"{path} sha256:{h.hexdigest()[:16]} {dtype}"


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


def load_hf_model(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                  max_sequence_length: int | None = None) -> HFCausalLM:
    try:
        from transformers import AutoModelForCausalLM
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("loading a HF model folder needs the `hf` extra: pip install 'olmo-eval[hf]'") from e
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, local_files_only=True)
    return HFCausalLM(model.to(device).eval(), max_sequence_length)


def load_olmo_core_model(path: str | Path, device: str | torch.device = "cpu",
                         dtype: torch.dtype = torch.float32) -> OlmoCoreLM:
    try:
        from olmo_core.checkpoint.model_io import load_model_checkpoint
    except ImportError as e:
        raise ImportError("loading an olmo-core checkpoint needs the `olmo-core` extra: "
                          "pip install 'olmo-eval[olmo-core]'") from e
    return OlmoCoreLM(load_model_checkpoint(str(path), device=str(device)).eval()).to(dtype=dtype)


def load_model(path: str | Path, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               tokenizer: str | Path | None = None) -> tuple[Any, Tokenizer]:
    """``(model, tokenizer)`` for an olmo-core checkpoint folder or a HF model folder; the model both
    scores and generates."""
    path = Path(path)
    if is_olmo_core_checkpoint(path):
        model: Any = load_olmo_core_model(path, device, dtype)
    elif (path / "manifest.json").exists() and not _is_hf_folder(path):
        # olmo-core writes manifest.json, transformers never does: a damaged one is a damaged checkpoint
        raise ValueError(f"{path / 'manifest.json'}: not an olmo-core checkpoint manifest (unreadable JSON, or field "
                         "'format' is not 'olmo-core/checkpoint'): the checkpoint is damaged or unfinished")
    elif (path / "config.json").exists():
        model = load_hf_model(path, device, dtype)
    else:
        raise FileNotFoundError(f"{path}: neither an olmo-core checkpoint (manifest.json) nor a HF model folder "
                                "(config.json)")
    check_language_model(model)
    return model, tokenizer_for_model(path, tokenizer)
