"""The peers' side of ``data_scaling.py``: each stage a peer also does, run by the peer on the same synth
corpus, measured the same way (``data_scaling.measure``: wall time, peak RSS of the largest process of
its tree), each peer in its pinned environment (``harness.PeerEnv``, the ones the head-to-head
benchmarks use).

  * ``tag`` - Dolma 1.2.1 ``dolma tag`` with the same four taggers (``ft_lang_id_doc_v1 pii_regex_v1
    char_length_v1 gopher_v1``: Dolma has all four under these names), ``--processes P``; its fastText
    model is the shared ``lid.176.ftz`` placed where its downloader looks (as ``dolma_tag.py`` does).
  * ``dedupe`` - Dolma 1.2.1's Rust paragraph deduper (``deduper_entrypoint``, as ``dolma_dedupe.py``'s
    primary figure), the filter sized by Dolma for the same item count and false-positive rate.
  * ``tokens`` - Dolma 1.2.1 ``dolma tokens``, the same tokenizer file, EOS and pad ids, ``--processes P``,
    uint16, files capped at the demo's 16M tokens (``--max_size`` 32,000,000 bytes).
  * ``minhash`` - datatrove 0.10.1's four MinHash stages (``sides/datatrove_minhash.py``), 5-grams, 14
    buckets of 8 hashes (ours: the same figures), ``tasks = workers = P``.
  * ``filter`` - datatrove 0.10.1's LanguageFilter -> GopherQualityFilter -> C4QualityFilter ->
    JsonlWriter (``sides/datatrove_filter.py``, as ``vs_datatrove.py``). Ours has no single stage for
    it: its counterpart is ``tag`` then ``mix`` (language id, Gopher, PII and length tagged, then the
    demo's filter applied), times added and peaks the larger. The rules differ (``vs_datatrove.py``
    lists how), so this compares the cost of a filtering pass, not identical outputs.

Dolma's ``mix`` is not compared: the demo's recipe (attribute expressions, PII masking) would have to be
rewritten in Dolma's JSONPath filters, so the two would not do the same work.

No outputs are compared here (``dolma_dedupe.py``, ``dolma_tag.py``, ``dolma_tokens.py`` and
``vs_datatrove.py`` check the work on the shared corpus); a peer command that fails stops the run.
Dolma writes attributes beside a ``documents`` folder, so it reads symlinks to the corpus's files
under the stage's work folder, never the cached corpus itself."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness

DOLMA = harness.PeerEnv(("dolma==1.2.1",))
# the environment vs_datatrove.py builds (spaCy for its tokenizer, aiohttp for fsspec's model lookup)
DATATROVE = harness.PeerEnv(("datatrove[io,processing]==0.10.1", "spacy==3.8.18", "aiohttp==3.14.5"))
LID_MODEL = harness.SHARED / "models" / "lid.176.ftz"
DOLMA_LID_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"
TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
EOS, PAD = 50279, 1
SIDES = harness.HERE / "sides"
# the Rust deduper without Dolma's CLI (dolma_dedupe.py's primary peer setting)
RUST_CORE = """
import glob, importlib.util, sys, sysconfig
so = glob.glob(sysconfig.get_paths()["platlib"] + "/dolma/dolma.cpython-*.so")[0]
core = importlib.util.module_from_spec(importlib.util.spec_from_file_location("dolma", so))
core.deduper_entrypoint(open(sys.argv[1]).read())
"""


@dataclass
class PeerRun:
    argv: list[str]
    setting: str  # the peer's setting, in words
    env: dict[str, str] = field(default_factory=dict)
    filter_mib: float | None = None  # the size of a filter the peer holds in memory (the bound leaves it aside)


def dolma_filter_mib(items: int, rate: float) -> float:
    """The Bloom filter Dolma 1.2.1 allocates for ``items`` at ``rate``: the optimal size rounded up to a
    power of two bytes (its files: 16 MiB for 3M items at 1e-6, 256 MiB for 40M; dolma_dedupe.py)."""
    optimal_bytes = -items * math.log(rate) / math.log(2) ** 2 / 8
    return 2 ** math.ceil(math.log2(optimal_bytes)) / 2**20


@dataclass
class PeerStage:
    name: str  # the row of the scaling table
    peer: harness.PeerEnv
    ours: tuple[str, ...]  # our stages whose records make its counterpart (times added, peaks the larger)
    build: Callable[[Any], PeerRun]

    @property
    def label(self) -> str:
        return self.peer.label


PEER_STAGES: dict[str, PeerStage] = {}


def peer_stage(name: str, peer: harness.PeerEnv, ours: tuple[str, ...] | None = None
               ) -> Callable[[Callable[[Any], PeerRun]], Callable[[Any], PeerRun]]:
    def register(fn: Callable[[Any], PeerRun]) -> Callable[[Any], PeerRun]:
        PEER_STAGES[name] = PeerStage(name, peer, ours or (name,), fn)
        return fn
    return register


def linked_documents(c: Any, folder: str) -> Path:
    """``<work>/<folder>/documents/`` holding symlinks to the corpus's document files (a peer that writes
    beside its inputs writes under the work folder)."""
    root = c.work / folder / "documents"
    root.mkdir(parents=True, exist_ok=True)
    for f in sorted((c.corpus / "documents").glob("*.jsonl.gz")):
        (root / f.name).symlink_to(f)
    return root


def _dolma_lid_cache(c: Any) -> dict[str, str]:
    """``XDG_CACHE_HOME`` holding the shared lid model under the name Dolma's downloader looks for."""
    import subprocess

    code = f"from dolma.core.paths import resource_to_filename as r; print(r({DOLMA_LID_URL!r}))"
    name = subprocess.run([str(DOLMA.python), "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **harness.OFFLINE_ENV}).stdout.strip().splitlines()[-1]
    cache = c.work / "dolma-xdg-cache"
    (cache / "dolma").mkdir(parents=True, exist_ok=True)
    (cache / "dolma" / name).unlink(missing_ok=True)
    (cache / "dolma" / name).symlink_to(LID_MODEL)
    return {"XDG_CACHE_HOME": str(cache)}


@peer_stage("tag", DOLMA)
def _dolma_tag(c: Any) -> PeerRun:
    from data_scaling import DEMO_TAGGERS

    docs = linked_documents(c, "dolma-tag")
    wd = c.work / "dolma-tag" / "wd"
    return PeerRun([str(DOLMA.exe("dolma")), "tag", "--documents", str(docs / "*.jsonl.gz"), "--experiment",
                    "quality", "--taggers", *DEMO_TAGGERS, "--processes", str(c.processes), "--ignore_existing",
                    "--work_dir.input", str(wd / "in"), "--work_dir.output", str(wd / "out")],
                   f"`dolma tag --processes {c.processes}`, the same four taggers, lid.176.ftz from its cache",
                   env=_dolma_lid_cache(c))


def rust_core_config(pattern: str, bloom_file: Path, items: int, rate: float, processes: int, work: Path
                     ) -> dict[str, Any]:
    """The config ``dolma dedupe`` hands its Rust entry point for paragraph dedup (see its ``--dryrun``)."""
    (work / "wd-in").mkdir(parents=True, exist_ok=True)
    (work / "wd-out").mkdir(parents=True, exist_ok=True)
    return {"documents": [pattern],
            "dedupe": {"name": "peer", "document_dir": "documents", "file_partition": False, "min_length": 0,
                       "min_words": 0, "num_partitions": 1, "partition_index": 0, "skip_empty": True,
                       "paragraphs": {"attribute_name": "dup_paragraphs", "paragraph_separator": "\n",
                                      "by_ngram": {"ngram_length": 0, "overlap_threshold": 1.0,
                                                   "skip_short_paragraphs": False, "stride": 0}}},
            "bloom_filter": {"file": str(bloom_file), "read_only": False, "size_in_bytes": 0,
                             "estimated_doc_count": items, "desired_false_positive_rate": rate},
            "compression": {"input": None, "output": None}, "is_s3_volume": False,
            "work_dir": {"input": str(work / "wd-in"), "output": str(work / "wd-out")}, "processes": processes}


@peer_stage("dedupe", DOLMA)
def _dolma_dedupe(c: Any) -> PeerRun:
    docs = linked_documents(c, "dolma-dedupe")
    work = c.work / "dolma-dedupe"
    cfg = work / "core.json"
    cfg.write_text(json.dumps(rust_core_config(str(docs / "*.jsonl.gz"), work / "peer.bloom", c.bloom_items, 1e-6,
                                               c.processes, work)))
    return PeerRun([str(DOLMA.python), "-c", RUST_CORE, str(cfg)],
                   f"its Rust paragraph deduper called directly, processes {c.processes}, skip_empty, filter "
                   f"sized by Dolma for {c.bloom_items:,} items at p = 1e-6 (a power of two)",
                   filter_mib=dolma_filter_mib(c.bloom_items, 1e-6))


@peer_stage("tokens", DOLMA)
def _dolma_tokens(c: Any) -> PeerRun:
    from data_scaling import DEMO_MAX_TOKENS_PER_FILE

    files = sorted(str(f) for f in (c.corpus / "documents").glob("*.jsonl.gz"))
    return PeerRun([str(DOLMA.exe("dolma")), "tokens", "--documents", *files, "--destination",
                    str(c.work / "dolma-tokens"), "--tokenizer.name_or_path", str(TOKENIZER),
                    "--tokenizer.eos_token_id", str(EOS), "--tokenizer.pad_token_id", str(PAD), "--processes",
                    str(c.processes), "--dtype", "uint16", "--max_size", str(2 * DEMO_MAX_TOKENS_PER_FILE),
                    "--seed", "3920"],
                   f"`dolma tokens --processes {c.processes}`, the same tokenizer file, uint16, files of at "
                   f"most {2 * DEMO_MAX_TOKENS_PER_FILE:,} bytes")


@peer_stage("minhash", DATATROVE)
def _datatrove_minhash(c: Any) -> PeerRun:
    cfg = c.work / "datatrove-minhash.json"
    cfg.write_text(json.dumps({"documents": str(c.corpus / "documents"), "glob": "*.jsonl.gz",
                               "output": str(c.work / "datatrove-minhash"), "tasks": c.processes,
                               "workers": c.processes, "n_grams": 5, "buckets": 14, "hashes_per_bucket": 8}))
    return PeerRun([str(DATATROVE.python), str(SIDES / "datatrove_minhash.py"), str(cfg)],
                   f"its four MinHash stages, 5-grams, 14 x 8, LocalPipelineExecutor tasks = workers = {c.processes}")


@peer_stage("filter", DATATROVE, ours=("tag", "mix"))
def _datatrove_filter(c: Any) -> PeerRun:
    root = c.work / "datatrove-filter-docs"
    (root / "synth").mkdir(parents=True, exist_ok=True)  # its reader takes <source>/*.jsonl.gz
    for f in sorted((c.corpus / "documents").glob("*.jsonl.gz")):
        (root / "synth" / f.name).symlink_to(f)
    cfg = c.work / "datatrove-filter.json"
    cfg.write_text(json.dumps({"documents": str(root), "output": str(c.work / "datatrove-filter"),
                               "tasks": c.processes, "workers": c.processes, "language_threshold": 0.65,
                               "lid_model": str(LID_MODEL)}))
    return PeerRun([str(DATATROVE.python), str(SIDES / "datatrove_filter.py"), str(cfg)],
                   f"LanguageFilter(en, 0.65) -> GopherQualityFilter -> C4QualityFilter -> JsonlWriter, "
                   f"LocalPipelineExecutor tasks = workers = {c.processes}",
                   env={"HF_ASSETS_CACHE": str(c.work / "hf-assets")})
