"""Fuzzed inputs against every dolma-tools command: real corpus documents (a .jsonl.gz shard),
attributes files and YAML configs, mutated from a fixed seed. Each refusal names the file and the
line or field, no traceback, the inputs stay as they were, and a refused run leaves nothing a rerun
would take for finished work (see harness.run_case)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from dolma_tools.cli import main

from .conftest import SEED
from .harness import Case, finish, invoke, run_case
from .mutate import documents_valid, gzip_payload, json_lines_valid, mutants

N = 10
TAGGERS = ["char_length_v1", "pii_regex_v1"]
SHARD = "shard.jsonl.gz"


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _docs_layout(docs: bytes):
    def setup(work: Path) -> Path:
        d = work / "in" / "documents"
        d.mkdir(parents=True)
        (d / SHARD).write_bytes(_gz(docs))
        return d / SHARD
    return setup


def _labelled(data: bytes, seed: int, n: int, fmt: str | None) -> list[tuple[str, bytes]]:
    return [(str(m), m.data) for m in mutants(data, seed, n, fmt=fmt)]


def _compressed_mutants(docs: bytes, seed: int) -> list[tuple[str, bytes]]:
    """Damage to the compressed bytes themselves (the payload handed over is the whole .gz file)."""
    return [(f"gz:{m}", m.data) for m in mutants(_gz(docs), seed, 2, kinds=("truncate", "bit_flip"))]


def _docs_oracle(payload: bytes) -> bool | None:
    return None if not payload.strip() else documents_valid(payload)


def _raw_gz_case(case: Case) -> Case:
    """The same command, the mutated bytes written as they are (already a damaged .gz file)."""
    def oracle(raw: bytes) -> bool:
        payload = gzip_payload(raw)
        return payload is not None and documents_valid(payload)
    return dataclasses.replace(case, oracle=oracle, encode=lambda b: b)


def _document_cases(docs: bytes) -> list[Case]:
    setup = _docs_layout(docs)
    src = lambda w: str(w / "in" / "documents" / SHARD)  # noqa: E731
    out = lambda w: str(w / "out")  # noqa: E731
    # A shard without documents is refused by some commands ("empty file") and read as nothing by others.
    common = dict(main=main, setup=setup, oracle=_docs_oracle, encode=_gz, where=("empty",),
                  volatile=("*.done/*", "summary.json", "report.json", "stats/*", "analysis.json"))
    return [
        Case("dolma-tools tag", argv=lambda w: ["tag", "--documents", src(w), "--taggers", *TAGGERS,
                                                 "--attributes-root", out(w), "--processes", "1", "--no-progress"],
             **common),
        Case("dolma-tools tokens", argv=lambda w: ["tokens", "--documents", src(w), "--destination", out(w),
                                                    "--no-progress"],
             **common),
        Case("dolma-tools dedupe", argv=lambda w: ["dedupe", "--documents", src(w), "--destination",
                                                    out(w) + "/dedupe", "--no-progress"], **common),
        Case("dolma-tools analyze", argv=lambda w: ["analyze", "--documents", src(w), "--destination", out(w),
                                                     "--tokenizer", "none", "--ngram-sizes", "1"],
             **common),
        Case("dolma-tools decontaminate", argv=lambda w: [
            "decontaminate", "--eval-documents", src(w), "--documents", str(w / "in" / "train.jsonl.gz"),
            "--destination", out(w), "--no-progress", "--min-words", "3"],
             setup=lambda w: _with_train(setup(w), docs),
             **{k: v for k, v in common.items() if k != "setup"}),
    ]


def _with_train(target: Path, docs: bytes) -> Path:
    """decontaminate: the mutated shard is the eval side; the training side is the clean one."""
    (target.parents[1] / "train.jsonl.gz").write_bytes(_gz(docs))
    return target


@pytest.mark.parametrize("which", range(5), ids=["tag", "tokens", "dedupe", "analyze", "decontaminate"])
def test_document_shards(which: int, real_documents: bytes, tmp_path: Path) -> None:
    case = _document_cases(real_documents)[which]
    seed = SEED + which
    tally = run_case(case, _labelled(real_documents, seed, N, "jsonl"), tmp_path / "text", seed)
    raw = run_case(_raw_gz_case(case), _compressed_mutants(real_documents, seed), tmp_path / "gz", seed,
                   rerun_check=False)
    tally.tried += raw.tried
    tally.refused += raw.refused
    tally.accepted += raw.accepted
    tally.problems += raw.problems
    finish(tally)


# ---- attributes files (mix reads them) and YAML configs (mix recipes, pipeline configs) ---------

RECIPE = {
    "name": "fuzz",
    "mix": {
        "attributes": ["fz"],
        "exclude": {"short": "char_length_v1__length < 500"},
        "span_replacement": [{"name": "pii_email", "attribute": "pii_regex_v1__EMAIL_ADDRESS",
                              "replacement": " |||EMAIL_ADDRESS||| "}],
    },
}


@pytest.fixture(scope="module")
def tagged(real_documents: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documents and their real attributes (dolma-tools tag, run once)."""
    root = tmp_path_factory.mktemp("tagged")
    _docs_layout(real_documents)(root)
    r = invoke(main, ["tag", "--documents", str(root / "in" / "documents" / SHARD), "--taggers", *TAGGERS,
                      "--experiment", "fz", "--processes", "1", "--no-progress"])
    assert r.rc == 0, r.traceback or r.stderr
    return root


def _copy_tagged(tagged: Path, work: Path) -> None:
    shutil.copytree(tagged / "in", work / "in")
    (work / "in" / "recipe.yaml").write_text(yaml.safe_dump(RECIPE, sort_keys=False))


def _mix_argv(work: Path) -> list[str]:
    return ["mix", "--recipe", str(work / "in" / "recipe.yaml"), "--skip-tag", "--documents",
            str(work / "in" / "documents" / SHARD), "--destination", str(work / "out")]


def _attributes_oracle(docs: bytes):
    ids = [str(json.loads(line)["id"]) for line in docs.splitlines() if line.strip()]

    def record_ok(obj: object) -> bool:
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("attributes"), dict):
            return False
        return all(isinstance(spans, list) and all(
            isinstance(s, list) and len(s) == 3 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in s)
            for s in spans) for spans in obj["attributes"].values())

    def oracle(payload: bytes) -> bool | None:
        if not json_lines_valid(payload, record_ok):
            return False
        got = [json.loads(line)["id"] for line in payload.splitlines() if line.strip()]
        if got != ids:
            return False
        return None  # a changed score or a dropped attribute is still well-formed; the result may differ

    return oracle


def test_mix_attributes_file(real_documents: bytes, tagged: Path, tmp_path: Path) -> None:
    attrs = tagged / "in" / "attributes" / "fz" / SHARD
    clean = gzip.decompress(attrs.read_bytes())

    def setup(work: Path) -> Path:
        _copy_tagged(tagged, work)
        return work / "in" / "attributes" / "fz" / SHARD

    case = Case("dolma-tools mix (attributes)", main, setup, _mix_argv, _attributes_oracle(real_documents),
                where=("attributes",), encode=_gz, volatile=("*.done/*", "*summary*"))
    finish(run_case(case, _labelled(clean, SEED + 10, N, "jsonl"), tmp_path, SEED + 10))


def _yaml_oracle(required: tuple[str, ...]):
    def oracle(payload: bytes) -> bool | None:
        try:
            obj = yaml.safe_load(payload)
        except yaml.YAMLError:
            return False
        if not isinstance(obj, dict) or any(_missing(obj, key) for key in required):
            return False
        return None  # well-formed YAML with a value changed: valid or not depends on the field
    return oracle


def _missing(obj: dict, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return True
        obj = obj[part]
    return False


def test_mix_recipe(tagged: Path, tmp_path: Path) -> None:
    def setup(work: Path) -> Path:
        _copy_tagged(tagged, work)
        return work / "in" / "recipe.yaml"

    case = Case("dolma-tools mix (recipe)", main, setup, _mix_argv, _yaml_oracle(("mix",)),
                where=("mix.", "name", "recipe", "expected a mapping"), volatile=("*.done/*", "*summary*"))
    data = yaml.safe_dump(RECIPE, sort_keys=False).encode()
    finish(run_case(case, _labelled(data, SEED + 11, N, "yaml"), tmp_path, SEED + 11))


def test_pipeline_config(real_documents: bytes, tmp_path: Path) -> None:
    config = {"name": "fuzz", "documents": ["in/documents"], "work_dir": "out", "processes": 1,
              "tag": [{"experiment": "q", "taggers": TAGGERS}],
              "filter": {"exclude": {"short": "char_length_v1__length < 500"}},
              "dedupe": {"bloom": {"mode": "paragraph", "name": "dedupe"}, "minhash_enabled": False},
              "tokens": {"max_tokens_per_file": 100000}}

    def setup(work: Path) -> Path:
        _docs_layout(real_documents)(work)
        (work / "in" / "pipeline.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        return work / "in" / "pipeline.yaml"

    case = Case("dolma-tools pipeline", main, setup, lambda w: ["pipeline", "in/pipeline.yaml", "--no-progress"],
                _yaml_oracle(()), where=("tag", "filter", "dedupe", "tokens", "documents", "work_dir", "processes", "expected a mapping",
                                         "name"),
                volatile=("*.done/*", "*funnel*", "*summary*", "*manifest*", "*.log", "*report*", "steps/*"), chdir=True)
    data = yaml.safe_dump(config, sort_keys=False).encode()
    finish(run_case(case, _labelled(data, SEED + 12, 6, "yaml"), tmp_path, SEED + 12))
