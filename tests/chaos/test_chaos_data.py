"""Kill the data commands of dolma-tools (tag, dedupe in every mode, tokens, mix, decontaminate, and the
pipeline composing them) at named fault sites inside their writes and at seeded random moments, resume
them, and require the output tree of an uninterrupted run, byte for byte, with no temporary file left
behind (issue 22).

Each case runs on a small real slice of the shared corpus (``conftest.SLICE_PLAN``) with 2 processes
where the command has them. Files compared loosely (``volatile``), and why: done-markers (``*.done.json``)
record when a file finished and per-tagger seconds; ``summary.json`` files and the pipeline's step records
record seconds, speed and how much of the work this run found done; decontaminate's ``report.json``
records whether this run built the eval index or found it; the pipeline's token run key hashes the paths
and times of files in its own work folder. Everything else in them must match, and every other file must
match byte for byte (a file naming its own tree, as the pipeline's token metadata does, with that path
written ``<root>``).

Seeds are fixed per case and printed with every kill (``chaos seed=...``); the counts are in the
dolma-tools README, section Faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import assert_same_outputs, command_env, dolma_tools, read_lines
from .harness import chaos_run, leftover_temporaries

MARKERS = {"*.done.json": ["finished_at", "tagger_seconds"]}
SUMMARY = ["seconds", "tokenize_seconds", "tokens_per_second", "units_reused"]
# a step's run summary: how long, and how many files this process did rather than found done
RUN = ["elapsed_s", "docs_per_s", "finished", "resumed", "docs", "bytes"]


@dataclass
class Case:
    argv: Callable[[Path, Path], list[str]]  # (slice, destination) -> argv
    sites: list[str]
    random_kills: int
    seed: int
    volatile: dict[str, list[str]] = field(default_factory=dict)
    gone: str | None = None  # a glob under the destination that must match nothing after the final run


def _dedupe(*mode: str) -> Callable[[Path, Path], list[str]]:
    return lambda s, d: dolma_tools("dedupe", "--documents", s, "--destination", d / "attributes", *mode,
                                    "--processes", 2, "--no-progress", "--summary", d / "summary.json")


CASES = {
    # fastText language ID, Gopher rules and PII regexes, one attributes file per input file
    "tag": Case(lambda s, d: dolma_tools("tag", "--documents", s, "--attributes-root", d, "--taggers",
                                         "ft_lang_id_en_doc_v2", "gopher_v1", "pii_regex_v1", "--experiment", "q",
                                         "--processes", 2, "--no-progress"),
                ["tag.attributes_write:45", "atomic.before_rename:3", "atomic.before_rename:1"], 2, 2201,
                MARKERS),
    # Bloom filter: paragraphs (filter saved at the end: the 7th rename), ids by a metadata key, documents
    "dedupe_paragraph": Case(_dedupe("--mode", "paragraph", "--save-filter", "{dest}/filter.bloom"),
                             ["atomic.before_rename:3", "atomic.before_rename:7"], 2, 2202,
                             {"summary.json": ["seconds"]}),
    "dedupe_id": Case(_dedupe("--mode", "id", "--key", "metadata.origin"), ["atomic.before_rename:4"], 1, 2203,
                      {"summary.json": ["seconds"]}),
    "dedupe_document": Case(_dedupe("--mode", "document"), ["atomic.before_rename:2"], 1, 22041,
                            {"summary.json": ["seconds"]}),
    # the stage folder under --work-dir, which a SIGKILL leaves behind: swept by the next run (issue 19)
    "dedupe_minhash": Case(_dedupe("--mode", "minhash", "--work-dir", "{dest}/minhash-work"),
                           ["atomic.before_rename:3", "atomic.before_rename:6"], 2,
                           2205, {"summary.json": ["seconds", "stage_seconds"]}, gone="minhash-work/minhash-*"),
    # units in .work (by the workers), then shards packed by the driver: kills in a unit's token stream,
    # between a shard's array and its sidecar, and during packing (the 20th rename is the driver's)
    "tokens": Case(lambda s, d: dolma_tools("tokens", "--documents", s, "--destination", d, "--processes", 2,
                                            "--max-tokens-per-file", 100_000, "--batch-size", 16, "--no-progress"),
                   ["tokens.unit_write:3", "atomic.before_rename:3", "tokens.shard_write:4",
                    "atomic.before_rename:1"], 2, 2206, {"summary.json": SUMMARY}),
    # the shipped Dolma v1 web recipe (its tag step, then the mixer), small shards, books sampled 1.5x
    "mix": Case(lambda s, d: dolma_tools("mix", "--recipe", "dolma_v1_web", "--documents", s, "--destination", d,
                                         "--processes", 2, "--no-progress", "mix.max_size_bytes=40000",
                                         "mix.sample.books=1.5", "mix.seed=3"),
                ["mix.shard_write:30", "atomic.before_rename:4", "atomic.before_rename:1"], 2, 2207, MARKERS),
    # eval documents holding real KJV chapters, some of them in the slice: kills while the index is saved
    # (the first rename), between a file's attributes and its clean copy, and late in the scan
    "decontaminate": Case(lambda s, d: dolma_tools("decontaminate", "--eval-documents", s.parent / "eval",
                                                   "--documents", s, "--destination", d, "--no-progress"),
                          ["atomic.before_rename:1", "atomic.before_rename:4", "atomic.before_rename:12"], 1, 2208,
                          {"report.json": ["rebuilt"]}),
    # the one-command pipeline composing them (tag, filter mix, dedupe, mix, tokens; config below): a kill
    # inside a shard of the filter step and one between a token shard's array and its sidecar (no random
    # kills: each command it composes has its own above, and a pipeline run is the longest of all)
    "pipeline": Case(lambda s, d: dolma_tools("pipeline", s.parent / "pipeline.yaml", f"work_dir={d}",
                                              "--no-progress"),
                     ["mix.shard_write:50", "tokens.shard_write:2"], 0, 2209,
                     # the tokens run key hashes its inputs' paths and times, here files of the work folder
                     {**MARKERS, "steps/*.json": [*RUN, *SUMMARY, "stage_seconds", "reused", "run_key"],
                      "funnel.json": ["seconds"], "tokens/summary.json": [*SUMMARY, "run_key"]}),
}

PIPELINE_YAML = """
documents: [{slice}]
progress: false
processes: 2
tag: [{{experiment: quality, taggers: [char_length_v1]}}]
filter: {{exclude: {{too_short: "char_length_v1__length < 2000"}}}}
dedupe: {{minhash: {{threshold: 0.8}}}}
tokens: {{max_tokens_per_file: 100000}}
"""


@pytest.fixture(scope="module")
def case_inputs(corpus_slice: Path, shared_data: Path) -> Path:
    """Beside the slice: eight KJV chapters as eval documents (four the slice holds, lines 5-8, four it
    does not) for decontaminate, and the pipeline's config."""
    eval_dir = corpus_slice.parent / "eval"
    eval_dir.mkdir(exist_ok=True)
    books = shared_data / "corpus" / "books" / "books-0000.jsonl.zst"
    (eval_dir / "kjv.jsonl").write_text("".join(read_lines(books, 5, 4) + read_lines(books, 300, 4)))
    (corpus_slice.parent / "pipeline.yaml").write_text(PIPELINE_YAML.format(slice=corpus_slice))
    return corpus_slice.parent


def _argv(case: Case, slice_dir: Path, dest: Path) -> list[str]:
    return [a.replace("{dest}", str(dest)) for a in case.argv(slice_dir, dest)]


@pytest.mark.parametrize("name", list(CASES))
def test_killed_and_resumed_equals_uninterrupted(name: str, corpus_slice: Path, case_inputs: Path,
                                                 reference_runs, tmp_path: Path) -> None:
    """Two interrupted runs, each into its own folder and ending with an uninterrupted resume: one
    through the fault sites in order (each resuming what the kills before it left), one through
    seeded random kills starting from scratch (a site run first would leave them little to hit)."""
    case = CASES[name]
    reference, seconds = reference_runs(name, lambda dest: _argv(case, corpus_slice, dest))
    kills = 0
    runs = [("sites", case.sites, 0)] + ([("random", [], case.random_kills)] if case.random_kills else [])
    for label, sites, random_kills in runs:
        dest = tmp_path / label
        report = chaos_run(_argv(case, corpus_slice, dest), seed=case.seed, duration=seconds,
                           random_kills=random_kills, fault_sites=sites, env=command_env(), timeout=300)
        # a fault site that was never reached would test nothing
        missed = [a.how for a in report.attempts if a.how.startswith("site:") and not a.killed]
        assert not missed, f"{name}: fault sites never reached: {missed}\n{report}"
        assert leftover_temporaries(dest) == [], f"{name} ({label}): temporaries left after the final run"
        if case.gone:
            assert sorted(dest.glob(case.gone)) == [], f"{name} ({label}): {case.gone} left after the final run"
        assert assert_same_outputs(reference, dest, case.volatile) > 0
        kills += report.kills
    print(f"{name}: {kills} kills survived (seed {case.seed}, uninterrupted run {seconds:.2f}s)")
    assert kills >= len(case.sites)
