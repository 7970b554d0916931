"""Reading a YAML config file over a typed schema (recipes, pipeline configs), so a damaged or
mistyped file is refused with its name and the line or field at fault, never a parser traceback."""

# No ``from __future__ import annotations``: kept like the config modules it serves.
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dolma_tools.interfaces import FormatError


def _yaml_mapping(path: Path) -> Any:
    import yaml

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"invalid UTF-8 at byte {e.start}", path=path, line=data[: e.start].count(b"\n") + 1) from None
    try:
        node = OmegaConf.create(text)  # OmegaConf's YAML loader: reads 1e-6 as a float, as OmegaConf.load does
    except yaml.YAMLError as e:
        mark, pos = getattr(e, "problem_mark", None), getattr(e, "position", None)  # a ReaderError has a position
        line = mark.line + 1 if mark is not None else text[:pos].count("\n") + 1 if isinstance(pos, int) else None
        raise FormatError(f"not YAML: {getattr(e, 'problem', None) or e}", path=path, line=line) from None
    if not isinstance(node, DictConfig) or not node:
        raise FormatError("expected a mapping of settings (the file is empty or holds a list)", path=path)
    return node


def load_config_file(schema: type, path: Path, overrides: list[str] | None = None) -> Any:
    """``schema``'s defaults, then the file, then ``key=value`` overrides; an object of ``schema``."""
    node = _yaml_mapping(path)
    base = OmegaConf.structured(schema)
    try:
        merged = OmegaConf.merge(base, node)
    except OmegaConfBaseException as e:
        raise FormatError(str(e).splitlines()[0], path=path, field=_bad_key(base, node, e)) from None
    try:
        merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(list(overrides or [])))
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as e:
        raise ValueError(f"{path} with overrides {overrides}: field {e.full_key!r}: {str(e).splitlines()[0]}") from None


def _bad_key(base: Any, node: Any, error: OmegaConfBaseException) -> str:
    """The dotted key OmegaConf blames, or else the first top-level key that fails to merge alone."""
    if getattr(error, "full_key", ""):
        return str(error.full_key)
    for key in node:
        try:
            OmegaConf.merge(base, {key: node[key]})
        except OmegaConfBaseException:
            return str(key)
    return "?"
