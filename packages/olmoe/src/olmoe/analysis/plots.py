"""PNG figures of routing (matplotlib, Agg backend), each written under a temporary name and renamed
when complete."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from olmo_core.fileio import atomic_path


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    _plt().close(fig)
    return path


def plot_routing_summary(tokens_per_expert: Sequence[Sequence[float]], lb_history: Sequence[tuple[int, float]],
                         path: Path) -> Path:
    """Left: share of tokens per expert per layer (the last logged step). Right: the unweighted
    load-balancing loss over steps against its floor of 1."""
    plt = _plt()
    counts = np.asarray(tokens_per_expert, dtype=np.float64)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0) * counts.shape[1]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    im = a.imshow(share, aspect="auto", cmap="viridis")
    a.set_xlabel("expert")
    a.set_ylabel("layer")
    a.set_title("tokens per expert / uniform share (1 = balanced)")
    fig.colorbar(im, ax=a)
    if lb_history:
        steps, values = zip(*lb_history)
        b.plot(steps, values, lw=1.2, label="load-balancing loss")
    b.axhline(1.0, color="gray", ls="--", lw=1, label="floor (uniform routing)")
    b.set_xlabel("step")
    b.set_title("load-balancing loss (mean over layers)")
    b.legend()
    b.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_saturation(steps: Sequence[int], per_layer: Sequence[Sequence[float]], final_step: int, path: Path) -> Path:
    """``per_layer[c][l]``: saturation of layer ``l`` at checkpoint ``steps[c]`` vs the final one."""
    plt = _plt()
    values = np.asarray(per_layer, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 4))
    for layer in range(values.shape[1]):
        ax.plot(list(steps) + [final_step], list(values[:, layer]) + [1.0], marker="o", lw=1.2, label=f"layer {layer}")
    ax.set_xlabel("checkpoint step")
    ax.set_ylabel(f"router saturation vs step {final_step}")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if values.shape[1] <= 16:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, path)


def plot_matrices(matrices: dict[str, np.ndarray], path: Path, *, title: str, xlabel: str, ylabel: str,
                  yticklabels: Sequence[str] | None = None) -> Path:
    """Side-by-side heatmaps, one per named matrix (e.g. per layer)."""
    plt = _plt()
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4), squeeze=False)
    for ax, (name, m) in zip(axes[0], matrices.items()):
        im = ax.imshow(m, aspect="auto", cmap="magma")
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if yticklabels is not None:
            ax.set_yticks(range(len(yticklabels)))
            ax.set_yticklabels(yticklabels, fontsize=7)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_vocabulary(fractions: dict[str, Sequence[float]], top_k: int, num_experts: int, path: Path) -> Path:
    """Histogram per layer of each frequent token's largest routed fraction to a single expert;
    uniform routing puts it near ``k / E``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 21)
    for name, values in fractions.items():
        ax.hist(values, bins=bins, histtype="step", lw=1.2, label=name)
    ax.axvline(top_k / num_experts, color="gray", ls="--", lw=1, label="uniform (k/E)")
    ax.set_xlabel("fraction of a token's occurrences routed to its most frequent expert")
    ax.set_ylabel("token ids")
    ax.set_title("vocabulary specialization")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
