"""A learning curve from a model's revisions: every ref of a repo in a local Hugging Face hub cache
(OLMo-style ``step{N}-tokens{M}``, as olmo-core's ``hub_revisions`` callback writes them) scored with
the same tasks and held-out perplexity, one row per revision in training order.

The cache is read with huggingface_hub's own scanner, so any hub cache works (a downloaded
``allenai/OLMo-1B`` with its revisions included); ``main`` is left out when it repeats a named ref."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_STEP = re.compile(r"(?:^|-)step(\d+)(?:-|$)")


@dataclass(frozen=True)
class HubRevision:
    repo_id: str
    name: str
    commit: str
    path: Path
    step: int | None
    tokens: int | None


def hub_revisions(hub_dir: str | Path, repo_id: str | None = None) -> list[HubRevision]:
    """The named revisions of ``repo_id`` (or of the only model repo) in the cache at ``hub_dir``, by step."""
    from huggingface_hub import scan_cache_dir

    hub_dir = Path(hub_dir)
    if not hub_dir.is_dir():
        raise FileNotFoundError(f"{hub_dir}: no hub cache folder")
    repos = [r for r in scan_cache_dir(hub_dir).repos if r.repo_type == "model"]
    if repo_id is not None:
        repos = [r for r in repos if r.repo_id == repo_id]
    if len(repos) != 1:
        raise ValueError(f"{hub_dir}: {'no repo ' + repr(repo_id) if repo_id else 'expected one model repo'}; "
                         f"found {sorted(r.repo_id for r in scan_cache_dir(hub_dir).repos)}")
    out = []
    for rev in repos[0].revisions:
        names = sorted(rev.refs - {"main"}) or sorted(rev.refs)
        for name in names:
            info_path = Path(rev.snapshot_path) / "olmo_revision.json"
            info = json.loads(info_path.read_text()) if info_path.is_file() else {}
            m = _STEP.search(name)
            step = info.get("step", int(m.group(1)) if m else None)
            out.append(HubRevision(repos[0].repo_id, name, rev.commit_hash, Path(rev.snapshot_path), step,
                                   info.get("tokens")))
    return sorted(out, key=lambda r: (r.step is None, r.step or 0, r.name))


def score_revisions(hub_dir: str | Path, out_dir: str | Path, *, repo_id: str | None = None, tasks: str = "arc_easy",
                    limit: int | None = 40, heldout: str | Path | None = None, max_docs_per_subdomain: int | None = 5,
                    log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """One row per revision: step, tokens, each task's primary score and (with ``heldout``, a perplexity
    document folder) the held-out micro perplexity; per-revision results under ``out_dir/<revision>``."""
    from olmo_eval.models import load_model
    from olmo_eval.perplexity import run_perplexity
    from olmo_eval.runner import run

    rows = []
    revisions = hub_revisions(hub_dir, repo_id)
    for i, rev in enumerate(revisions, 1):
        model, tokenizer = load_model(rev.path)
        model.eval()
        out = Path(out_dir) / rev.name
        metrics = run(model, tokenizer, tasks, out / "tasks", limit=limit, model_id=f"{rev.repo_id}@{rev.name}",
                      show_progress=False)
        row: dict[str, Any] = {"revision": rev.name, "step": rev.step, "tokens": rev.tokens}
        row.update({name: entry.get("primary") for name, entry in metrics["tasks"].items()})
        if heldout is not None:
            ppl = run_perplexity(model, tokenizer, heldout, out / "perplexity",
                                 max_docs_per_subdomain=max_docs_per_subdomain, show_progress=False)
            row["heldout_ppl"] = ppl["overall"]["micro_ppl"]
        rows.append(row)
        log(f"[{i}/{len(revisions)}] {rev.name}: " + ", ".join(
            f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float)))
    return rows


def plot_learning_curve(rows: list[dict[str, Any]], path: str | Path, title: str = "learning curve") -> Path | None:
    """Each score against tokens seen (step when unknown), one panel per score; None if nothing to plot."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], float)] if rows else []
    if not keys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_key = "tokens" if all(r.get("tokens") is not None for r in rows) else "step"
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.plot([r[x_key] for r in rows], [r[key] for r in rows], marker="o", lw=1.2)
        ax.set_xlabel(f"{x_key} seen" if x_key == "tokens" else "step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path
