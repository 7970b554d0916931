"""Compose a run config from a preset and ``key=value`` overrides (hydra's override grammar)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from olmo_core.config.presets import PRESETS


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


def load_run_config(path: str | Path, overrides: list[str] | None = None) -> DictConfig:
    """A run config saved as JSON/YAML (``config.json`` of a checkpoint, or ``<run_dir>/config.yaml``),
    with overrides applied as dotted keys."""
    from olmo_core.config.schema import RunConfig

    path = Path(path)
    if path.is_dir():
        for name in ("config.yaml", "config.json"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise FileNotFoundError(f"{path}: no config.yaml or config.json in this folder")
    raw = OmegaConf.load(path)
    base = OmegaConf.structured(RunConfig)
    base.defaults = []
    cfg = OmegaConf.merge(base, raw)
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    return cfg  # type: ignore[return-value]


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
