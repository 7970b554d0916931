"""Typed configs for tagging and mixing, registered as hydra structured configs.

A recipe is a YAML file with a ``tag`` list (tagger sets to compute) and a ``mix`` section; it is
merged over :class:`RecipeConfig`'s defaults, then command-line ``key=value`` overrides on top.
"""

# No ``from __future__ import annotations``: OmegaConf reads these annotations at run time.
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional  # noqa: UP035

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf


@dataclass
class TagSetConfig:
    """One tagger set: its name (the ``<set>`` in ``<set>__<tagger>__<attribute>``) and taggers
    written as ``name`` or ``name:key=value,...``."""

    experiment: str = "tags"
    taggers: list[str] = field(default_factory=lambda: ["char_length_v1"])


@dataclass
class SpanReplacementConfig:
    """Replace every span of ``attribute`` with score >= ``min_score`` by ``replacement``
    (empty string: remove it)."""

    attribute: str = "pii_regex_v1__EMAIL_ADDRESS"
    replacement: str = ""
    min_score: float = 0.5
    name: str = ""


@dataclass
class MixConfig:
    """Which documents to keep, what to replace in them, how to sample and where to write.

    ``include``: rule name -> expression that must hold; ``exclude``: rule name -> expression that
    drops the document when it holds (see :mod:`dolma_tools.mixer.expressions`). ``sample``:
    source -> rate (0.3 keeps 30% of that source, 2.5 writes each document 2 or 3 times), decided
    by a hash of (seed, id) so runs are reproducible. Shards hold at most ``max_size_bytes`` of
    JSON lines before compression."""

    documents: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    attributes_root: Optional[str] = None  # noqa: UP045
    destination: str = "mixed"
    include: dict[str, str] = field(default_factory=dict)
    exclude: dict[str, str] = field(default_factory=dict)
    span_replacement: list[SpanReplacementConfig] = field(default_factory=list)
    drop_empty: bool = True
    sample: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    max_size_bytes: int = 256 * 2**20
    suffix: str = ".jsonl.zst"


@dataclass
class RecipeConfig:
    name: str = "custom"
    tag: list[TagSetConfig] = field(default_factory=list)
    mix: MixConfig = field(default_factory=MixConfig)
    executor: str = "local"
    processes: Optional[int] = None  # noqa: UP045
    on_error: str = "raise"


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="dolma_tools_recipe", node=RecipeConfig)
    cs.store(group="mix", name="default", node=MixConfig)
    cs.store(group="tag", name="default", node=TagSetConfig)


register_configs()

RECIPES_PACKAGE = "dolma_tools.recipes"


def shipped_recipes() -> dict[str, Path]:
    """Recipes shipped in the package: name -> path."""
    root = resources.files(RECIPES_PACKAGE)
    return {p.name[: -len(".yaml")]: Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml")}


def load_recipe(recipe: str, overrides: list[str] | None = None) -> RecipeConfig:
    """A shipped recipe by name, or a YAML path, merged over the defaults, then ``key=value``
    overrides (OmegaConf dotlist, e.g. ``mix.destination=out processes=4``)."""
    known = shipped_recipes()
    path = known.get(recipe, Path(recipe))
    if not path.is_file():
        raise FileNotFoundError(f"recipe {recipe!r} is neither a shipped recipe ({', '.join(sorted(known))}) "
                                "nor a file")
    from dolma_tools.configfile import load_config_file
    from dolma_tools.interfaces import FormatError
    from dolma_tools.mixer.expressions import Expression, ExpressionError

    recipe_config: RecipeConfig = load_config_file(RecipeConfig, path, overrides)
    for kind in ("include", "exclude"):  # a broken rule names the recipe file, not only the rule
        for name, expr in getattr(recipe_config.mix, kind).items():
            try:
                Expression(expr, name)
            except ExpressionError as e:
                raise FormatError(str(e), path=path, field=f"mix.{kind}.{name}") from None
    return recipe_config


def mix_config_from_dict(obj: dict[str, Any]) -> MixConfig:
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(MixConfig), obj))  # type: ignore[return-value]
