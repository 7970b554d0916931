"""Resumable pipeline stages with manifests: the lineage backbone of ``olmo-stack run``.

Each stage owns a folder ``<run>/<stage>/``. It is *finished* when ``manifest.json`` is there and its
fingerprint matches the stage's current one: a hash of the stage name, its resolved config, the
fingerprints of the stages it reads and the content hashes of the raw files it reads. A re-run skips
finished stages and redoes those whose inputs or config changed (and, through the fingerprints, every
stage downstream of them). A stage killed midway has no manifest, so it runs again; stages that can
continue internally (training from its last checkpoint, tokenization from finished shards) do so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from olmo_core.faults import fault_point
from olmo_core.fileio import write_atomic

STAGE_MANIFEST = "manifest.json"
STAGE_FORMAT = "olmo-stack/stage"
PACKAGES = ("olmo-stack", "dolma-tools", "olmo-core", "olmoe", "olmo-eval", "open-instruct")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_files(paths: Sequence[Path]) -> dict[str, str]:
    """Content hashes of raw input files (folders expanded, sorted) keyed by path."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return {str(f): sha256_file(f) for f in files}


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def config_record(config: Any) -> Any:
    """What the fingerprint and the manifest hold of a stage's config: a typed config as plain data."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return config


@dataclass
class StageContext:
    """What a stage's function receives: its folder, its config (typed, as the stack built it; a
    stage that changes it works on a copy), and the manifests it reads."""

    name: str
    dir: Path
    config: Any
    upstream: dict[str, dict[str, Any]]

    def output_of(self, stage: str, key: str) -> Path:
        return Path(self.upstream[stage]["outputs"][key])


@dataclass
class Stage:
    name: str
    run: Callable[[StageContext], Mapping[str, Any]]
    #: a typed config (a dataclass, recorded through :func:`config_record`) or a plain mapping
    config: Any = field(default_factory=dict)
    after: tuple[str, ...] = ()
    raw_inputs: tuple[Path, ...] = ()


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    path = stage_dir / STAGE_MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError:  # not JSON or not UTF-8: a damaged manifest marks an unfinished stage
        return None
    return data if isinstance(data, dict) and data.get("format") == STAGE_FORMAT else None


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str))


class Pipeline:
    """Runs stages in order; ``log`` receives one line per decision (skip, run, done)."""

    def __init__(self, run_dir: Path, stages: Sequence[Stage], log: Callable[[str], None] = print,
                 meter: Any = None) -> None:
        self.run_dir = Path(run_dir)
        self.stages = list(stages)
        self.log = log
        #: energy meter (:class:`olmo_stack.energy.EnergyMeter`): ``start()`` before each stage runs,
        #: ``stop(stage, metrics)`` after, its record goes in the manifest as ``energy``; None: none kept
        self.meter = meter
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        for s in self.stages:
            missing = [a for a in s.after if a not in names[: names.index(s.name)]]
            if missing:
                raise ValueError(f"stage {s.name!r} reads {missing}, which do not run before it")

    def fingerprint(self, stage: Stage, upstream: Mapping[str, dict[str, Any]],
                    raw_hashes: Mapping[str, str]) -> str:
        payload = {"stage": stage.name, "config": config_record(stage.config), "raw": dict(raw_hashes),
                   "upstream": {k: v["fingerprint"] for k, v in sorted(upstream.items())}}
        return hashlib.sha256(_canonical(payload).encode()).hexdigest()

    def run(self, only: Sequence[str] | None = None, until: str | None = None) -> dict[str, dict[str, Any]]:
        """Run every stage in order (``until``: stop after that one)."""
        if until is not None and until not in [s.name for s in self.stages]:
            raise ValueError(f"until={until!r}: no such stage ({', '.join(s.name for s in self.stages)})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        manifests: dict[str, dict[str, Any]] = {}
        for stage in self.stages:
            if until is not None and manifests.get(until) is not None:
                break
            upstream = {a: manifests[a] for a in stage.after}
            raw_hashes = hash_files(list(stage.raw_inputs))
            fp = self.fingerprint(stage, upstream, raw_hashes)
            stage_dir = self.run_dir / stage.name
            existing = read_manifest(stage_dir)
            if existing is not None and existing["fingerprint"] == fp:
                self.log(f"[skip] {stage.name}: inputs and config unchanged")
                manifests[stage.name] = existing
                continue
            if only is not None and stage.name not in only:
                raise RuntimeError(f"stage {stage.name!r} is not finished and was not asked to run")
            if existing is not None:
                self.log(f"[redo] {stage.name}: inputs or config changed")
                (stage_dir / STAGE_MANIFEST).unlink()
            else:
                self.log(f"[run] {stage.name}")
            stage_dir.mkdir(parents=True, exist_ok=True)
            started = time.time()
            probe = self.meter.start() if self.meter is not None else None
            result = dict(stage.run(StageContext(stage.name, stage_dir, stage.config, upstream)))
            manifest = {
                "format": STAGE_FORMAT, "version": 1, "stage": stage.name, "fingerprint": fp,
                "config": config_record(stage.config),
                "inputs": {"stages": {a: {"fingerprint": m["fingerprint"], "dir": str(self.run_dir / a)}
                                      for a, m in upstream.items()},
                           "raw_files": raw_hashes},
                "outputs": {k: str(v) for k, v in result.get("outputs", {}).items()},
                "metrics": result.get("metrics", {}),
                "versions": package_versions(), "command": [sys.executable, *sys.argv],
                "started": started, "seconds": round(time.time() - started, 3),
            }
            if probe is not None:
                manifest["energy"] = probe.stop(stage.name, manifest["metrics"])
            fault_point("stage.before_manifest")  # chaos tests: the work done, the stage not yet finished
            write_json_atomic(stage_dir / STAGE_MANIFEST, manifest)
            self.log(f"[done] {stage.name} in {manifest['seconds']:.1f}s")
            manifests[stage.name] = manifest
        return manifests


def find_stage_dir(path: Path) -> Path:
    """The stage folder that produced ``path`` (the nearest parent holding a stage manifest)."""
    path = Path(path).resolve()
    for candidate in [path, *path.parents]:
        if read_manifest(candidate) is not None:
            return candidate
        if (candidate / STAGE_MANIFEST).is_file():  # there, but damaged: say so rather than look further up
            raise ValueError(f"{candidate / STAGE_MANIFEST}: not a stage manifest (not UTF-8 JSON, or field "
                             f"'format' is not {STAGE_FORMAT!r})")
    raise FileNotFoundError(f"{path} was not produced by an olmo-stack stage (no {STAGE_MANIFEST} above it)")


def lineage(path: Path) -> list[dict[str, Any]]:
    """The chain of stage manifests from the one that produced ``path`` back to raw files, depth first."""
    seen: set[str] = set()
    chain: list[dict[str, Any]] = []

    def visit(stage_dir: Path, depth: int) -> None:
        manifest = read_manifest(stage_dir)
        if manifest is None:
            raise FileNotFoundError(f"{stage_dir / STAGE_MANIFEST}: missing, or not a stage manifest (not UTF-8 "
                                    f"JSON, or field 'format' is not {STAGE_FORMAT!r}); stage unfinished or damaged")
        key = str(stage_dir.resolve())
        if key in seen:
            return
        seen.add(key)
        _check_lineage_fields(stage_dir / STAGE_MANIFEST, manifest)
        chain.append({"depth": depth, "dir": key, **manifest})
        for up in manifest["inputs"]["stages"].values():
            visit(Path(up["dir"]), depth + 1)

    visit(find_stage_dir(path), 0)
    return chain


def _check_lineage_fields(path: Path, manifest: dict[str, Any]) -> None:
    """The fields :func:`lineage` and :func:`format_lineage` read, with their types: a damaged
    manifest is refused naming the file and the field, not with a KeyError."""
    def bad(field: str, what: str) -> ValueError:
        return ValueError(f"{path}: field {field!r} {what}")

    for key, kind in (("stage", str), ("fingerprint", str), ("outputs", dict), ("inputs", dict)):
        if not isinstance(manifest.get(key), kind):
            raise bad(key, f"is {manifest.get(key)!r}, not a {kind.__name__}")
    stages, raw = manifest["inputs"].get("stages"), manifest["inputs"].get("raw_files")
    if not isinstance(stages, dict) or not all(isinstance(u, dict) and isinstance(u.get("dir"), str)
                                               for u in stages.values()):
        raise bad("inputs.stages", "must map stage names to {fingerprint, dir}")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise bad("inputs.raw_files", "must map paths to SHA-256 strings")


def format_lineage(chain: list[dict[str, Any]]) -> str:
    """:func:`lineage`'s chain as indented text: each stage, its outputs and the raw files it read."""
    lines = []
    for c in chain:
        pad = "  " * c["depth"]
        lines.append(f"{pad}{c['stage']}  ({c['dir']}, fingerprint {c['fingerprint'][:12]})")
        for k, v in c["outputs"].items():
            lines.append(f"{pad}  output {k}: {v}")
        for path in sorted(c["inputs"]["raw_files"]):
            lines.append(f"{pad}  raw input: {path} sha256 {c['inputs']['raw_files'][path][:12]}")
    return "\n".join(lines)
