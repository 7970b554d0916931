"""The report's figures (matplotlib, Agg backend): curves over steps and bars, each written under a
temporary name and renamed when complete. A figure with nothing to draw is not written (``None``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_core.fileio import atomic_path


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    _plt().close(fig)
    return path


def plot_curves(rows: list[dict[str, Any]], keys: list[str], path: Path, title: str) -> Path | None:
    """One panel per key of ``rows`` (dicts with a ``step``) that has numeric values."""
    series = {k: [(r["step"], r[k]) for r in rows if isinstance(r.get(k), int | float)] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(series), figsize=(4.2 * len(series), 3.2), squeeze=False)
    for ax, (k, pts) in zip(axes[0], series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return _save(fig, path)


def plot_bars(values: dict[str, float], path: Path, title: str, ylabel: str) -> Path | None:
    if not values:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(list(values), list(values.values()), color="#4c72b0")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)
