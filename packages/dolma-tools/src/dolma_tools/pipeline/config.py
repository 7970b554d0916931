"""The pipeline's typed config (a hydra structured config) and its loader.

A pipeline config is a YAML file merged over :class:`PipelineConfig`'s defaults, then ``key=value``
overrides on top (OmegaConf dotlist), e.g. ``processes=4 tokens.shuffle_seed=3``. The shipped
``corpus`` config runs on ``../shared/data/corpus``."""

# No ``from __future__ import annotations``: OmegaConf reads these annotations at run time.
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional  # noqa: UP035

from dolma_tools.decont.config import DecontConfig
from dolma_tools.dedupe.config import BloomDedupeConfig, MinHashConfig
from dolma_tools.mixer.config import SpanReplacementConfig, TagSetConfig

CONFIGS_PACKAGE = "dolma_tools.configs"


@dataclass
class FilterStage:
    """The first mix: keep/drop documents by the tag attributes, replace spans (PII)."""

    include: dict[str, str] = field(default_factory=dict)
    exclude: dict[str, str] = field(default_factory=dict)
    span_replacement: list[SpanReplacementConfig] = field(default_factory=list)


@dataclass
class DedupeStage:
    """Paragraph dedup with a Bloom filter (and MinHash near-duplicate documents), then a second mix
    that removes the duplicate paragraphs and drops the documents MinHash marked."""

    bloom: BloomDedupeConfig = field(default_factory=BloomDedupeConfig)
    minhash_enabled: bool = True
    minhash: MinHashConfig = field(default_factory=MinHashConfig)


@dataclass
class DecontaminateStage:
    """Drop the documents holding a paragraph of the eval documents (none given: the step is skipped)."""

    eval_documents: list[str] = field(default_factory=list)
    config: DecontConfig = field(default_factory=DecontConfig)


@dataclass
class TokensStage:
    tokenizer: Optional[str] = None  # noqa: UP045  (None: the shipped OLMo tokenizer)
    max_tokens_per_file: int = 2**28
    shuffle_seed: Optional[int] = None  # noqa: UP045
    batch_size: int = 256


@dataclass
class PipelineConfig:
    name: str = "pipeline"
    documents: list[str] = field(default_factory=lambda: ["../shared/data/corpus"])
    work_dir: str = "out/pipeline"
    processes: int = 2
    #: ``local`` (a process pool) or ``ray`` (tag and mix run as Ray tasks; ``ray_address`` of a
    #: running cluster, or null to start a local instance)
    executor: str = "local"
    ray_address: Optional[str] = None  # noqa: UP045
    tag: list[TagSetConfig] = field(default_factory=list)
    filter: FilterStage = field(default_factory=FilterStage)
    dedupe: DedupeStage = field(default_factory=DedupeStage)
    decontaminate: DecontaminateStage = field(default_factory=DecontaminateStage)
    tokens: TokensStage = field(default_factory=TokensStage)
    progress: bool = True


def register_configs() -> None:
    from hydra.core.config_store import ConfigStore

    from dolma_tools.dedupe.config import register_configs as register_dedupe

    register_dedupe()
    ConfigStore.instance().store(name="dolma_tools_pipeline", node=PipelineConfig)


def shipped_configs() -> dict[str, Path]:
    root = resources.files(CONFIGS_PACKAGE)
    return {p.name[: -len(".yaml")]: Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml")}


def load_pipeline_config(config: str | None = None, overrides: list[str] | None = None) -> PipelineConfig:
    """A shipped config by name (default ``corpus``) or a YAML path, then ``key=value`` overrides."""
    register_configs()
    known = shipped_configs()
    config = config or "corpus"
    path = known.get(config, Path(config))
    if not path.is_file():
        raise FileNotFoundError(f"pipeline config {config!r} is neither shipped ({', '.join(sorted(known))}) "
                                "nor a file")
    from dolma_tools.configfile import load_config_file

    return load_config_file(PipelineConfig, path, overrides)
