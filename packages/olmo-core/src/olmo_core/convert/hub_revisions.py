"""Intermediate checkpoints as revisions of one Hugging Face repo in a local hub cache, the way OLMo
publishes its training checkpoints (``revision="step1000-tokens4B"``).

The layout is huggingface_hub's own cache, so with ``HF_HOME`` at the folder above ``hub/`` and
``HF_HUB_OFFLINE=1``, ``AutoModelForCausalLM.from_pretrained(repo_id, revision=name)`` resolves a
revision with no network and no code of ours::

    hub/models--ORG--NAME/blobs/<sha256 or git blob sha1>       the file contents, shared by revisions
    hub/models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<hash>
    hub/models--ORG--NAME/refs/<revision>                        the commit hash (``main``: the latest)

A revision is written blobs first, then its snapshot folder (under a temporary name, renamed whole),
then its ref last: a kill at any point leaves either no ref or a complete revision, and only refs are
listed. Each snapshot holds the HF export of the checkpoint (:func:`olmo_core.convert.to_hf`, so any
architecture in the converter registry, olmoe's MoE included), a model card (``README.md``) and the
same facts machine-readable in ``olmo_revision.json``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.faults import fault_point
from olmo_core.fileio import atomic_path, sweep_stale_temporaries, write_atomic

REVISION_FILE = "olmo_revision.json"
#: files huggingface_hub stores as LFS objects (blob named by SHA-256); the rest are git blobs (SHA-1)
_LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_UNITS = ((10**9, "B"), (10**6, "M"), (10**3, "k"))


def tokens_label(tokens: int) -> str:
    """OLMo's token count in a revision name: rounded to the nearest whole unit, billions the largest
    unit (OLMo-7B's ``step452000-tokens2000B``, OLMo-1B's ``step20000-tokens84B`` for 83.9B); a tiny
    run counts in thousands or millions the same way (``102k``)."""
    if tokens < 0:
        raise ValueError(f"tokens seen must be >= 0, got {tokens}")
    for scale, unit in _UNITS:
        if tokens >= scale:
            return f"{int(tokens / scale + 0.5)}{unit}"
    return str(tokens)


def revision_name(step: int, tokens: int) -> str:
    return f"step{step}-tokens{tokens_label(tokens)}"


def repo_folder(hub_dir: str | Path, repo_id: str) -> Path:
    """huggingface_hub's folder for a model repo (``ORG/NAME`` -> ``models--ORG--NAME``)."""
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"repo_id {repo_id!r}: expected ORG/NAME")
    return Path(hub_dir) / ("models--" + repo_id.replace("/", "--"))


@dataclass
class RevisionCard:
    """What a revision's model card states: where it sits in training, the data it had seen, and
    where it came from."""

    repo_id: str
    step: int
    tokens: int
    #: data-order records: first and last step's batch digests and the SHA-256 chain over steps 1..step
    data: dict[str, Any] = field(default_factory=dict)
    #: checkpoint (path, manifest SHA-256), run config SHA-256, token files, previous revision
    lineage: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def revision(self) -> str:
        return revision_name(self.step, self.tokens)

    def markdown(self) -> str:
        d, lin = self.data, self.lineage
        digests = (f"steps {d.get('first_step')}..{d.get('last_step')}: batch digests `{d.get('first_digest')}` .. "
                   f"`{d.get('last_digest')}`, chained SHA-256 `{d.get('chain')}` over {d.get('steps_digested')} steps"
                   if d.get("last_digest") else "not recorded (trainer.digest_batches was off)")
        lines = ["---", "library_name: transformers", "tags: [olmo-stack, intermediate-checkpoint]", "---", "",
                 f"# {self.repo_id} @ {self.revision}", "",
                 f"An intermediate checkpoint of pretraining: step {self.step}, {self.tokens:,} tokens seen.", "",
                 "| field | value |", "| --- | --- |",
                 f"| revision | `{self.revision}` |", f"| step | {self.step} |", f"| tokens seen | {self.tokens:,} |",
                 f"| data digest range | {digests} |",
                 f"| checkpoint | `{lin.get('checkpoint')}` (manifest SHA-256 `{lin.get('checkpoint_manifest_sha256')}`) |",
                 f"| run config SHA-256 | `{lin.get('run_config_sha256')}` |",
                 f"| token files | {', '.join(f'`{p}`' for p in lin.get('data_paths') or []) or '-'} |",
                 f"| previous revision | {lin.get('previous_revision') or '-'} |", "",
                 "The batch digests are those `olmo-core data-order` / `olmo-stack trace --step N` recompute from the "
                 "data order, so the steps this model saw can be replayed and checked.", "",
                 "```python", "from transformers import AutoModelForCausalLM",
                 f'model = AutoModelForCausalLM.from_pretrained("{self.repo_id}", revision="{self.revision}")', "```", ""]
        return "\n".join(lines)


def _blob_hash(path: Path) -> str:
    """huggingface_hub's blob name: SHA-256 of an LFS file, git's blob SHA-1 of any other."""
    if path.name.endswith(_LFS_SUFFIXES):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_revision(hub_dir: str | Path, card: RevisionCard, checkpoint_dir: str | Path, *,
                   tokenizer: str | Path | None = "auto", main: bool = True) -> Path:
    """Export ``checkpoint_dir`` as revision ``card.revision`` of ``card.repo_id`` under ``hub_dir``;
    returns the snapshot folder. ``main``: point ``refs/main`` at it too (the latest revision)."""
    from olmo_core.convert.hf_io import to_hf

    repo = repo_folder(hub_dir, card.repo_id)
    for sub in ("blobs", "snapshots", "refs"):
        (repo / sub).mkdir(parents=True, exist_ok=True)
    _sweep(repo)
    staging = repo / f".export.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        export = to_hf(checkpoint_dir, staging / "hf", tokenizer=tokenizer)
        (export / "README.md").write_text(card.markdown())
        (export / REVISION_FILE).write_text(json.dumps(asdict(card) | {"revision": card.revision}, indent=1))
        files = {p.name: _blob_hash(p) for p in sorted(export.iterdir()) if p.is_file()}
        for name, blob in files.items():
            target = repo / "blobs" / blob
            if not target.exists():  # identical files (the tokenizer) are stored once across revisions
                with atomic_path(target) as t:
                    shutil.move(str(export / name), t)
            fault_point("revisions.blob")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    commit_hash = hashlib.sha1("".join(f"{n}\0{b}\n" for n, b in sorted(files.items())).encode()).hexdigest()
    snapshot = repo / "snapshots" / commit_hash
    if not snapshot.is_dir():
        with atomic_path(snapshot) as t:
            t.mkdir()
            for name, blob in files.items():
                os.symlink(Path("..") / ".." / "blobs" / blob, t / name)
    fault_point("revisions.before_ref")
    write_atomic(repo / "refs" / card.revision, commit_hash)
    if main:
        write_atomic(repo / "refs" / "main", commit_hash)
    return snapshot


def _sweep(repo: Path) -> None:
    """Remove what a killed writer left (``.<name>.tmp-<pid>`` of a dead process: an export folder,
    a blob, a snapshot), whatever revision it was writing."""
    for folder in (repo, repo / "blobs", repo / "snapshots", repo / "refs"):
        for p in list(folder.iterdir()):
            if p.name.startswith(".") and ".tmp-" in p.name:
                sweep_stale_temporaries(folder / p.name[1:p.name.index(".tmp-")])


@dataclass(frozen=True)
class Revision:
    repo_id: str
    name: str
    commit: str
    path: Path  # the snapshot folder
    card: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.card.get("step", -1))

    @property
    def tokens(self) -> int:
        return int(self.card.get("tokens", -1))


def list_revisions(hub_dir: str | Path, repo_id: str | None = None) -> list[Revision]:
    """Every complete revision (a ref whose snapshot holds ``olmo_revision.json``) of ``repo_id`` (or of
    every repo) under ``hub_dir``, in training order; ``main`` is left out (it repeats the latest)."""
    hub_dir = Path(hub_dir)
    repos = [repo_folder(hub_dir, repo_id)] if repo_id else sorted(hub_dir.glob("models--*--*"))
    out = []
    for repo in repos:
        rid = repo.name.removeprefix("models--").replace("--", "/", 1)
        refs = repo / "refs"
        for ref in sorted(refs.iterdir()) if refs.is_dir() else []:
            if ref.name == "main" or ref.name.startswith(".") or not ref.is_file():
                continue
            commit_hash = ref.read_text().strip()
            info = repo / "snapshots" / commit_hash / REVISION_FILE
            if not info.is_file():
                continue  # a ref without its snapshot is not a revision (never written so; say nothing)
            try:
                card = json.loads(info.read_text())
            except ValueError as e:
                raise ValueError(f"{info}: not JSON ({e})") from None
            out.append(Revision(rid, ref.name, commit_hash, info.parent, card))
    return sorted(out, key=lambda r: (r.repo_id, r.step, r.name))
