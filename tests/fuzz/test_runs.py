"""Fuzzed inputs against the commands that read training data and runs: ``olmo-core train`` (token
arrays, their .csv.gz metadata and .docs.jsonl sidecars, as ``dolma-tools tokens`` writes them from
real corpus documents), ``olmo-core data-order`` and ``olmo-stack trace`` (a real run's config.json and
metrics.jsonl), ``olmo-stack run`` (a stack YAML config) and ``olmo-stack lineage`` (stage manifests)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import SEED, SHARED, first_lines
from .harness import Case, finish, invoke, run_case
from .mutate import mutants

TINY = ["model.d_model=32", "model.n_heads=2", "model.mlp_hidden_size=64", "model.n_layers=1"]


def _train_argv(tokens: Path, run_dir: Path, steps: int = 1) -> list[str]:
    return ["train", "--preset", "tiny", *TINY, f"data.paths=[{tokens}]", f"trainer.run_dir={run_dir}",
            "data.seq_len=32", "data.global_batch_size=2", "data.micro_batch_size=2", f"trainer.max_steps={steps}",
            f"trainer.checkpoint.every={steps}", "~trainer.callbacks.loss_plot"]


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dolma_tools.cli import main

    root = tmp_path_factory.mktemp("tokens")
    docs = first_lines(SHARED / "corpus" / "books" / "books-0000.jsonl.zst", 6, max_text=3000)
    (root / "docs").mkdir()
    (root / "docs" / "books.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(d) + "\n" for d in docs).encode()))
    r = invoke(main, ["tokens", "--documents", str(root / "docs"), "--destination", str(root / "out"), "--no-progress"])
    assert r.rc == 0, r.traceback or r.stderr
    return root / "out"


@pytest.fixture(scope="module")
def trained(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import main

    run = tmp_path_factory.mktemp("run") / "pretrain"
    r = invoke(main, _train_argv(tokens, run, steps=2))
    assert r.rc == 0, r.traceback or r.stderr
    return run


def _summed(tallies: list) -> object:  # noqa: ANN001
    total = tallies[0]
    for t in tallies[1:]:
        total.tried, total.refused, total.accepted = total.tried + t.tried, total.refused + t.refused, total.accepted + t.accepted
        total.problems += t.problems
    return total


def test_olmo_core_train_token_files(tokens: Path, tmp_path: Path) -> None:
    """Token arrays, metadata and sidecars damaged: refused by name before a step runs (a valid mutant,
    e.g. a flipped id that is still in the vocabulary, trains its one step)."""
    from olmo_core.cli import main

    names = sorted(p.name for p in tokens.iterdir() if p.name != "summary.json")
    tallies = []
    for i, name in enumerate(names):
        def setup(work: Path, name: str = name) -> Path:
            shutil.copytree(tokens, work / "in" / "tokens")
            return work / "in" / "tokens" / name
        gz = name.endswith(".gz")
        data = gzip.decompress((tokens / name).read_bytes()) if gz else (tokens / name).read_bytes()
        kinds = ("truncate", "bit_flip", "empty") if name.endswith(".npy") else ("truncate", "invalid_utf8", "empty")
        case = Case("olmo-core train", main, setup, lambda w: _train_argv(w / "in" / "tokens", w / "out" / "run"),
                    oracle=lambda p, name=name: _token_oracle(name, p, tokens),
                    where=("line", "row", "field", "column", "tokens", "bytes", "header", "empty"),
                    binary=name.endswith(".npy"), encode=(lambda b: gzip.compress(b, mtime=0)) if gz else (lambda b: b))
        tallies.append(run_case(case, [(f"{name}:{m}", m.data) for m in mutants(data, SEED + 400 + i, 3, kinds=kinds)],
                                tmp_path / name, SEED + 400, rerun_check=False))
    finish(_summed(tallies))


def _token_oracle(name: str, payload: bytes, tokens: Path) -> bool | None:
    if name.endswith(".csv.gz"):
        return None  # Dolma's metadata is read only where our .docs.jsonl sidecar is missing
    original = (tokens / name).read_bytes()
    if name.endswith(".gz"):
        original = gzip.decompress(original)
    if len(payload) < len(original) or not payload:
        return False  # fewer tokens or rows than the other files say
    return None  # a flipped token id may still be in the vocabulary


def _json_oracle(payload: bytes) -> bool | None:
    try:
        obj = json.loads(payload.decode("utf-8"))
    except ValueError:
        return False
    return None if isinstance(obj, dict) and obj else False


def _fuzz_run_files(name: str, main, argv, trained: Path, tmp_path: Path, seed: int, layout) -> None:  # noqa: ANN001
    """``config.json`` (a JSON object) and ``metrics.jsonl`` of a real run, mutated."""
    tallies = []
    for i, file_name in enumerate(("config.json", "metrics.jsonl")):
        def setup(work: Path, file_name: str = file_name) -> Path:
            run = layout(work)
            shutil.copytree(trained, run, ignore=shutil.ignore_patterns("checkpoints"))
            return run / file_name
        fmt = "json" if file_name.endswith(".json") else "jsonl"
        oracle = _json_oracle if fmt == "json" else (lambda p: None if p.strip() else False)
        case = Case(name, main, setup, argv, oracle,
                    where=("field", "line", "data.", "trainer.", "model.", "empty", "no metrics for step"))
        data = (trained / file_name).read_bytes()
        tallies.append(run_case(case, [(f"{file_name}:{m}", m.data) for m in mutants(data, seed + i, 6, fmt=fmt)],
                                tmp_path / file_name, seed, rerun_check=False))
    finish(_summed(tallies))


def test_olmo_core_data_order_run_files(trained: Path, tmp_path: Path) -> None:
    from olmo_core.cli import main

    run = lambda w: w / "in" / "pretrain"  # noqa: E731
    argv = lambda w: ["data-order", "--config", str(run(w) / "config.json"), "--step", "1", "--json",  # noqa: E731
                      "--check-metrics", str(run(w) / "metrics.jsonl")]
    _fuzz_run_files("olmo-core data-order", main, argv, trained, tmp_path, SEED + 410, run)


def test_olmo_stack_trace_run_files(trained: Path, tmp_path: Path) -> None:
    from olmo_stack.cli import main

    argv = lambda w: ["trace", "--run", str(w / "in"), "--step", "1", "--json"]  # noqa: E731
    _fuzz_run_files("olmo-stack trace", main, argv, trained, tmp_path, SEED + 420, lambda w: w / "in" / "pretrain")


def test_olmo_stack_run_config(tmp_path: Path) -> None:
    """A stack config YAML (the smoke preset as a file), mutated; --print-config resolves it without running."""
    from omegaconf import OmegaConf

    from olmo_stack.cli import main
    from olmo_stack.pipeline import load_stack_config

    data = OmegaConf.to_yaml(OmegaConf.structured(load_stack_config("smoke"))).encode()

    def setup(work: Path) -> Path:
        (work / "in").mkdir(parents=True)
        (work / "in" / "stack.yaml").write_bytes(data)
        return work / "in" / "stack.yaml"

    def oracle(payload: bytes) -> bool | None:
        try:
            obj = yaml.safe_load(payload)
        except yaml.YAMLError:
            return False
        return None if isinstance(obj, dict) and obj else False

    case = Case("olmo-stack run", main, setup, lambda w: ["run", str(w / "in" / "stack.yaml"), "--print-config"],
                oracle, where=("field", "line", "expected a mapping"))
    finish(run_case(case, [(str(m), m.data) for m in mutants(data, SEED + 430, 10, fmt="yaml")], tmp_path,
                    SEED + 430, rerun_check=False))


def test_olmo_stack_lineage_manifests(tmp_path: Path) -> None:
    """Two real stages (the pipeline's own Stage/Pipeline code) over a corpus shard, then their
    manifests mutated; ``olmo-stack lineage`` names the manifest and the field, or prints the chain."""
    from olmo_stack.cli import main
    from olmo_stack.stages import Pipeline, Stage

    shard = SHARED / "corpus" / "books" / "books-0000.jsonl.zst"

    def build(root: Path) -> None:
        def first(ctx) -> dict:  # noqa: ANN001
            (ctx.dir / "out.txt").write_text("a")
            return {"outputs": {"text": ctx.dir / "out.txt"}}

        def second(ctx) -> dict:  # noqa: ANN001
            (ctx.dir / "out.txt").write_text("b")
            return {"outputs": {"text": ctx.dir / "out.txt"}}
        Pipeline(root, [Stage("first", first, raw_inputs=(shard,)), Stage("second", second, after=("first",))],
                 log=lambda _m: None).run()

    reference = tmp_path / "reference"
    build(reference)
    tallies = []
    for i, stage in enumerate(("second", "first")):
        def setup(work: Path, stage: str = stage) -> Path:
            build(work / "in")
            return work / "in" / stage / "manifest.json"
        case = Case("olmo-stack lineage", main, setup, lambda w: ["lineage", str(w / "in" / "second" / "out.txt")],
                    _json_oracle, where=("field", "manifest missing"))
        data = (reference / stage / "manifest.json").read_bytes()
        tallies.append(run_case(case, [(f"{stage}:{m}", m.data) for m in mutants(data, SEED + 440 + i, 6, fmt="json")],
                                tmp_path / stage, SEED + 440, rerun_check=False))
    finish(_summed(tallies))


def test_olmoe_train_token_sidecar(tokens: Path, tmp_path: Path) -> None:
    """``olmoe train`` (olmo-core's trainer with the MoE presets) on a damaged token sidecar."""
    from olmoe.cli import main

    name = "part-00000.docs.jsonl"

    def setup(work: Path) -> Path:
        shutil.copytree(tokens, work / "in" / "tokens")
        return work / "in" / "tokens" / name

    argv = lambda w: ["train", "--preset", "tiny", "model=olmoe_tiny", f"data.paths=[{w / 'in' / 'tokens'}]",  # noqa: E731
                      f"trainer.run_dir={w / 'out' / 'run'}", "data.seq_len=32", "data.global_batch_size=2",
                      "data.micro_batch_size=2", "trainer.max_steps=1", "~trainer.callbacks.loss_plot"]
    case = Case("olmoe train", main, setup, argv, lambda p: _token_oracle(name, p, tokens),
                where=("line", "field", "header", "empty"))
    data = (tokens / name).read_bytes()
    finish(run_case(case, [(str(m), m.data) for m in mutants(data, SEED + 450, 3,
                                                             kinds=("truncate", "invalid_utf8", "empty"))],
                    tmp_path, SEED + 450, rerun_check=False))
