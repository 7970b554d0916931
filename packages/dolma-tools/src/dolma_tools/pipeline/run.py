"""``run_pipeline``: tag -> filter (mix) -> dedupe -> mix -> [decontaminate] -> tokens, resumable step
by step (decontaminate runs when ``decontaminate.eval_documents`` names eval data).

Each step writes ``<work_dir>/steps/<step>.json`` when it completes, holding a key made of its own
config and the keys of the steps before it, and its per-source counts. A second run skips every step
whose record matches (a changed config reruns that step and the ones after it); inside a step, tag,
mix and tokens also resume per file. Layout under ``work_dir``: ``attributes/<set>/`` (tags of the
raw documents), ``filtered/`` (first mix), ``dedupe_attributes/<set>/``, ``deduped/`` (second mix),
``decontaminated/`` (its ``clean/`` documents, flags and report), ``tokens/`` (the token arrays),
``funnel.json`` and ``funnel.png``."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from dolma_tools.atomic import sweep_temporaries, write_json_atomic
from dolma_tools.hashing import json_key
from dolma_tools.pipeline.config import PipelineConfig
from dolma_tools.pipeline.funnel import build_funnel, plot_funnel, print_funnel


class Steps:
    """Completion records of the steps of one work folder."""

    def __init__(self, work: Path, console: Console) -> None:
        self.dir = work / "steps"
        self.dir.mkdir(parents=True, exist_ok=True)
        for folder in (work, self.dir):  # records and the funnel a killed run was writing
            sweep_temporaries(folder)
        self.console = console
        self.key = ""

    def run(self, name: str, config: Any, fn: Any) -> dict[str, Any]:
        self.key = json_key([self.key, name, config])
        path = self.dir / f"{name}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            if record.get("key") == self.key:
                self.console.print(f"[bold]{name}[/]: done earlier, skipped")
                return record["result"]
        t0 = time.perf_counter()
        self.console.rule(f"[bold]{name}")
        result = fn()
        write_json_atomic(path, {"key": self.key, "seconds": round(time.perf_counter() - t0, 2), "result": result},
                          indent=2, default=str)
        self.console.print(f"[bold]{name}[/]: {time.perf_counter() - t0:.1f}s")
        return result


def _check(summary: Any) -> None:
    if not summary.ok:
        raise RuntimeError(f"{summary.description}: {len(summary.failures)} files failed: "
                           + "; ".join(f"{k}: {v}" for k, v in list(summary.failures.items())[:3]))


def _mix(documents: list[str], attributes: list[str], attributes_root: Path, destination: Path,
         cfg: dict[str, Any], processes: int, progress: bool, executor: str = "local",
         ray_address: str | None = None) -> dict[str, Any]:
    from dolma_tools.mixer.config import mix_config_from_dict
    from dolma_tools.mixer.run import aggregate, mix

    mc = mix_config_from_dict({**cfg, "documents": documents, "attributes": attributes,
                               "attributes_root": str(attributes_root), "destination": str(destination)})
    summary = mix(mc, processes=processes, progress=progress, executor=executor, ray_address=ray_address)
    _check(summary)
    sources, errors = aggregate(summary)
    return {"before": {s: {"documents": v["docs"], "characters": v["chars_in"]} for s, v in sources.items()},
            "after": {s: {"documents": v["written"], "characters": v["chars_out"]} for s, v in sources.items()},
            "removed_by": {s: v["removed_by"] for s, v in sources.items()}, "errors": errors}


def _content_key(decont: Any) -> str:
    """The eval documents' files and sizes: a changed eval export reruns the step (whose index is
    keyed by the full content anyway)."""
    from dolma_tools.docio import expand_inputs

    return json_key([[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in expand_inputs(list(decont.eval_documents))])


def run_pipeline(config: PipelineConfig, *, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 220)
    t0 = time.perf_counter()
    work = Path(config.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    steps = Steps(work, console)
    p, progress = config.processes, config.progress
    docs = list(config.documents)
    tag_sets = [t.experiment for t in config.tag]

    def do_tag() -> dict[str, Any]:
        from dolma_tools.taggers.run import tag

        out = {}
        for t in config.tag:
            s = tag(docs, list(t.taggers), experiment=t.experiment, attributes_root=work / "attributes",
                    processes=p, progress=progress, executor=config.executor, ray_address=config.ray_address)
            _check(s)
            out[t.experiment] = s.to_json()
        return out

    steps.run("tag", [docs, [asdict(t) for t in config.tag]], do_tag)

    filter_cfg = asdict(config.filter)
    filtered = steps.run("filter", filter_cfg, lambda: _mix(
        docs, tag_sets, work / "attributes", work / "filtered", filter_cfg, p, progress, config.executor, config.ray_address))

    bloom = config.dedupe.bloom
    minhash = config.dedupe.minhash

    def do_dedupe() -> dict[str, Any]:
        from dataclasses import replace

        from dolma_tools.dedupe import dedupe_files
        from dolma_tools.dedupe.minhash import minhash_dedupe

        root = work / "dedupe_attributes"
        shutil.rmtree(root, ignore_errors=True)  # attributes must match the filtered documents exactly
        ray = {"executor": config.executor, "ray_address": config.ray_address}
        out = {"bloom": dedupe_files(work / "filtered", replace(bloom, processes=p), destination=root / bloom.name,
                                     progress=progress, **ray)}
        out["bloom"].pop("per_file", None)
        if config.dedupe.minhash_enabled:
            out["minhash"] = minhash_dedupe(work / "filtered", replace(minhash, processes=p),
                                            destination=root / minhash.name, **ray)
        return out

    dd = steps.run("dedupe", asdict(config.dedupe), do_dedupe)
    sets = [bloom.name] + ([minhash.name] if config.dedupe.minhash_enabled else [])
    dedupe_mix = {"span_replacement": [{"name": "duplicate_paragraphs", "attribute": dd["bloom"]["attribute"],
                                        "replacement": "", "min_score": 0.5}],
                  "exclude": ({"near_duplicate": f"count('{dd['minhash']['attribute']}') > 0"}
                              if config.dedupe.minhash_enabled else {})}
    deduped = steps.run("mix", dedupe_mix, lambda: _mix(
        [str(work / "filtered")], sets, work / "dedupe_attributes", work / "deduped", dedupe_mix, p, progress, config.executor, config.ray_address))

    funnel_steps = [("raw", filtered["before"]), ("filter", filtered["after"]), ("dedupe", deduped["after"])]
    tokens_input = work / "deduped"
    decont = config.decontaminate
    if decont.eval_documents:
        def do_decontaminate() -> dict[str, Any]:
            from dolma_tools.decont import decontaminate

            return decontaminate(list(decont.eval_documents), work / "deduped", work / "decontaminated", decont.config,
                                 executor=config.executor, processes=p, ray_address=config.ray_address)

        dc = steps.run("decontaminate", [list(decont.eval_documents), asdict(decont.config), _content_key(decont)],
                       do_decontaminate)
        funnel_steps.append(("decontaminate", dc["kept_per_source"]))
        tokens_input = work / "decontaminated" / "clean"

    def do_tokens() -> dict[str, Any]:
        from dolma_tools.tokens import tokenize_files

        t = config.tokens
        return tokenize_files(tokens_input, work / "tokens", tokenizer=t.tokenizer,
                              max_tokens_per_file=t.max_tokens_per_file, batch_size=t.batch_size, processes=p,
                              shuffle_seed=t.shuffle_seed, progress=progress, executor=config.executor,
                              ray_address=config.ray_address)

    tokens = steps.run("tokens", asdict(config.tokens), do_tokens)

    funnel = build_funnel(funnel_steps, tokens["per_source"])
    funnel["seconds"] = round(time.perf_counter() - t0, 2)
    write_json_atomic(work / "funnel.json", funnel, indent=2)
    png = plot_funnel(funnel, work / "funnel.png")
    print_funnel(funnel, console)
    console.print(f"token arrays: {work / 'tokens'} ({len(tokens['shards'])} shards); funnel plot: {png}; "
                  f"{funnel['seconds']:.1f}s in all")
    return {"funnel": funnel, "tokens": tokens, "dedupe": dd, "work_dir": str(work), "funnel_png": str(png)}
