"""The model config: one typed dataclass that describes every OLMo variant.

It is registered as a hydra structured config (group ``model``) so runs override fields from the
command line; :meth:`ModelConfig.to_dict` / :meth:`ModelConfig.from_dict` give the JSON form stored
in checkpoints (``config.json["model"]``)."""

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

NORMS = ("layernorm", "rmsnorm")
INITS = ("mitchell", "normal")

#: The class :meth:`ModelConfig.build` constructs, registered by :func:`register_model_class` in
#: ``olmo_core.model.transformer``. Python runs ``olmo_core/model/__init__.py`` (which imports the
#: transformer) before any of its submodules, so it is there whenever a config is, without this module
#: importing the model code that reads it (an import circle).
MODEL_CLASSES: dict[str, type] = {}


def register_model_class(name: str):  # type: ignore[no-untyped-def]
    def wrap(cls: type) -> type:
        MODEL_CLASSES[name] = cls
        return cls
    return wrap


class ConfigError(ValueError):
    """A config field has a bad value; the message names the field."""


@dataclass
class FeedForwardConfig:
    """The MLP slot of each block.

    ``target`` is a registered name only (``"swiglu"``, see :mod:`olmo_core.model.feed_forward`), never
    a module path: a checkpoint's ``config.json`` must not make olmo-core import anything. Plug-ins
    register theirs from an installed entry point (olmoe's MoE layer is ``"olmoe.moe:MoEFeedForward"``,
    a name that only looks like a path); the builder is called as ``build(d_model=D, **options)``."""

    target: str = "swiglu"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """A decoder-only OLMo transformer. Defaults are the OLMo-1 layout at a tiny size."""

    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    #: ``None`` means ``n_heads`` (multi-head attention); fewer gives grouped-query attention.
    n_kv_heads: int | None = None
    mlp_hidden_size: int = 384
    #: Tokens the tokenizer can produce; logits beyond it exist only because of padding.
    vocab_size: int = 50280
    #: Rows of the embedding/output matrix, padded to a multiple of 128 for fast matmuls.
    embedding_size: int = 50304
    max_sequence_length: int = 2048
    norm: str = "layernorm"
    norm_eps: float = 1e-5
    #: OLMo-1 uses LayerNorm without any learnable parameters.
    norm_affine: bool = False
    #: OLMo-2: normalize the full q and k projections (before RoPE).
    qk_norm: bool = False
    #: OLMo-2: norm on each sublayer's output before the residual add, instead of on its input.
    reordered_norm: bool = False
    rope_theta: float = 10_000.0
    clip_qkv: float | None = None
    weight_tying: bool = True
    eos_token_id: int = 50279
    pad_token_id: int = 1
    init: str = "mitchell"
    #: std of the "normal" init (OLMo-2: 0.02); the "mitchell" init derives its stds from sizes.
    init_std: float = 0.02
    feed_forward: FeedForwardConfig = field(default_factory=FeedForwardConfig)
    #: Attention stays inside documents even when the caller passes no ``doc_ids``: a document ends
    #: with ``eos_token_id`` and RoPE positions restart after it (OLMo-core's intra-document masking,
    #: which cuts at EOS too). Explicit ``doc_ids``/``position_ids`` (``data.document_masking``) win;
    #: calls with a KV cache pass their own. Keeps evaluation of a model trained so the same as its training.
    document_masking: bool = False

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    def validate(self) -> "ModelConfig":
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"model.{name}={getattr(self, name)!r}: {why}")

        for name in ("d_model", "n_layers", "n_heads", "mlp_hidden_size", "vocab_size", "embedding_size",
                     "max_sequence_length"):
            if int(getattr(self, name)) <= 0:
                raise bad(name, "must be positive")
        if self.d_model % self.n_heads:
            raise bad("d_model", f"must be divisible by n_heads={self.n_heads}")
        if self.kv_heads <= 0 or self.n_heads % self.kv_heads:
            raise bad("n_kv_heads", f"must divide n_heads={self.n_heads}")
        if self.head_dim % 2:
            raise bad("d_model", "head dimension must be even for rotary embeddings")
        if self.embedding_size < self.vocab_size:
            raise bad("embedding_size", f"must be >= vocab_size={self.vocab_size}")
        if self.norm not in NORMS:
            raise bad("norm", f"must be one of {NORMS}")
        if self.init not in INITS:
            raise bad("init", f"must be one of {INITS}")
        if self.norm_eps <= 0:
            raise bad("norm_eps", "must be positive")
        if self.clip_qkv is not None and self.clip_qkv <= 0:
            raise bad("clip_qkv", "must be positive or null")
        if not (0 <= self.eos_token_id < self.embedding_size):
            raise bad("eos_token_id", "outside the embedding")
        if not isinstance(self.feed_forward.target, str) or not self.feed_forward.target:
            raise ConfigError(f"model.feed_forward.target={self.feed_forward.target!r}: must be the name "
                              "of a registered feed-forward")
        return self

    def build(self, *, init_device: Any = None) -> Any:
        """The OLMo model of this config. ``init_device``: where to build it (default: torch's
        current default device); ``"meta"`` allocates nothing, for ``to_empty`` + ``init_weights``."""
        import torch

        with torch.device(init_device) if init_device is not None else contextlib.nullcontext():
            return MODEL_CLASSES["olmo"](self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "ModelConfig":
        """Build from a plain dict (or an OmegaConf node); unknown fields are refused by name."""
        if not isinstance(d, dict):
            try:
                from omegaconf import OmegaConf

                d = OmegaConf.to_container(d, resolve=True)
            except Exception as e:  # noqa: BLE001 - anything not dict-like is a config error
                raise ConfigError(f"model config must be a mapping, got {type(d).__name__}") from e
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"model config: unknown field(s) {unknown}; known: {sorted(known)}")
        ff = d.pop("feed_forward", None)
        if ff is None:
            ff_cfg = FeedForwardConfig()
        elif isinstance(ff, FeedForwardConfig):
            ff_cfg = ff
        else:
            ff = dict(ff)
            ff_unknown = sorted(set(ff) - {"target", "options"})
            if ff_unknown:
                raise ConfigError(f"model.feed_forward: unknown field(s) {ff_unknown}")
            ff_cfg = FeedForwardConfig(target=ff.get("target", "swiglu"), options=dict(ff.get("options") or {}))
        return cls(**d, feed_forward=ff_cfg).validate()

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)
