"""Bloom dedup, MinHash, decontamination and tokenization with ``executor="ray"`` on a local Ray
instance give the local executor's files byte for byte, while one Ray worker per stage is SIGKILLed
after finishing its work (its result lost) or, for decontamination and tokens, between a write and its
rename: Ray reruns the task and nothing is lost, duplicated or left behind.

The slice is real: 20 documents from each of two files of two sources, plus planted repeats (five
exact copies and three near copies with words dropped) so every stage has something to find. One
Ray session serves the module (start-up is the slow part)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dolma_tools.decont import DecontConfig, decontaminate
from dolma_tools.dedupe import BloomDedupeConfig, MinHashConfig, dedupe_files
from dolma_tools.dedupe.minhash import minhash_dedupe
from dolma_tools.docio import iter_documents, write_documents
from dolma_tools.executor.ordered import KILL_ONCE_ENV
from dolma_tools.interfaces import Document
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "data"


def tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (an independent digest of the outputs)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slice")
    kept: list[Document] = []
    for source in ("books", "kernel_docs"):
        docs = [d for _, d in iter_documents(sorted((SHARED / "corpus" / source).glob("*.jsonl.zst"))[0])][:40]
        kept += docs[:3]
        for i in range(2):
            write_documents(root / "documents" / source / f"{i}.jsonl.gz", docs[i * 20:(i + 1) * 20])
    books = [d for _, d in iter_documents(root / "documents" / "books" / "0.jsonl.gz")]
    planted = [Document(id=f"copy-{d.id}", text=d.text) for d in books[:5]]
    for d in books[5:8]:  # near copies: every 100th word dropped
        words = d.text.split(" ")
        planted.append(Document(id=f"near-{d.id}", text=" ".join(w for k, w in enumerate(words) if k % 100 != 7)))
    write_documents(root / "documents" / "books" / "2.jsonl.gz", planted)
    write_documents(root / "eval" / "eval.jsonl.gz", kept)
    return root


@pytest.fixture(scope="module")
def kills(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The Ray session, its workers told where the kill switches are; yields that folder."""
    mp = pytest.MonkeyPatch()
    # under ``uv run`` Ray would otherwise package the working tree and ``uv run`` each worker
    mp.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    mp.delenv("RAY_ADDRESS", raising=False)
    import ray

    folder = tmp_path_factory.mktemp("kills")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {KILL_ONCE_ENV: str(folder)}})
    try:
        yield folder
    finally:
        ray.shutdown()
        mp.undo()


def arm(folder: Path, *names: str, inside: str = "") -> None:
    """Kill one worker running ``names``: after its work, or ``inside`` a write (a fault spec)."""
    for name in names:
        (folder / f"{name}.armed").write_text(inside)


def fired(folder: Path, *names: str) -> None:
    for name in names:
        assert (folder / f"{name}.fired").exists(), f"no Ray worker was killed in {name}"
        pid = int((folder / f"{name}.fired").read_text())
        assert not alive(pid), f"the worker that ran {name} (pid {pid}) is alive"


def alive(pid: int) -> bool:
    """A running process (a killed one its parent has not reaped yet is a zombie: dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.tmp-*"))


def test_bloom_paragraph_dedupe_on_ray(slice_dir: Path, kills: Path, tmp_path: Path) -> None:
    runs = {}
    for executor in ("local", "ray"):
        if executor == "ray":
            arm(kills, "_hash_file")
        cfg = BloomDedupeConfig(mode="paragraph", processes=2, save_filter=str(tmp_path / executor / "f.bloom"))
        runs[executor] = dedupe_files(slice_dir / "documents", cfg, destination=tmp_path / executor / "attr",
                                      executor=executor)
    fired(kills, "_hash_file")
    local, remote = runs["local"], runs["ray"]
    assert local["documents"] == remote["documents"] == 88
    assert local["duplicate_units"] == remote["duplicate_units"] > 0
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_minhash_on_ray(slice_dir: Path, kills: Path, tmp_path: Path) -> None:
    runs = {}
    for executor in ("local", "ray"):
        if executor == "ray":
            arm(kills, "_signature_stage", "_bucket_stage")
        cfg = MinHashConfig(processes=2, work_dir=str(tmp_path / f"work-{executor}"))
        runs[executor] = minhash_dedupe(slice_dir / "documents", cfg, destination=tmp_path / executor,
                                        clusters_file=tmp_path / f"clusters-{executor}.jsonl", executor=executor)
        assert list((tmp_path / f"work-{executor}").iterdir()) == []  # the stage folder is gone
    fired(kills, "_signature_stage", "_bucket_stage")
    assert runs["local"]["duplicate_documents"] == runs["ray"]["duplicate_documents"] >= 8  # the planted ones
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    clusters = [json.loads(x) for x in (tmp_path / "clusters-ray.jsonl").read_text().splitlines()]
    planted = {c["id"]: c["kept"] for c in clusters if c["id"].startswith(("copy-", "near-"))}
    assert len(planted) == 8 and all(kept == doc.split("-", 1)[1] for doc, kept in planted.items())
    assert (tmp_path / "clusters-ray.jsonl").read_bytes() == (tmp_path / "clusters-local.jsonl").read_bytes()


def test_decontaminate_on_ray(slice_dir: Path, kills: Path, tmp_path: Path) -> None:
    reports = {}
    for executor in ("local", "ray"):
        if executor == "ray":
            arm(kills, "_scan_one", inside="atomic.before_rename:1")  # dies between a write and its rename
        reports[executor] = decontaminate(slice_dir / "eval", slice_dir / "documents", tmp_path / executor,
                                          DecontConfig(), executor=executor, processes=2)
    fired(kills, "_scan_one")
    assert temporaries(tmp_path) == []
    local, remote = reports["local"], reports["ray"]
    # the eval set holds six training documents (and the planted copies of three of them)
    assert local["documents_contaminated"] == remote["documents_contaminated"] >= 6
    drop = ("index",)
    assert {k: v for k, v in local.items() if k not in drop} == {k: v for k, v in remote.items() if k not in drop}
    for part in ("attributes", "clean", "eval_attributes", "stats"):
        assert tree(tmp_path / "ray" / part) == tree(tmp_path / "local" / part), part


def test_tokens_on_ray(slice_dir: Path, kills: Path, tmp_path: Path) -> None:
    runs = {}
    for executor in ("local", "ray"):
        if executor == "ray":
            arm(kills, "_tokenize_in_worker", inside="atomic.before_rename:1")
        runs[executor] = tokenize_files(slice_dir / "documents", tmp_path / executor, processes=2,
                                        max_tokens_per_file=20_000, executor=executor, keep_work=True)
    fired(kills, "_tokenize_in_worker")
    assert temporaries(tmp_path) == []  # the work folder is kept: the dead attempt's temporary is gone
    local, remote = runs["local"], runs["ray"]
    assert local["documents"] == remote["documents"] == 88 and local["tokens"] == remote["tokens"] > 0
    assert local["per_source"] == remote["per_source"] and len(local["shards"]) > 1

    def shards(root: Path) -> dict[str, str]:
        return {k: v for k, v in tree(root).items() if k != "summary.json" and not k.startswith(".work")}

    assert shards(tmp_path / "ray") == shards(tmp_path / "local")


def test_cli_flags_reach_ray(slice_dir: Path, kills: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``--executor ray`` on the command line: MinHash's stages go to Ray, the summary and the files equal
    the local command's."""
    from dolma_tools.cli import main
    from dolma_tools.executor import ordered

    stages: list[str] = []
    ray_map = ordered._ray_map

    def counted(fn, items, processes, address):  # noqa: ANN001, ANN202
        stages.append(fn.__name__)
        return ray_map(fn, items, processes, address)

    monkeypatch.setattr(ordered, "_ray_map", counted)

    summaries = {}
    for executor in ("local", "ray"):
        assert main(["dedupe", "--documents", str(slice_dir / "documents"), "--destination",
                     str(tmp_path / executor), "--mode", "minhash", "--processes", "2", "--no-progress",
                     "--executor", executor, "--summary", str(tmp_path / f"{executor}.json")]) == 0
        summaries[executor] = json.loads((tmp_path / f"{executor}.json").read_text())
        for s in summaries[executor].values():
            if isinstance(s, dict):
                s.pop("seconds", None)
        summaries[executor].pop("seconds"), summaries[executor].pop("stage_seconds")
    capsys.readouterr()
    assert stages == ["_signature_stage", "_bucket_stage"]
    assert summaries["ray"] == summaries["local"] and summaries["ray"]["duplicate_documents"] >= 8
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
