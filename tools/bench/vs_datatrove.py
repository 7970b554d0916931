"""Benchmark: dolma-tools against datatrove 0.10.1 (pinned, its own venv) on the same documents.

Two comparisons, each through ``tools/bench/harness.py`` (a warm-up round per side, then alternating
timed rounds, one command per round as a user runs it, start-up included, 2 processes a side):

1. **filter** (the headline ``RESULT`` line, goal 3x): fastText language ID (lid.176, English above
   0.65), Gopher quality rules, C4 quality rules; kept documents written.
   * datatrove: ``LanguageFilter(languages=["en"], language_threshold=0.65)`` ->
     ``GopherQualityFilter()`` -> ``C4QualityFilter()`` -> ``JsonlWriter``, each filter with an
     ``exclusion_writer`` (so the dropping stage of every document is known), on
     ``LocalPipelineExecutor(tasks=2, workers=2)``: one task per core is its documented local setting.
     Its LID model: the shared ``lid.176.ftz``, placed in datatrove's asset cache where its
     downloader looks (``sides/datatrove_filter.py``), so nothing is downloaded.
   * ours: ``dolma-tools mix --recipe <written here> --processes 2``: taggers ``ft_lang_id_en_doc_v2``,
     ``gopher_v1``, ``c4_v1`` on the same model file (``$DOLMA_TOOLS_LID_MODEL``), then the mixer with
     datatrove's thresholds on our attributes (``filter_recipe``) and C4's line removals as span
     replacements.
2. **minhash** (goal 2x): near-duplicate documents, word 5-grams, the same bands x rows on both
   (default datatrove's 14 x 8).
   * datatrove: its four stages (``MinhashDedupSignature``, ``MinhashDedupBuckets``,
     ``MinhashDedupCluster``, ``MinhashDedupFilter``) on ``LocalPipelineExecutor`` (stages 1 and 4:
     tasks=2, workers=2; stage 2: one task per bucket, 2 workers; stage 3: its single task), cluster
     ids saved; ``sides/datatrove_minhash.py``.
   * ours: ``dolma-tools dedupe --mode minhash --processes 2 --clusters ...`` (its public CLI only, so
     whatever its internals become is what is measured), same shingle size, bands and rows, threshold 0.8
     (its default).
   The documents: ``dolma-tools synth-corpus`` run on a slice of the shared corpus (``--scale``, with
   exact and near-duplicate copies planted at stated Jaccard bands and a truth key). Precision and
   recall of both sides are scored here, the same way, against that key and the texts
   (``vs_datatrove_planted.py``).

The rules are not all the same; what differs is printed and recorded (``FILTER_DIFFERENCES``):
datatrove's Gopher counts spaCy tokens of the text, ours (Dolma's ``gopher_v1``) whitespace words (its
alphabetic-word fraction counts punctuation tokens as words, so much prose falls below 0.8 there);
its stop-word rule counts distinct stop words, ours occurrences; its bullets are "•"/"-" after
leading blanks, ours "*"/"-" at the line start; its ellipsis lines also count "...", ours only "…";
its C4 filter removes citations, treats lines ending in "'" as punctuated and "..." as not, needs 5
sentences (spaCy) after line removal, and drops a document for "lorem ipsum" or "{" only on a
surviving line; ours has no sentence rule and drops for them anywhere. fastText sees the text as is
in datatrove, lower-cased in ours (Dolma's definition). MinHash: datatrove shingles spaCy tokens of
normalised text (lower case, no punctuation, digits folded) and joins any pair sharing a bucket;
ours shingles whitespace words of the raw text and joins candidates whose signatures agree on at
least 0.8 of the positions. So keep/drop agreement is reported per stage and gated nowhere
exactly; the work check (no ratio without it) requires: the same documents in on both sides, every
document decided exactly once by each, the kept count each side wrote equal to what its own decisions
say, the language stage agreeing on at least 90% of documents (same model and threshold; the input's
case differs); for MinHash every document accounted for once, every removed document with a kept one, and every
exact planted pair joined by both.

    uv run --frozen python tools/bench/vs_datatrove.py --quick    # 52 + 104 documents; 451 s measured with the
                                                                  # 2 cores at load ~13 (shared), mostly datatrove
    uv run --frozen python tools/bench/vs_datatrove.py            # 60 documents per source file
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import vs_datatrove_planted as planted  # noqa: E402

# spaCy: its English word tokenizer (Gopher, C4 sentences, MinHash shingles); aiohttp: fsspec needs it to
# resolve the https address of its LID model, even when the file is already in its cache
PEER = harness.PeerEnv(("datatrove[io,processing]==0.10.1", "spacy==3.8.18", "aiohttp==3.14.5"))
CORPUS = harness.SHARED / "corpus"
LID_MODEL = harness.SHARED / "models" / "lid.176.ftz"
SIDES = harness.HERE / "sides"
SRC = harness.REPO / "packages" / "dolma-tools" / "src"
LANGUAGE_THRESHOLD = 0.65  # datatrove's LanguageFilter default
STAGES = ("language", "gopher", "c4")
MIN_LANGUAGE_AGREEMENT = 0.9

MINHASH_DIFFERENCES = (
    "datatrove shingles spaCy tokens of normalised text (lower case, punctuation removed, digits folded) and joins "
    "every pair sharing a bucket; ours shingles whitespace words of the raw text and joins candidates whose "
    "signatures agree on at least the threshold (0.8)")
FILTER_DIFFERENCES = {
    "language": "same lid.176 model and threshold (en > 0.65); datatrove predicts on the text with newlines "
                "as spaces, ours (Dolma's ft_lang_id_en_doc_v2) on the lower-cased text",
    "gopher": "datatrove counts spaCy word tokens, ours whitespace words (Dolma's gopher_v1): its word count and "
              "mean length skip punctuation tokens, but its alphabetic-word fraction counts them (prose with "
              "much punctuation falls below 0.8 there, not here); mean word length over non-symbol tokens vs all words; "
              "'#' and ellipsis occurrences per token vs words holding them; bullets '•'/'-' after leading "
              "blanks vs '*'/'-' at the line start; ellipsis lines '...' or '…' vs '…'; >= 2 distinct stop "
              "words vs >= 2 occurrences",
    "c4": "datatrove removes citations, accepts lines ending in \"'\", rejects lines ending in '...', drops "
          "lines with a word over 1000 characters, needs >= 5 sentences (spaCy) after line removal, and drops "
          "for 'lorem ipsum' or '{' only on surviving lines; ours: no sentence rule, drops for them anywhere",
}


def filter_recipe(experiment: str) -> dict[str, Any]:
    """Our recipe for datatrove's three filters at its default thresholds, on Dolma-named attributes.
    Rule names start with the datatrove stage they stand for."""
    g = "gopher_v1__"
    return {
        "name": "vs_datatrove_filter",
        "tag": [{"experiment": experiment, "taggers": ["ft_lang_id_en_doc_v2", "gopher_v1", "c4_v1"]}],
        "mix": {
            "attributes": [experiment],
            "include": {"language_en": f"ft_lang_id_en_doc_v2__en > {LANGUAGE_THRESHOLD}"},
            "exclude": {
                "gopher_word_count": f"{g}word_count < 50 or {g}word_count > 100000",
                "gopher_word_length": f"{g}mean_word_length < 3 or {g}mean_word_length > 10",
                "gopher_symbol_ratio": f"{g}symbol_to_word_ratio > 0.1",
                "gopher_bullet_lines": f"{g}fraction_of_lines_starting_with_bullet_point > 0.9",
                "gopher_ellipsis_lines": f"{g}fraction_of_lines_ending_with_ellipsis > 0.3",
                "gopher_alpha_words": f"{g}fraction_of_words_with_alpha_character < 0.8",
                "gopher_stop_words": f"{g}required_word_count < 2",
                "c4_lorem_ipsum": "has('c4_v1__has_lorem_ipsum')",
                "c4_curly_bracket": "has('c4_v1__has_curly_brace')",
            },
            "span_replacement": [
                {"name": f"c4_{a}", "attribute": f"c4_v1__{a}", "replacement": ""}
                for a in ("lines_with_no_ending_punctuation", "lines_with_too_few_words", "lines_with_javascript",
                          "lines_with_policy")],
        },
    }


# --------------------------------------------------------------------------------------------------
# Reading each side's outputs


def read_jsonl(root: Path, pattern: str = "*.jsonl.gz") -> list[dict[str, Any]]:
    """Every JSON line of the files under ``root`` matching ``pattern`` (hidden folders, e.g. resume
    markers, skipped)."""
    sys.path.insert(0, str(SRC))
    from dolma_tools.docio import iter_json_lines

    paths = [p for p in sorted(root.rglob(pattern)) if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return [obj for path in paths for _, obj in iter_json_lines(path)]


def datatrove_decisions(out: Path) -> dict[str, Any]:
    """Per document id: the stage whose exclusion writer holds it, or ``kept``."""
    decided: dict[str, list[str]] = {}
    for stage in STAGES:
        for obj in read_jsonl(out / "removed" / stage):
            decided.setdefault(obj["id"], []).append(stage)
    kept = read_jsonl(out / "kept")
    for obj in kept:
        decided.setdefault(obj["id"], []).append("kept")
    return {"decisions": decided, "kept_written": len(kept)}


def our_decisions(attrs: Path, kept_root: Path, recipe: dict[str, Any]) -> dict[str, Any]:
    """Per document id: the first datatrove stage one of our rules for it fired in, or ``kept``, from
    the attribute files; and how many documents the mixer wrote."""
    from dolma_tools.mixer.expressions import AttributeView, Expression

    include = {n: Expression(e, n) for n, e in recipe["mix"]["include"].items()}
    exclude = {n: Expression(e, n) for n, e in recipe["mix"]["exclude"].items()}
    merged: dict[str, dict[str, Any]] = {}
    for obj in read_jsonl(attrs):
        merged.setdefault(obj["id"], {}).update(obj.get("attributes") or {})
    decided: dict[str, list[str]] = {}
    en: dict[str, float] = {}
    for doc_id, attributes in merged.items():
        view = AttributeView(attributes)
        en[doc_id] = view.value("ft_lang_id_en_doc_v2__en")
        stage = "kept"
        if not all(e(view) for e in include.values()):
            stage = "language"
        else:
            fired = [n for n, e in exclude.items() if e(view)]
            stage = next((s for s in STAGES[1:] for n in fired if n.startswith(s)), "kept")
        decided[doc_id] = [stage]
    kept = read_jsonl(kept_root, "*.jsonl.zst")
    return {"decisions": decided, "kept_written": len(kept), "en": en,
            "kept_ids": sorted(obj["id"] for obj in kept)}


def filter_check(report: dict[str, Any]):  # noqa: ANN201
    """The work check of the filter comparison (see the module docstring); agreement goes to ``report``."""
    def check(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[bool, str]:
        a, b = ours["decisions"], theirs["decisions"]
        if set(a) != set(b) or not a:
            return False, f"documents differ: {len(a)} decided by ours, {len(b)} by datatrove"
        twice = [k for d in (a, b) for k, v in d.items() if len(v) != 1]
        if twice:
            return False, f"{len(twice)} documents decided more than once, e.g. {twice[:3]}"
        for name, side in (("ours", ours), ("datatrove", theirs)):
            n_kept = sum(v == ["kept"] for v in side["decisions"].values())
            if n_kept != side["kept_written"]:
                return False, f"{name}: {n_kept} documents pass its rules but {side['kept_written']} were written"
        if set(ours["kept_ids"]) != {k for k, v in a.items() if v == ["kept"]}:
            return False, "ours: the documents written are not the ones its attributes keep"
        n = len(a)
        stage_a = {k: v[0] for k, v in a.items()}
        stage_b = {k: v[0] for k, v in b.items()}
        agree: dict[str, dict[str, Any]] = {}
        for i, stage in enumerate(STAGES):
            # the documents that reached this stage in both pipelines
            reached = [k for k in a if stage_a[k] not in STAGES[:i] and stage_b[k] not in STAGES[:i]]
            same = sum((stage_a[k] == stage) == (stage_b[k] == stage) for k in reached)
            agree[stage] = {"documents": len(reached), "agree": same,
                            "dropped_ours": sum(stage_a[k] == stage for k in reached),
                            "dropped_datatrove": sum(stage_b[k] == stage for k in reached)}
        overall = sum((stage_a[k] == "kept") == (stage_b[k] == "kept") for k in a)
        report.update(stage_agreement=agree, keep_drop_agreement=overall / n, documents=n,
                      kept_ours=ours["kept_written"], kept_datatrove=theirs["kept_written"],
                      differences=FILTER_DIFFERENCES)
        lang = agree["language"]["agree"] / n
        notes = "; ".join(f"{s}: {v['agree']}/{v['documents']} agree (dropped: ours {v['dropped_ours']}, "
                          f"datatrove {v['dropped_datatrove']})" for s, v in agree.items())
        note = (f"{n} documents, each decided once by both; keep/drop agreement {overall}/{n}; per stage, on the "
                f"documents reaching it in both: {notes}; kept ours {ours['kept_written']}, datatrove "
                f"{theirs['kept_written']}")
        if lang < MIN_LANGUAGE_AGREEMENT:
            return False, note + f"; language agreement {lang:.3f} < {MIN_LANGUAGE_AGREEMENT}"
        return True, note

    return check


# --------------------------------------------------------------------------------------------------
# The comparisons


def write_documents(root: Path, files: dict[str, list[dict[str, Any]]]) -> int:
    """``files``: relative path (``<source>/<name>.jsonl.gz``) -> documents. Returns the count."""
    shutil.rmtree(root, ignore_errors=True)
    n = 0
    for rel, docs in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
                n += 1
    return n


def ours_cli() -> list[str]:
    exe = Path(sys.executable).with_name("dolma-tools")  # the console script, as a user runs it
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dolma_tools.cli"]


def clear(*paths: Path):  # noqa: ANN201
    def before() -> None:
        for p in paths:
            shutil.rmtree(p, ignore_errors=True)
    return before


def compare_filter(work: Path, docs_per_file: int | None, args: argparse.Namespace) -> harness.Result:
    files = planted.corpus_slice(CORPUS, docs_per_file, max_files=args.files_per_source, max_chars=args.max_chars)
    docs_root = work / "filter-docs"
    n_docs = write_documents(docs_root, files)
    n_chars = sum(len(d["text"]) for docs in files.values() for d in docs)
    recipe = filter_recipe("dt")
    recipe_path = work / "filter-recipe.yaml"
    recipe_path.write_text(json.dumps(recipe, indent=1))  # JSON is YAML
    ours_out, peer_out = work / "filter-ours", work / "filter-datatrove"
    peer_cfg = work / "filter-datatrove.json"
    peer_cfg.write_text(json.dumps({"documents": str(docs_root), "output": str(peer_out), "tasks": args.processes,
                                    "workers": args.processes, "language_threshold": LANGUAGE_THRESHOLD,
                                    "lid_model": str(LID_MODEL)}))
    ours = harness.Command(
        "dolma-tools mix", [*ours_cli(), "mix", "--recipe", recipe_path, "--documents",
                            str(docs_root / "*" / "*.jsonl.gz"), "--destination", ours_out / "kept",
                            "--attributes-root", ours_out / "attributes", "--processes", args.processes,
                            "--no-progress"],
        collect=lambda: (float(n_docs), our_decisions(ours_out / "attributes", ours_out / "kept", recipe)),
        before=clear(ours_out), env={"DOLMA_TOOLS_LID_MODEL": str(LID_MODEL)})
    theirs = harness.Command(
        "datatrove pipeline", [PEER.python, SIDES / "datatrove_filter.py", peer_cfg],
        collect=lambda: (float(n_docs), datatrove_decisions(peer_out)),
        before=clear(peer_out), env={"HF_ASSETS_CACHE": str(work / "hf-assets")})
    report: dict[str, Any] = {}
    for stage, text in FILTER_DIFFERENCES.items():
        harness.log(f"   rules differ, {stage}: {text}")
    return harness.compare(
        "vs_datatrove", ours, theirs, peer=PEER.label, unit="docs/s", rounds=args.rounds, goal=3.0,
        variant="quick" if args.quick else "",
        work=(f"language ID + Gopher quality + C4 quality on {n_docs:,} documents ({n_chars / 1e6:.1f} M characters, "
              f"{len(files)} files of 6 sources), kept documents written; {args.processes} processes; one command "
              "per round, start-up included"),
        check=filter_check(report),
        peer_setting=(f"LanguageFilter(en, 0.65) -> GopherQualityFilter() -> C4QualityFilter() -> JsonlWriter, "
                      f"exclusion writers; LocalPipelineExecutor(tasks={args.processes}, workers={args.processes}); "
                      "lid.176.ftz placed in its asset cache (no download)"),
        limits=("small quick runs are mostly start-up (datatrove: spaCy import, forkserver workers); fastText on "
                "whole documents is most of the rest; ours also computes gopher_v1's repetition statistics, which "
                "this recipe does not read"),
        extra={"documents": n_docs, "characters": n_chars, "agreement": report})


def compare_minhash(work: Path, docs_per_file: int | None, args: argparse.Namespace, primary: bool) -> harness.Result:
    base = planted.corpus_slice(CORPUS, docs_per_file, max_files=args.files_per_source, max_chars=args.max_chars)
    write_documents(work / "minhash-base", base)
    shutil.rmtree(work / "synth", ignore_errors=True)
    docs_root, truth, texts = planted.synth(ours_cli(), work / "minhash-base", work / "synth", scale=args.scale,
                                            seed=args.seed, near=args.near_dup_rate, exact=args.exact_dup_rate,
                                            shards=2 * args.processes)
    n_docs, threshold = len(texts), args.minhash_threshold
    ours_out, peer_out = work / "minhash-ours", work / "minhash-datatrove"
    peer_cfg = work / "minhash-datatrove.json"
    peer_cfg.write_text(json.dumps({"documents": str(docs_root), "glob": "*.jsonl.gz", "output": str(peer_out),
                                    "tasks": args.processes, "workers": args.processes, "n_grams": 5,
                                    "buckets": args.bands, "hashes_per_bucket": args.rows}))
    name = "minhash"
    ours = harness.Command(
        "dolma-tools dedupe --mode minhash",
        [*ours_cli(), "dedupe", "--mode", "minhash", "--documents", str(docs_root / "*.jsonl.gz"),
         "--destination", ours_out / "attributes", "--name", name, "--shingle-size", 5, "--bands", args.bands,
         "--rows", args.rows, "--threshold", threshold, "--clusters", ours_out / "clusters.jsonl.gz",
         "--processes", args.processes, "--no-progress"],
        collect=lambda: (float(n_docs), planted.ours_clusters(read_jsonl(ours_out / "attributes"),
                                                              read_jsonl(ours_out, "clusters.jsonl.gz"),
                                                              f"{name}__minhash__")),
        before=clear(ours_out))
    theirs = harness.Command(
        "datatrove minhash", [PEER.python, SIDES / "datatrove_minhash.py", peer_cfg],
        collect=lambda: (float(n_docs), planted.datatrove_clusters(read_jsonl(peer_out / "removed"),
                                                                   read_jsonl(peer_out / "kept"))),
        before=clear(peer_out))
    report: dict[str, Any] = {}
    harness.log(f"   synth-corpus (scale {args.scale}, seed {args.seed}): {n_docs} documents, {planted.describe(truth)}")
    harness.log(f"   rules differ, minhash: {MINHASH_DIFFERENCES}")
    return harness.compare(
        "vs_datatrove", ours, theirs, peer=PEER.label, unit="docs/s", rounds=args.rounds, goal=2.0,
        variant="minhash" + (", quick" if args.quick else ""), primary=primary,
        work=(f"MinHash near-duplicates of {n_docs:,} documents (dolma-tools synth-corpus, {len(truth)} planted "
              f"pairs), word 5-grams, {args.bands} bands x {args.rows} rows; {args.processes} processes; one command "
              "per round, start-up included; clusters written"),
        check=planted.check(truth, texts, threshold, report),
        peer_setting=(f"MinhashConfig(n_grams=5, num_buckets={args.bands}, hashes_per_bucket={args.rows}); its four "
                      f"stages on LocalPipelineExecutor (tasks {args.processes}/{args.bands}/1/{args.processes}, "
                      f"workers {args.processes}), cluster ids saved"),
        limits="datatrove tokenises every document with spaCy and starts four executors; ours hashes whitespace "
               "shingles in NumPy",
        extra={"documents": n_docs, "planted_pairs": len(truth), "quality": report,
               "differences": MINHASH_DIFFERENCES})


def main() -> list[harness.Result]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few documents per source (about a minute)")
    ap.add_argument("--docs-per-file", type=int, default=None,
                    help="documents per corpus file, filter comparison (default: quick 10, else 60)")
    ap.add_argument("--minhash-docs-per-file", type=int, default=None,
                    help="documents per corpus file before planting, MinHash comparison (default: quick 10, else 60)")
    ap.add_argument("--files-per-source", type=int, default=1, help="corpus files per source (first ones)")
    ap.add_argument("--max-chars", type=int, default=None,
                    help="skip documents longer than this (default: quick 6000, else no limit)")
    ap.add_argument("--only", choices=["filter", "minhash"], default=None)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--bands", type=int, default=14, help="LSH bands (datatrove: num_buckets)")
    ap.add_argument("--rows", type=int, default=8, help="rows per band (datatrove: hashes_per_bucket)")
    ap.add_argument("--scale", type=int, default=2, help="synth-corpus: output documents per input document")
    ap.add_argument("--near-dup-rate", type=float, default=0.3, help="synth-corpus: share of near-duplicate copies")
    ap.add_argument("--exact-dup-rate", type=float, default=0.05, help="synth-corpus: share of exact copies")
    ap.add_argument("--minhash-threshold", type=float, default=0.8,
                    help="ours: signature agreement that joins a candidate pair; also the Jaccard scored as right")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default="/tmp/vs-datatrove-bench")
    args = ap.parse_args()
    docs_per_file = args.docs_per_file if args.docs_per_file is not None else (10 if args.quick else 60)
    minhash_docs = args.minhash_docs_per_file if args.minhash_docs_per_file is not None else (10 if args.quick else 60)
    if args.max_chars is None and args.quick:
        args.max_chars = 6000
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    PEER.ensure()
    results = []
    if args.only in (None, "filter"):
        results.append(compare_filter(work, docs_per_file, args))
    if args.only in (None, "minhash"):
        results.append(compare_minhash(work, minhash_docs, args, primary=args.only == "minhash"))
    return results


if __name__ == "__main__":
    harness.run(main)
