"""Each pipeline stage hands the report its own section and the summary its own row: the report lays
them out in the order the stages ran, and shows nothing for a stage that did not run. Fake stages
under the real names stand in for the pipeline (seconds, not minutes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from olmo_stack.pipeline.report_build import build_report
from olmo_stack.pipeline.reporting import SECTIONS, SUMMARY_LINES
from olmo_stack.pipeline.run import _summary
from olmo_stack.stages import Pipeline, Stage, StageContext

EVAL = {"tasks": {"arc_easy": {"primary": 0.31, "primary_metric": "acc"}},
        "perplexity": {"overall": {"micro_ppl": 700.5}, "subdomains": {"demo/books": {"ppl": 650.0, "tokens": 100}}}}


def _curves(ctx: StageContext, rows: int = 3) -> Path:
    path = ctx.dir / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "train/loss": 3.0 - 0.1 * s, "optim/lr": 1e-4}) + "\n"
                            for s in range(1, rows + 1)))
    return path


def _fake(name: str, outputs: dict[str, str], metrics: dict[str, Any], after: tuple[str, ...] = ()) -> Stage:
    """A stage that writes its ``metrics`` output as a few curve rows and its ``hf_model`` as a folder."""
    def run(ctx: StageContext) -> dict[str, Any]:
        outs: dict[str, Path] = {}
        if "metrics" in outputs:
            outs["metrics"] = _curves(ctx)
        if "hf_model" in outputs:
            outs["hf_model"] = ctx.dir / "hf"
            outs["hf_model"].mkdir(exist_ok=True)
        return {"outputs": outs, "metrics": metrics}

    return Stage(name, run, after=after)


def _stages(until_sft: bool = False) -> list[Stage]:
    stages = [
        _fake("tokens", {}, {"tokens": 12345, "heldout_documents": {"books": 1},
                             "per_source": {"books": {"documents": 7, "tokens": 12345}}}),
        _fake("pretrain", {"metrics": "curves"}, {"inloop_history": [
            {"step": 0, "inloop/ppl/overall/micro_ppl": 50000.0}, {"step": 5, "inloop/ppl/overall/micro_ppl": 812.34}]},
            after=("tokens",)),
        _fake("eval_base", {}, {"checkpoint": "ck", **EVAL}, after=("pretrain",)),
        _fake("sft", {"metrics": "curves"}, {"steps": 3, "final_loss": 2.7}, after=("pretrain",)),
    ]
    if until_sft:
        return stages
    return stages + [
        _fake("onpolicy", {}, {"pairs": 120, "prompts": 200, "sample_accuracy": 0.41, "mixed": 120, "all_correct": 50,
                               "all_failed": 30, "settings": {"samples_per_prompt": 4, "temperature": 1.0},
                               "families": {"sorting": {"prompts": 200, "samples": 800, "sample_accuracy": 0.41,
                                                        "pairs": 120, "mixed": 120, "all_correct": 50,
                                                        "all_failed": 30}}}, after=("sft",)),
        _fake("dpo", {"metrics": "curves"}, {"steps": 3, "final_loss": 0.6}, after=("onpolicy",)),
        _fake("grpo", {"metrics": "curves"}, {"steps": 5, "final_loss": 0.01, "final_reward": 0.62}, after=("dpo",)),
        _fake("eval_verified", {}, {"examples": 100, "accuracy": {"sft": 0.40, "dpo": 0.47, "grpo": 0.55},
                                    "families": {"sorting": {"sft": 0.40, "dpo": 0.47, "grpo": 0.55}},
                                    "paired": {k: {"delta": d, "gained": g, "lost": 1, "p_value": p,
                                                   "families": {"sorting": {"delta": d, "gained": g, "lost": 1,
                                                                            "p_value": p}}}
                                               for k, d, g, p in (("sft->dpo", 0.07, 8, 0.0039),
                                                                  ("dpo->grpo", 0.08, 9, 0.0021),
                                                                  ("sft->grpo", 0.15, 16, 5.2e-5))}},
              after=("grpo",)),
        _fake("eval_adapted", {}, {"grpo": {"checkpoint": "d", **EVAL}}, after=("grpo",)),
        _fake("export", {"hf_model": "folder"}, {"hf_class": "OlmoForCausalLM", "parameters": 6_400_000},
              after=("grpo",)),
    ]


def _run(run_dir: Path, stages: list[Stage]) -> tuple[str, str]:
    manifests = Pipeline(run_dir, stages, log=lambda _: None).run()
    page = build_report(run_dir, manifests).read_text()
    console = Console(record=True, width=200)
    _summary(console, manifests, run_dir / "report" / "index.html", 60.0)
    return page, console.export_text()


def test_stages_contribute_their_sections_and_summary_rows(tmp_path: Path) -> None:
    assert {"filter", "decontaminate", "tokens", "pretrain", "routing", "tasks", "sft", "onpolicy", "dpo", "grpo",
            "eval_verified", "export"} <= {s for stages in SECTIONS for s in stages}
    assert {"tokens", "pretrain", "eval_base", "onpolicy", "grpo", "eval_verified", "export"} <= set(SUMMARY_LINES)
    page, summary = _run(tmp_path / "run", _stages())
    titles = re.findall(r'<h2 id="s\d+">([^<]*)</h2>', page)
    # Evaluation reads eval_base and eval_adapted: it sits where eval_base ran, before SFT
    assert titles == ["Stages", "Token counts", "Pretraining", "Evaluation", "SFT", "On-policy preferences", "DPO",
                      "GRPO", "Adaptation on verifiable tasks", "Export and lineage"]
    assert "McNemar p" in page and "verified_accuracy.png" in page and "OlmoForCausalLM" in page and "fingerprint" in page
    assert "12,345 training tokens" in summary
    assert "held-out ppl 50000 (step 0) -> 812.3 (step 5)" in summary and "held-out ppl 700.5" in summary
    assert "120 pairs from 200 prompts (SFT samples verified 0.41)" in summary
    assert ("held-out verified accuracy SFT 0.400 -> DPO 0.470 -> GRPO 0.550 (100 tasks; McNemar sft->dpo p=0.0039, "
            "dpo->grpo p=0.0021)") in summary
    assert "OlmoForCausalLM with 6,400,000 parameters" in summary


def test_a_stage_that_did_not_run_shows_nothing(tmp_path: Path) -> None:
    page, summary = _run(tmp_path / "run", _stages(until_sft=True))
    assert re.findall(r'<h2 id="s\d+">([^<]*)</h2>', page) == ["Stages", "Token counts", "Pretraining", "Evaluation",
                                                               "SFT"]
    assert "DPO" not in summary and "export" not in summary and "GRPO" not in summary
