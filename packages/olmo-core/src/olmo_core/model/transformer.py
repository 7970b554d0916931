"""The OLMo decoder-only transformer. Math only: FSDP, mixed precision, activation checkpointing and
compilation are applied from outside, block by block (``model.blocks`` is the unit they wrap)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from olmo_core.interfaces import HasAuxiliaryLosses
from olmo_core.model.attention import Attention, attention_mask, documents_from_eos
from olmo_core.model.config import ModelConfig, register_model_class
from olmo_core.model.feed_forward import build_feed_forward
from olmo_core.model.flops import flops_per_token
from olmo_core.model.init import INIT_SCHEMES
from olmo_core.model.kv_cache import KVCache
from olmo_core.model.norms import build_norm


class TransformerBlock(nn.Module):
    """Pre-norm (OLMo-1: ``x + f(norm(x))``) or reordered norm (OLMo-2: ``x + norm(f(x))``)."""

    def __init__(self, config: ModelConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.reordered_norm = config.reordered_norm
        self.attention = Attention(config, layer_idx)
        self.attention_norm = build_norm(config.norm, config.d_model, eps=config.norm_eps, affine=config.norm_affine)
        self.feed_forward = build_feed_forward(config)
        self.feed_forward_norm = build_norm(config.norm, config.d_model, eps=config.norm_eps,
                                            affine=config.norm_affine)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor, *, mask: torch.Tensor | None = None,
                is_causal: bool = True, kv_cache: KVCache | None = None) -> torch.Tensor:
        if self.reordered_norm:
            x = x + self.attention_norm(self.attention(x, position_ids, mask=mask, is_causal=is_causal,
                                                       kv_cache=kv_cache))
            return x + self.feed_forward_norm(self.feed_forward(x))
        x = x + self.attention(self.attention_norm(x), position_ids, mask=mask, is_causal=is_causal,
                               kv_cache=kv_cache)
        return x + self.feed_forward(self.feed_forward_norm(x))


@register_model_class("olmo")
class OLMo(nn.Module):
    """``ModelConfig(...).build()`` (or ``OLMo(config)``); ``forward(input_ids [B, T]) -> logits [B, T, embedding_size]``.

    Meets olmo-eval's ``LanguageModel`` protocol structurally (``vocab_size``,
    ``max_sequence_length``, ``eos_token_id``). Built on a real device it is initialized at once;
    built under ``torch.device("meta")`` it allocates nothing: call ``to_empty(device=...)`` and then
    :meth:`init_weights`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.vocab_size = config.vocab_size
        self.embedding_size = config.embedding_size
        self.max_sequence_length = config.max_sequence_length
        self.eos_token_id = config.eos_token_id
        self.pad_token_id = config.pad_token_id
        # An explicit empty weight skips nn.Embedding's default normal_ init: init_weights replaces
        # it anyway, and on the meta device that call alone pulls in torch._dynamo (seconds).
        self.embeddings = nn.Embedding(config.embedding_size, config.d_model,
                                       _weight=torch.empty(config.embedding_size, config.d_model))
        self.blocks = nn.ModuleList([TransformerBlock(config, i) for i in range(config.n_layers)])
        self.norm = build_norm(config.norm, config.d_model, eps=config.norm_eps, affine=config.norm_affine)
        self.lm_head = nn.Linear(config.d_model, config.embedding_size, bias=False)
        self.tie_weights()
        if not self.embeddings.weight.is_meta:
            self.init_weights()

    # -- structure ---------------------------------------------------------------------------------

    def tie_weights(self) -> None:
        """Share the embedding matrix with the output head (again: ``to_empty`` unties them)."""
        if self.config.weight_tying:
            self.lm_head.weight = self.embeddings.weight

    def to_empty(self, *, device: torch.device | str | int | None, recurse: bool = True) -> OLMo:
        """As ``nn.Module.to_empty``, keeping the embedding and head tied (the base version gives
        each module its own new tensor)."""
        super().to_empty(device=device, recurse=recurse)
        self.tie_weights()
        return self

    def init_weights(self, seed: int | torch.Generator | None = None) -> None:
        """Initialize in place with the config's scheme (``mitchell`` or ``normal``, see
        :mod:`olmo_core.model.init`). ``seed`` gives a reproducible init; ``None`` uses torch's global
        RNG (what sharded DTensor parameters need)."""
        self.tie_weights()
        if self.embeddings.weight.is_meta:
            raise RuntimeError("init_weights on the meta device: call model.to_empty(device=...) first")
        generator = seed if isinstance(seed, torch.Generator) or seed is None else \
            torch.Generator(device=self.embeddings.weight.device).manual_seed(int(seed))
        INIT_SCHEMES[self.config.init](self, generator)

    # -- forward -----------------------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, *, doc_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, kv_cache: KVCache | None = None,
                logits_to_keep: int = 0,
                head_fn: Callable[[torch.Tensor, torch.Tensor], Any] | None = None) -> torch.Tensor:
        """``doc_ids [B, T]``: a token attends only to earlier tokens with the same id (packed
        documents); with ``config.document_masking`` and no ``doc_ids`` (nor cache) they come from the
        EOS tokens, positions restarting in each document. ``position_ids [B, T]`` default to
        ``0..T-1`` (after the cache's length).
        ``kv_cache``: keys/values of earlier calls; this call appends to it. ``logits_to_keep > 0``:
        the head runs on the last that many positions only (generation's prefill needs one; the
        full ``[B, T, V]`` head would cost more than the rest of the model). ``head_fn``: replaces
        the output head: ``head_fn(h, lm_head.weight)`` is returned, ``h [B, T, D]`` being the
        final-normed hidden states; a loss fuses the projection with itself this way, inside
        ``forward`` so that FSDP/DDP wrappers see the head weight used."""
        h = self._trunk(input_ids, doc_ids=doc_ids, position_ids=position_ids, kv_cache=kv_cache)
        if logits_to_keep > 0:
            h = h[:, -logits_to_keep:]
        h = self.norm(h)
        out = self.lm_head(h) if head_fn is None else head_fn(h, self.lm_head.weight)
        if kv_cache is not None:
            kv_cache.advance(input_ids.size(1))
        return out

    def hidden_states(self, input_ids: torch.Tensor, *, doc_ids: torch.Tensor | None = None,
                      position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Final-normed hidden states ``[B, T, D]``: ``logits_from_hidden`` of them is ``forward``'s
        logits. olmo-eval's scorer uses the pair to project only the positions it scores."""
        return self.norm(self._trunk(input_ids, doc_ids=doc_ids, position_ids=position_ids))

    def logits_from_hidden(self, h: torch.Tensor) -> torch.Tensor:
        """Logits ``[..., embedding_size]`` of hidden states from :meth:`hidden_states`."""
        return self.lm_head(h)

    def _trunk(self, input_ids: torch.Tensor, *, doc_ids: torch.Tensor | None, position_ids: torch.Tensor | None,
               kv_cache: KVCache | None = None) -> torch.Tensor:
        """Embeddings and blocks: hidden states before the final norm."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, seq], got shape {tuple(input_ids.shape)}")
        b, t = input_ids.shape
        if doc_ids is not None and doc_ids.shape != input_ids.shape:
            raise ValueError(f"doc_ids shape {tuple(doc_ids.shape)} != input_ids shape {tuple(input_ids.shape)}")
        past = 0
        key_doc_ids = None
        if kv_cache is not None:
            kv_cache.check_room(t)
            past = kv_cache.length
            key_doc_ids = kv_cache.record_doc_ids(doc_ids)
        device = input_ids.device
        if self.config.document_masking and doc_ids is None and kv_cache is None:
            doc_ids, eos_positions = documents_from_eos(input_ids, self.config.eos_token_id)
            position_ids = eos_positions if position_ids is None else position_ids
        if position_ids is None:
            position_ids = torch.arange(past, past + t, device=device)
        mask, is_causal = attention_mask(t, past, doc_ids=doc_ids, key_doc_ids=key_doc_ids, device=device)
        h = self.embeddings(input_ids)
        for block in self.blocks:
            h = block(h, position_ids, mask=mask, is_causal=is_causal, kv_cache=kv_cache)
        return h

    # -- auxiliary losses of pluggable feed-forwards -----------------------------------------------

    def _feed_forwards(self) -> list[nn.Module]:
        return [block.feed_forward for block in self.blocks]

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]:
        """Sum of every block's feed-forward auxiliary losses (already weighted) since the last call,
        by name; to be added to the training loss. Empty for a dense model."""
        out: dict[str, torch.Tensor] = {}
        for ff in self._feed_forwards():
            if isinstance(ff, HasAuxiliaryLosses):
                for name, value in ff.pop_auxiliary_losses().items():
                    out[name] = out[name] + value if name in out else value
        return out

    def pop_metrics(self) -> dict[str, torch.Tensor]:
        """Detached per-layer metrics of the feed-forwards, keyed ``layer{i}/{name}``."""
        out: dict[str, torch.Tensor] = {}
        for i, ff in enumerate(self._feed_forwards()):
            if isinstance(ff, HasAuxiliaryLosses):
                for name, value in ff.pop_metrics().items():
                    out[f"layer{i}/{name}"] = value
        return out

    # -- size and cost -----------------------------------------------------------------------------

    def num_params(self, active_only: bool = False) -> int:
        """Parameters, each shared tensor once. ``active_only``: a sparse feed-forward that defines
        ``num_active_params()`` counts only what one token uses."""
        seen: set[int] = set()
        total = 0
        for p in self.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        if active_only:
            for ff in self._feed_forwards():
                if hasattr(ff, "num_active_params"):
                    total += int(ff.num_active_params()) - sum(p.numel() for p in ff.parameters())
        return total

    def num_matmul_params(self) -> int:
        """Active parameters used in a matmul per token: all but the input embedding lookup (a tied
        matrix counts once, as the output head)."""
        n = self.num_params(active_only=True)
        return n if self.config.weight_tying else n - self.embeddings.weight.numel()

    def flops_per_token(self, seq_len: int | None = None) -> int:
        """Training FLOPs per token at ``seq_len`` (default: max_sequence_length); see
        :mod:`olmo_core.model.flops`."""
        seq_len = self.max_sequence_length if seq_len is None else seq_len
        return flops_per_token(self.num_matmul_params(), self.config.n_layers, self.config.d_model, seq_len)
