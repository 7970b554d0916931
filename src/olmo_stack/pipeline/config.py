"""Typed config of the whole pipeline, registered as hydra structured configs with two presets:
``demo`` (the README's main job, at most 15 minutes on a 2-core CPU) and ``smoke`` (the same path,
smaller, for CI). ``--moe`` swaps the dense model for an OLMoE-style one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf


@dataclass
class DataConfig:
    """``corpus``: ``builtin`` (the sample shipped in olmo_stack/data/corpus) or folders/globs of Dolma
    documents. ``dolma_config``: a dolma-tools pipeline config (``builtin:NAME`` for one in
    olmo_stack/configs, the name of one dolma-tools ships, or a path), run
    with ``dolma_overrides``. ``heldout_every``: one document in N per source, chosen by a hash of its
    id, is kept out of training for perplexity. ``decontaminate``: eval suites whose paragraphs
    training documents must not contain."""

    corpus: list[str] = field(default_factory=lambda: ["builtin"])
    dolma_config: str = "builtin:demo_data"
    dolma_overrides: list[str] = field(default_factory=list)
    processes: int = 2
    #: ``local`` process pool, or ``ray`` for tagging and mixing on a Ray cluster (``ray_address``:
    #: e.g. ``auto`` inside a cluster started with ``ray start``; null starts a local instance)
    executor: str = "local"
    ray_address: str | None = None
    heldout_every: int = 10
    decontaminate: str = "core9"
    max_tokens_per_file: int = 50_000_000


@dataclass
class PretrainConfig:
    """An olmo-core run preset with overrides; ``model`` names a model preset (``tiny`` or, with
    ``--moe``, ``olmoe_tiny``)."""

    run_preset: str = "tiny"
    model: str = "tiny"
    max_steps: int = 250
    seq_len: int = 256
    global_batch_size: int = 8
    micro_batch_size: int = 8
    lr: float = 3e-3
    warmup_steps: int = 12
    checkpoint_every: int = 50
    eval_every: int = 50
    inloop_tasks: str = "arc_easy,piqa"
    inloop_limit: int = 40
    overrides: list[str] = field(default_factory=list)


@dataclass
class EvalConfig:
    tasks: str = "core9"
    limit: int = 60
    num_shots: int | None = None
    max_docs_per_subdomain: int | None = 20


@dataclass
class AdaptConfig:
    """SFT then DPO with open-instruct's tiny presets; counts of examples/pairs from the built-in sets."""

    sft_preset: str = "tiny_sft"
    sft_examples: int = 4000
    dpo_preset: str = "tiny_dpo"
    dpo_pairs: int = 10000
    dpo_holdout: int = 2000
    max_length: int = 256
    sft_overrides: list[str] = field(default_factory=list)
    dpo_overrides: list[str] = field(default_factory=list)


@dataclass
class StackConfig:
    name: str = "demo"
    out: str = "runs/demo"
    moe: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)


def _smoke() -> StackConfig:
    return StackConfig(
        name="smoke", out="runs/smoke",
        pretrain=PretrainConfig(max_steps=40, seq_len=128, global_batch_size=8, micro_batch_size=8,
                                checkpoint_every=20, eval_every=20, inloop_tasks="arc_easy", inloop_limit=10),
        eval=EvalConfig(tasks="arc_easy,copa", limit=20, max_docs_per_subdomain=3),
        adapt=AdaptConfig(sft_examples=200, dpo_pairs=160, dpo_holdout=40, max_length=128))


PRESETS = {"demo": StackConfig, "smoke": _smoke}


def register_configs() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for name, make in PRESETS.items():
        cs.store(name=f"olmo_stack_{name}", node=make())


def load_stack_config(preset_or_path: str = "demo", overrides: list[str] | None = None,
                      *, moe: bool = False) -> StackConfig:
    """A preset name (``demo``, ``smoke``) or a YAML file, merged over the typed schema, then
    ``key=value`` overrides. Unknown keys are errors that name the key."""
    if preset_or_path in PRESETS:
        base = OmegaConf.structured(PRESETS[preset_or_path]())
    else:
        path = Path(preset_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"config {preset_or_path!r}: neither a preset ({', '.join(PRESETS)}) nor a file")
        base = OmegaConf.merge(OmegaConf.structured(StackConfig()), OmegaConf.load(path))
    if overrides:
        base = OmegaConf.merge(base, OmegaConf.from_dotlist(list(overrides)))
    cfg: Any = OmegaConf.to_object(base)
    if moe:
        cfg.moe = True
    if cfg.moe and cfg.pretrain.model == "tiny":
        cfg.pretrain.model = "olmoe_tiny"
    return cfg
