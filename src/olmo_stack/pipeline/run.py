"""Compose the stages from a :class:`StackConfig`, run them (skipping finished ones) and write the report."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from olmo_stack.pipeline.adapt import stage_dpo, stage_grpo, stage_onpolicy, stage_sft, stage_tasks
from olmo_stack.pipeline.adapt_eval import stage_eval_verified
from olmo_stack.pipeline.config import StackConfig
from olmo_stack.pipeline.data import (
    corpus_inputs,
    resolve_dolma_config,
    stage_decontaminate,
    stage_filter,
    stage_tokens,
)
from olmo_stack.pipeline.energy_report import energy_cell, total_line
from olmo_stack.pipeline.evaluate import stage_eval_adapted, stage_eval_base
from olmo_stack.pipeline.export import stage_export, stage_routing
from olmo_stack.pipeline.learning_curve import stage_learning_curve
from olmo_stack.pipeline.report_build import build_report
from olmo_stack.pipeline.reporting import summary_of
from olmo_stack.pipeline.trace import stage_trace
from olmo_stack.pipeline.train import PretrainStageConfig, stage_pretrain
from olmo_stack.stages import Pipeline, Stage, sha256_file


def _sha_if_file(path: str) -> str | None:
    # A shipped dolma-tools config is named, not a path: its version pins it through package_versions.
    return sha256_file(Path(path)) if Path(path).is_file() else None


def build_stages(cfg: StackConfig) -> list[Stage]:
    d = dataclasses.asdict(cfg.data)
    ev = dataclasses.asdict(cfg.eval)
    a = cfg.adapt
    stages = [
        Stage("filter", stage_filter, config={**{k: d[k] for k in ("corpus", "dolma_config", "dolma_overrides", "processes",
                                                                 "executor", "ray_address")},
                                              "dolma_config_sha256": _sha_if_file(resolve_dolma_config(cfg.data.dolma_config))},
              raw_inputs=tuple(Path(x) for x in corpus_inputs(cfg.data.corpus))),
        # every data stage follows data.executor (outputs are byte-identical on Ray and locally)
        Stage("decontaminate", stage_decontaminate,
              config={"tasks": d["decontaminate"], **{k: d[k] for k in ("executor", "ray_address", "processes")}},
              after=("filter",)),
        Stage("tokens", stage_tokens, config={k: d[k] for k in ("heldout_every", "processes", "max_tokens_per_file",
                                                                "executor", "ray_address")},
              after=("decontaminate",)),
        Stage("pretrain", stage_pretrain, config=PretrainStageConfig(cfg.pretrain, cfg.moe, cfg.eval.max_docs_per_subdomain),
              after=("tokens",)),
    ]
    if cfg.moe:
        stages.append(Stage("routing", stage_routing, after=("pretrain", "tokens")))
    # every revision pretraining published, scored with the in-loop tasks: the report's learning curve
    stages.append(Stage("learning_curve", stage_learning_curve, config=cfg.learning_curve, after=("pretrain", "tokens")))
    # what the pretrained model echoes of its training data, traced through the index of its tokens
    stages.append(Stage("trace", stage_trace, config=cfg.trace, after=("pretrain", "tokens")))
    stages += [
        Stage("eval_base", stage_eval_base, config=ev, after=("pretrain", "tokens")),
        # adaptation on procedural verifiable tasks: SFT -> on-policy DPO -> GRPO, each judged on the same
        # held-out tasks
        Stage("tasks", stage_tasks, config=a.tasks),
        Stage("sft", stage_sft, config=a.sft, after=("pretrain", "tasks")),
        Stage("onpolicy", stage_onpolicy, config=a.onpolicy, after=("sft", "tasks")),
        Stage("dpo", stage_dpo, config=a.dpo, after=("sft", "onpolicy")),
        Stage("grpo", stage_grpo, config=a.grpo, after=("dpo", "tasks")),
        Stage("eval_verified", stage_eval_verified, config=a.eval, after=("tasks", "pretrain", "sft", "dpo", "grpo")),
        Stage("eval_adapted", stage_eval_adapted, config=ev, after=("grpo", "tokens")),
        Stage("export", stage_export, config={"moe": cfg.moe}, after=("grpo",)),
    ]
    return stages


def run_stack(cfg: StackConfig, *, console: Console | None = None, until: str | None = None) -> dict[str, Any]:
    console = console or Console()
    run_dir = Path(cfg.out).resolve()
    t0 = time.time()
    console.rule(f"[bold]olmo-stack {cfg.name}[/] -> {run_dir}" + (" (MoE)" if cfg.moe else ""))
    pipeline = Pipeline(run_dir, build_stages(cfg), log=lambda m: console.print(m, style="bold cyan", markup=False),
                        meter=cfg.energy.build())
    manifests = pipeline.run(until=until)
    report = build_report(run_dir, manifests)
    elapsed = time.time() - t0
    _summary(console, manifests, report, elapsed)
    return {"manifests": manifests, "report": report, "seconds": elapsed}


def _summary(console: Console, manifests: dict[str, dict[str, Any]], report: Path, elapsed: float) -> None:
    from rich.table import Table

    table = Table(title="olmo-stack summary")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("energy (~: estimated)", justify="right")
    table.add_column("highlights")
    for name, m in manifests.items():
        table.add_row(name, f"{m.get('seconds', 0):.1f}", energy_cell(m), summary_of(name, m["metrics"]))
    console.print(table)
    console.print(total_line(manifests))
    console.print(f"report: {report}  ({elapsed / 60:.1f} min in all)")
