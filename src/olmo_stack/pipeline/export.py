"""HF export of the final adapted model, checked by loading it with transformers, and (for the MoE
variant) olmoe's routing analyses between two pretraining checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.report import Report
from olmo_stack.stages import StageContext, format_lineage, lineage


def stage_export(ctx: StageContext) -> dict[str, Any]:
    import shutil

    import torch

    from olmo_core.convert.hf_io import to_hf

    ckpt = ctx.output_of("grpo", "checkpoint")
    out = ctx.dir / "hf"
    if out.exists():
        shutil.rmtree(out)
    to_hf(ckpt, out)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out)
    with torch.no_grad():
        logits = model(torch.tensor([[50279, 510, 3158]])).logits
    write_model_card(out, ckpt, ctx.dir.parent / "grpo")
    return {"outputs": {"hf_model": out, "model_card": out / "README.md"},
            "metrics": {"checkpoint": str(ckpt), "hf_class": type(model).__name__,
                        "parameters": sum(p.numel() for p in model.parameters()),
                        "logits_finite": bool(torch.isfinite(logits).all())}}


def write_model_card(out: Path, ckpt: Path, stage_dir: Path) -> None:
    """README.md of the exported model: where it came from and what making it cost (the energy and
    CO2eq of the stages in the lineage of ``stage_dir``, the stage that trained it)."""
    from olmo_core.fileio import write_atomic
    from olmo_stack.pipeline.energy_report import model_card_energy

    head = (f"# {out.parent.parent.name}: olmo-stack export\n\nExported from `{ckpt}`; "
            f"`olmo-stack lineage {out}` lists every stage and raw file behind it.\n\n")
    write_atomic(out / "README.md", head + model_card_energy(lineage(stage_dir)))


def stage_routing(ctx: StageContext) -> dict[str, Any]:
    """Router saturation, co-activation and specialization on held-out documents of each source."""
    from olmo_core.checkpoint.manager import checkpoint_root
    from olmoe.analysis.probe import load_probe
    from olmoe.analysis.report import analyze, checkpoint_step

    run_dir = ctx.output_of("pretrain", "run_dir")
    ckpts = sorted((p for p in checkpoint_root(Path(run_dir)).glob("step*") if (p / "manifest.json").is_file()),
                   key=checkpoint_step)
    if len(ckpts) < 2:
        raise RuntimeError(f"{run_dir}: routing analyses need two checkpoints, found {len(ckpts)}")
    probe = load_probe(ctx.output_of("tokens", "train_documents"), docs_per_source=4, max_tokens_per_doc=128)
    result = analyze(ckpts[-1], ckpts[:-1], probe, ctx.dir, seq_len=128)
    pngs = sorted(ctx.dir.glob("*.png"))
    return {"outputs": {"analysis": ctx.dir / "analysis.json", **{p.stem: p for p in pngs}},
            "metrics": {k: v for k, v in result.items() if k in ("router_saturation", "final_step", "figures")}}


# -- what routing and export show in the report and the run summary ------------------------------------


@report_section("routing")
def report_routing(rep: Report, run: ReportInputs) -> None:
    rep.section("Routing (MoE)")
    for key, val in sorted(run.manifests["routing"]["outputs"].items()):
        if str(val).endswith(".png"):
            rep.image(val, key)
    if "pretrain" in run.manifests:  # the routing callback's own figure, from training
        rep.image(Path(run.manifests["pretrain"]["outputs"]["run_dir"]) / "routing.png",
                  "tokens per expert and load-balancing loss during training")


@report_section("export")
def report_export(rep: Report, run: ReportInputs) -> None:
    e = run.manifests["export"]
    rep.section("Export and lineage").table([e["metrics"]])
    rep.pre(format_lineage(lineage(Path(e["outputs"]["hf_model"]))))


@summary_line("export")
def summarize_export(metrics: dict[str, Any]) -> str:
    return f"{metrics.get('hf_class')} with {metrics.get('parameters', 0):,} parameters"
