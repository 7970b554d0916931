"""Benchmark: ``dolma-tools tag`` against the original Dolma toolkit's ``dolma tag``.

Both tag the same copy of ``../shared/data/corpus`` (re-compressed as ``.jsonl.gz`` under a
``documents/`` folder, the layout Dolma needs) with the same process count and the equivalent
taggers: gopher_v1, c4_v1, pii_regex_v1, char_length_v1. The peer is installed from PyPI into its
own venv (``uv venv`` + ``uv pip install dolma``), never into the workspace.

Prints documents/s for both, the ratio, peak memory (summed RSS of each command's process tree)
and, per rule set, the fraction of documents given the same keep/drop decision by both attribute
sets (decided by the same rule expressions, those of the shipped dolma_v1_web recipe).

    uv run python tools/bench/dolma_tag.py [--quick] [--processes 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
from pathlib import Path

from _dolma_peer import ensure_peer, timed  # tools/bench is on sys.path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "data" / "corpus"
TAGGERS = ["gopher_v1", "c4_v1", "pii_regex_v1", "char_length_v1"]

# Keep/drop decisions per rule set, as expressions over set-less attribute names.
RULES = {
    "gopher_v1": [
        "gopher_v1__word_count < 50 or gopher_v1__word_count > 100000",
        "gopher_v1__median_word_length < 3 or gopher_v1__median_word_length > 10",
        "gopher_v1__symbol_to_word_ratio > 0.1",
        "gopher_v1__fraction_of_lines_starting_with_bullet_point > 0.9",
        "gopher_v1__fraction_of_lines_ending_with_ellipsis > 0.3",
        "gopher_v1__fraction_of_words_with_alpha_character < 0.8",
        "gopher_v1__required_word_count < 2",
        "gopher_v1__fraction_of_duplicate_lines > 0.3",
        "gopher_v1__fraction_of_characters_in_duplicate_lines > 0.2",
        "gopher_v1__fraction_of_characters_in_most_common_2grams > 0.20",
        "gopher_v1__fraction_of_characters_in_most_common_3grams > 0.18",
        "gopher_v1__fraction_of_characters_in_most_common_4grams > 0.16",
        "gopher_v1__fraction_of_characters_in_duplicate_5grams > 0.15",
        "gopher_v1__fraction_of_characters_in_duplicate_6grams > 0.14",
        "gopher_v1__fraction_of_characters_in_duplicate_7grams > 0.13",
        "gopher_v1__fraction_of_characters_in_duplicate_8grams > 0.12",
        "gopher_v1__fraction_of_characters_in_duplicate_9grams > 0.11",
        "gopher_v1__fraction_of_characters_in_duplicate_10grams > 0.10",
    ],
    "c4_v1": ["has('c4_v1__has_lorem_ipsum') or has('c4_v1__has_curly_brace') or has('c4_v1__has_javascript') "
              "or has('c4_v1__has_naughty_word')",
              "count('c4_v1__lines_with_no_ending_punctuation') > 0.5 * c4_v1__line_count"],
    "pii_regex_v1": ["count('pii_regex_v1__EMAIL_ADDRESS') + count('pii_regex_v1__PHONE_NUMBER') + "
                     "count('pii_regex_v1__IP_ADDRESS') > 5"],
    "char_length_v1": ["char_length_v1__length < 100"],
}


def log(msg: str) -> None:
    print(msg, flush=True)


def prepare_corpus(work: Path, quick: bool) -> tuple[Path, int]:
    """Copy the corpus as .jsonl.gz under work/documents/<source>/ (quick: the first file of each source,
    cut to 150 documents)."""
    sys.path.insert(0, str(REPO / "packages" / "dolma-tools" / "src"))
    from dolma_tools.docio import expand_inputs, iter_json_lines

    docs_root = work / "documents"
    if docs_root.exists():
        shutil.rmtree(docs_root)
    n = 0
    seen_sources: set[str] = set()
    for path in expand_inputs(CORPUS):
        source = path.parent.name
        if quick and source in seen_sources:
            continue
        seen_sources.add(source)
        out = docs_root / source / path.name.replace(".jsonl.zst", ".jsonl.gz")
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(out, "wt", encoding="utf-8", compresslevel=1) as f:
            for i, (_, obj) in enumerate(iter_json_lines(path)):
                if quick and i >= 150:
                    break
                f.write(json.dumps(obj, ensure_ascii=False) + "\n")
                n += 1
    return docs_root, n


def read_attrs(root: Path) -> dict[str, dict]:
    sys.path.insert(0, str(REPO / "packages" / "dolma-tools" / "src"))
    from dolma_tools.docio import iter_json_lines

    out: dict[str, dict] = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        for _, obj in iter_json_lines(path):
            out[f"{path.relative_to(root)}:{obj['id']}"] = obj["attributes"]
    return out


def agreement(ours: dict[str, dict], theirs: dict[str, dict]) -> dict[str, float]:
    from dolma_tools.mixer.expressions import AttributeView, Expression

    compiled = {name: [Expression(e, name) for e in exprs] for name, exprs in RULES.items()}
    keys = sorted(set(ours) & set(theirs))
    if len(keys) != len(theirs) or len(keys) != len(ours):
        log(f"warning: {len(ours)} documents tagged by us, {len(theirs)} by the peer, {len(keys)} in common")
    result: dict[str, float] = {}
    for name, exprs in compiled.items():
        same = 0
        for k in keys:
            a, b = AttributeView(ours[k]), AttributeView(theirs[k])
            same += any(e(a) for e in exprs) == any(e(b) for e in exprs)
        result[name] = same / max(len(keys), 1)
    # Stricter than the decisions: identical spans for the PII and C4 line attributes.
    for attr in ("pii_regex_v1__EMAIL_ADDRESS", "pii_regex_v1__PHONE_NUMBER", "pii_regex_v1__IP_ADDRESS",
                 "c4_v1__lines_with_no_ending_punctuation", "c4_v1__lines_with_too_few_words"):
        same = sum(AttributeView(ours[k]).spans(attr) == AttributeView(theirs[k]).spans(attr) for k in keys)
        result[f"spans:{attr}"] = same / max(len(keys), 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one file per source, 150 documents each (about a minute)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--work", default="/tmp/dolma-tag-bench")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    dolma = ensure_peer()
    docs_root, n_docs = prepare_corpus(work, args.quick)
    log(f"corpus copy: {n_docs} documents under {docs_root}; processes={args.processes}")
    glob = str(docs_root / "*" / "*.jsonl.gz")
    attrs = work / "attributes"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TOKENIZERS_PARALLELISM": "false"}

    shutil.rmtree(attrs / "dolma", ignore_errors=True)
    peer_s, peer_mem = timed([str(dolma), "tag", "--documents", glob, "--experiment", "dolma", "--taggers", *TAGGERS,
                              "--processes", str(args.processes), "--ignore_existing"], env)
    log(f"peer  dolma tag        : {peer_s:7.1f}s  {n_docs / peer_s:8.1f} docs/s  peak RSS {peer_mem / 2**20:,.0f} MiB")

    shutil.rmtree(attrs / "ours", ignore_errors=True)
    shutil.rmtree(attrs / ".done", ignore_errors=True)
    ours_s, ours_mem = timed([sys.executable, "-m", "dolma_tools.cli", "tag", "--documents", glob, "--experiment",
                              "ours", "--taggers", *TAGGERS, "--processes", str(args.processes), "--no-progress"], env)
    log(f"ours  dolma-tools tag  : {ours_s:7.1f}s  {n_docs / ours_s:8.1f} docs/s  peak RSS {ours_mem / 2**20:,.0f} MiB")

    agree = agreement(read_attrs(attrs / "ours"), read_attrs(attrs / "dolma"))
    for k, v in agree.items():
        log(f"agreement {k:<48} {100 * v:7.3f}%")
    ratio = peer_s / ours_s
    min_decision = min(v for k, v in agree.items() if not k.startswith("spans:"))
    log(f"ratio (ours docs/s / peer docs/s) = {ratio:.2f}")
    print(f"RESULT dolma_tag ratio={ratio:.2f} ours_docs_per_s={n_docs / ours_s:.1f} "
          f"peer_docs_per_s={n_docs / peer_s:.1f} ours_peak_mib={ours_mem / 2**20:.0f} "
          f"peer_peak_mib={peer_mem / 2**20:.0f} min_decision_agreement={100 * min_decision:.3f}% docs={n_docs} "
          f"processes={args.processes}")


if __name__ == "__main__":
    main()
