"""Fuzzed inputs against ``olmo-eval decontaminate flags``: the report.json and eval_attributes files
that a real ``dolma-tools decontaminate`` run writes (eval documents exported by ``olmo-eval
decontaminate export``, training documents from the shared corpus)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from .conftest import SEED, SHARED, first_lines
from .harness import Case, finish, invoke, run_case
from .mutate import json_lines_valid, mutants


@pytest.fixture(scope="module")
def decontaminated(real_documents: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dolma_tools.cli import main as dolma_tools
    from olmo_eval.cli import main as olmo_eval

    root = tmp_path_factory.mktemp("decon")
    r = invoke(olmo_eval, ["decontaminate", "export", "--tasks", "copa", "--out", str(root / "eval")])
    assert r.rc == 0, r.traceback or r.stderr
    # training side: corpus documents plus one exported eval document, so some instance is contaminated
    with gzip.open(next((root / "eval").glob("*.jsonl.gz")), "rt") as f:
        planted = json.loads(f.readline())
    docs = first_lines(SHARED / "corpus" / "books" / "books-0000.jsonl.zst", 8) + [{**planted, "id": "planted"}]
    (root / "train").mkdir()
    (root / "train" / "books.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(d) + "\n" for d in docs).encode()))
    r = invoke(dolma_tools, ["decontaminate", "--eval-documents", str(root / "eval"), "--documents",
                             str(root / "train"), "--destination", str(root / "out"), "--no-progress", "--flag-only"])
    assert r.rc == 0, r.traceback or r.stderr
    return root / "out"


def _oracle_report(payload: bytes) -> bool | None:
    try:
        obj = json.loads(payload.decode("utf-8"))
    except ValueError:
        return False
    return None if isinstance(obj, dict) and obj else False


def _oracle_attributes(payload: bytes) -> bool | None:
    ok = json_lines_valid(payload, lambda o: isinstance(o, dict) and isinstance(o.get("attributes"), dict)
                          and "id" in o, strict=False)
    return None if ok else False


def test_olmo_eval_decontaminate_flags(decontaminated: Path, tmp_path: Path) -> None:
    from olmo_eval.cli import main

    attrs = next((decontaminated / "eval_attributes").rglob("*.jsonl.gz"))
    rel = attrs.relative_to(decontaminated)
    tallies = []
    for i, (name, oracle, gz) in enumerate([("report.json", _oracle_report, False),
                                            (str(rel), _oracle_attributes, True)]):
        def setup(work: Path, name: str = name) -> Path:
            shutil.copytree(decontaminated, work / "in" / "decon")
            return work / "in" / "decon" / name
        data = (decontaminated / name).read_bytes()
        data = gzip.decompress(data) if gz else data
        case = Case("olmo-eval decontaminate", main, setup,
                    lambda w: ["decontaminate", "flags", "--tasks", "copa", "--decontaminated", str(w / "in" / "decon"),
                               "--out", str(w / "out" / "flags.json")],
                    oracle, where=("field", "line", "format", "attributes", "empty"),
                    encode=(lambda b: gzip.compress(b, mtime=0)) if gz else (lambda b: b))
        fmt = "jsonl" if gz else "json"
        tallies.append(run_case(case, [(f"{Path(name).name}:{m}", m.data) for m in mutants(data, SEED + 500 + i, 7, fmt=fmt)],
                                tmp_path / str(i), SEED + 500))
    total = tallies[0]
    total.tried, total.refused, total.accepted = (total.tried + tallies[1].tried, total.refused + tallies[1].refused,
                                                  total.accepted + tallies[1].accepted)
    total.problems += tallies[1].problems
    finish(total)
