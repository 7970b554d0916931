"""Compose a run config from a preset and ``key=value`` overrides (hydra's override grammar)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from olmo_core.config.presets import PRESETS
from olmo_core.config.schema import RunConfig
from olmo_core.data.loader import DataConfig

T = TypeVar("T")


def compose_run_config(preset: str = "tiny", overrides: list[str] | None = None) -> DictConfig:
    from hydra import compose, initialize

    import olmo_core.config.presets  # noqa: F401
    from olmo_core.plugins import load_plugins

    load_plugins()  # installed extensions register their presets (model=olmoe_tiny) first
    if preset not in PRESETS:
        raise ValueError(f"--preset {preset!r}: unknown; known presets: {', '.join(PRESETS)}")
    with initialize(version_base=None, config_path=None):
        cfg = compose(config_name=preset, overrides=list(overrides or []))
    return cfg


def run_preset(preset: str = "tiny", overrides: list[str] | None = None) -> RunConfig:
    """The typed run config of a preset, with ``key=value`` overrides."""
    return to_objects(compose_run_config(preset, overrides))


def config_from_dict(schema: type[T], data: Mapping[str, Any] | DictConfig) -> T:
    """A typed ``schema`` instance from its plain-dict form (``dataclasses.asdict``, a ``config.json``),
    type-checked field by field; an unknown key is an error that names it."""
    base = OmegaConf.structured(schema)
    if "defaults" in base:
        base.defaults = []
    return OmegaConf.to_object(OmegaConf.merge(base, data))  # type: ignore[return-value]


def load_data_config(path: str | Path, overrides: list[str] | None = None) -> DataConfig:
    """Only the ``data`` section of a saved run config (what the data order depends on), so a run
    whose other sections predate a schema change can still be traced."""
    raw = _load_mapping(_config_file(path))
    if "data" not in raw:
        raise ValueError(f"{_config_file(path)}: field 'data' missing (no data section)")
    data = raw.data
    if overrides:
        data = OmegaConf.merge(data, OmegaConf.from_dotlist(list(overrides)).get("data", {}))
    return config_from_dict(DataConfig, data)


def _load_mapping(path: Path) -> DictConfig:
    """A saved config file (YAML or JSON) as an OmegaConf mapping; damage is refused naming the file and line."""
    import yaml

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: invalid UTF-8") from None
    try:
        node = OmegaConf.create(text)
    except yaml.YAMLError as e:
        mark, pos = getattr(e, "problem_mark", None), getattr(e, "position", None)  # a ReaderError has a position
        line = mark.line + 1 if mark is not None else text[:pos].count("\n") + 1 if isinstance(pos, int) else None
        where = f"line {line}: " if line is not None else ""
        raise ValueError(f"{path}: {where}not YAML or JSON ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(node, DictConfig):
        raise ValueError(f"{path}: expected a mapping of settings, got {type(node).__name__}")
    return node


def _config_file(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        for name in ("config.yaml", "config.json"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: no config.yaml or config.json in this folder")
    return path


def to_container(cfg: DictConfig) -> dict[str, Any]:
    out = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(out, dict)
    out.pop("defaults", None)
    return out  # type: ignore[return-value]


def to_objects(cfg: DictConfig) -> Any:
    """The config as typed dataclass instances (``RunConfig``)."""
    cfg = cfg.copy()
    if "defaults" in cfg:
        cfg.defaults = []
    return OmegaConf.to_object(cfg)
