"""``olmoe analyze``: run the probe set through a final checkpoint (and earlier ones), compute the
analyses, and write ``analysis.json`` plus PNG figures into an output folder (files renamed into
place when complete, ``analysis.json`` last)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from olmo_core.fileio import write_atomic
from olmoe.analysis.metrics import (
    coactivation,
    domain_specialization,
    router_saturation,
    vocabulary_specialization,
)
from olmoe.analysis.plots import plot_matrices, plot_saturation, plot_vocabulary
from olmoe.analysis.probe import ProbeSet, collect_routing


def checkpoint_step(path: Path) -> int:
    from olmo_core.interfaces import validate_checkpoint

    return validate_checkpoint(path, verify_hashes=False).step


def routing_of(path: Path, probe: ProbeSet, *, seq_len: int) -> tuple[np.ndarray, int, int]:
    """``[L, N, k]`` top-k experts of a checkpoint on the probe, its number of experts and top-k."""
    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmoe.moe import moe_layers

    model = load_model_checkpoint(path)
    layers = moe_layers(model)
    if not layers:
        raise ValueError(f"{path}: the model has no MoE layers (feed_forward.target is "
                         f"{model.config.feed_forward.target!r})")
    idx = collect_routing(model, probe, seq_len=seq_len)
    return idx, layers[0][1].num_experts, layers[0][1].top_k


def plotted_layers(n_layers: int) -> list[int]:
    """First, middle and last layer (as the OLMoE paper shows)."""
    return sorted({0, n_layers // 2, n_layers - 1})


def analyze(final: str | Path, earlier: list[str | Path], probe: ProbeSet, out: str | Path, *, seq_len: int = 256,
            min_count: int = 5, top_tokens: int = 30, tokenizer: Any = None) -> dict[str, Any]:
    """Every analysis of the issue on ``probe``; returns what ``analysis.json`` holds."""
    from rich.progress import Progress

    final, out = Path(final), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(transient=True) as progress:
        task = progress.add_task("routing the probe set", total=1 + len(earlier))
        idx_final, num_experts, top_k = routing_of(final, probe, seq_len=seq_len)
        progress.advance(task)
        earlier_idx = []
        for path in earlier:
            idx, e, k = routing_of(Path(path), probe, seq_len=seq_len)
            if idx.shape != idx_final.shape or e != num_experts:
                raise ValueError(f"{path}: routing shape {idx.shape} ({e} experts) differs from {final}'s "
                                 f"{idx_final.shape} ({num_experts} experts): not the same architecture")
            earlier_idx.append((checkpoint_step(Path(path)), str(path), idx))
            progress.advance(task)
    n_layers = idx_final.shape[0]
    final_step = checkpoint_step(final)
    token_ids, token_sources = probe.token_ids(), probe.token_sources()

    saturation = [{"step": step, "checkpoint": p,
                   "per_layer": [router_saturation(idx[layer], idx_final[layer]) for layer in range(n_layers)]}
                  for step, p, idx in sorted(earlier_idx)]
    coact = [coactivation(idx_final[layer], num_experts) for layer in range(n_layers)]
    domain = [domain_specialization(idx_final[layer], token_sources, num_experts) for layer in range(n_layers)]
    vocab = [vocabulary_specialization(idx_final[layer], token_ids, num_experts, min_count=min_count)
             for layer in range(n_layers)]

    def decode(tok_id: int) -> str | None:
        return None if tokenizer is None else tokenizer.decode([tok_id])

    result: dict[str, Any] = {
        "final_checkpoint": str(final), "final_step": final_step, "num_layers": n_layers,
        "num_experts": num_experts, "top_k": top_k,
        "probe": {"documents": len(probe.docs), "tokens": probe.num_tokens,
                  "sources": {s: probe.sources.count(s) for s in sorted(set(probe.sources))}},
        "router_saturation": saturation,
        "coactivation": [{"layer": layer, "matrix": coact[layer].round(6).tolist(),
                          "top_pairs": _top_pairs(coact[layer], 10)} for layer in range(n_layers)],
        "domain_specialization": [{"layer": layer, "share_per_expert": {s: v.round(6).tolist() for s, v in d.items()},
                                   "max_share_over_uniform": {s: float(v.max() * num_experts) for s, v in d.items()}}
                                  for layer, d in enumerate(domain)],
        "vocabulary_specialization": [
            {"layer": layer, "tokens_with_min_count": len(v), "min_count": min_count,
             "mean_top_fraction": float(np.mean([r["fraction"] for r in v])) if v else None,
             "uniform_fraction": top_k / num_experts,
             "top_tokens": [{**r, "text": decode(int(r["token_id"]))} for r in v[:top_tokens]]}
            for layer, v in enumerate(vocab)],
    }
    shown = plotted_layers(n_layers)
    figures = {}
    if saturation:
        figures["saturation"] = plot_saturation([s["step"] for s in saturation],
                                                [s["per_layer"] for s in saturation], final_step,
                                                out / "saturation.png")
    figures["coactivation"] = plot_matrices({f"layer {la}": coact[la] for la in shown}, out / "coactivation.png",
                                            title="expert co-activation: P(j chosen | i chosen)", xlabel="expert j",
                                            ylabel="expert i")
    sources = sorted(domain[0])
    figures["domain_specialization"] = plot_matrices(
        {f"layer {la}": np.stack([domain[la][s] for s in sources]) * num_experts for la in shown},
        out / "domain_specialization.png", title="share of each source's tokens per expert / uniform share",
        xlabel="expert", ylabel="source", yticklabels=sources)
    figures["vocabulary_specialization"] = plot_vocabulary(
        {f"layer {la}": [r["fraction"] for r in vocab[la]] for la in shown}, top_k, num_experts,
        out / "vocabulary_specialization.png")
    result["figures"] = {k: str(v) for k, v in figures.items()}
    write_atomic(out / "analysis.json", json.dumps(result, indent=1))
    return result


def _top_pairs(a: np.ndarray, n: int) -> list[dict[str, float | int]]:
    """The ``n`` strongest directed co-activations ``P(j | i)``."""
    flat = np.argsort(-a, axis=None, kind="stable")[:n]
    return [{"i": int(i), "j": int(j), "p": float(a[i, j])} for i, j in zip(*np.unravel_index(flat, a.shape))
            if a[i, j] > 0]
