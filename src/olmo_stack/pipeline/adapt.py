"""Adaptation with open-instruct: SFT from the pretrained checkpoint, then DPO from the SFT one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_stack.pipeline.data import builtin_path
from olmo_stack.stages import StageContext


def _run(preset: str, overrides: list[str]) -> dict[str, Any]:
    from olmo_core.distributed.utils import destroy_distributed
    from open_instruct.train.presets import compose_config
    from open_instruct.train.run import run

    try:
        return run(compose_config(preset, overrides))
    finally:
        destroy_distributed()


def _common(ctx: StageContext, init_from: Path) -> list[str]:
    return [f"init_from={init_from}", f"trainer.run_dir={ctx.dir}", f"data.cache_dir={ctx.dir / 'cache'}",
            f"data.max_length={ctx.config['max_length']}"]


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    c = ctx.config
    data = builtin_path("instruct") / "sft.jsonl.zst"
    # The built-in sets ask disjoint questions; excluding the pairs' ids keeps it so for any counts.
    pairs = builtin_path("instruct") / "dpo.jsonl.zst"
    summary = _run(c["sft_preset"], [*_common(ctx, ctx.output_of("pretrain", "checkpoint")),
                                     f"data.sources=[{data}:{c['sft_examples']}]", f"data.exclude=[{pairs}]",
                                     *c["sft_overrides"]])
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}


def stage_dpo(ctx: StageContext) -> dict[str, Any]:
    c = ctx.config
    data = builtin_path("instruct") / "dpo.jsonl.zst"
    summary = _run(c["dpo_preset"], [*_common(ctx, ctx.output_of("sft", "checkpoint")),
                                     f"data.sources=[{data}:{c['dpo_pairs']}]", f"data.holdout={c['dpo_holdout']}",
                                     *c["dpo_overrides"]])
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}
