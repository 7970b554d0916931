"""``olmo-stack revisions RUN``: the revisions pretraining published to the run's local hub cache
(``<stage>/hub``, written by olmo-core's ``hub_revisions`` callback), one line each."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """examples:
  olmo-stack revisions runs/demo
  olmo-stack revisions runs/demo --json
  HF_HOME=runs/demo/pretrain HF_HUB_OFFLINE=1 python -c "from transformers import AutoModelForCausalLM; \\
      AutoModelForCausalLM.from_pretrained('olmo-stack/pretrain', revision='step50-tokens102k')"
"""


def add_revisions_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("revisions", help="list the revisions (step{N}-tokens{M}) pretraining published",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder (e.g. runs/demo), a stage folder, or a hub cache folder")
    p.add_argument("--json", action="store_true", help="print one JSON list")


def hub_folders(run: Path) -> list[Path]:
    """The hub caches in ``run`` itself, its stage folders, or ``run`` when it is one."""
    if not run.is_dir():
        raise FileNotFoundError(f"{run}: no such run folder")
    if any(run.glob("models--*--*")):
        return [run]
    return sorted(p for p in [run / "hub", *run.glob("*/hub")] if p.is_dir())


def run_revisions(args: argparse.Namespace) -> int:
    from olmo_core.convert.hub_revisions import list_revisions

    hubs = hub_folders(Path(args.run))
    revs = [r for hub in hubs for r in list_revisions(hub)]
    if args.json:
        print(json.dumps([{"repo_id": r.repo_id, "revision": r.name, "commit": r.commit, "path": str(r.path),
                           "step": r.step, "tokens": r.tokens, "hf_home": str(r.path.parents[3]),
                           "data": r.card.get("data"), "lineage": r.card.get("lineage")} for r in revs], indent=1))
        return 0
    if not revs:
        print(f"{args.run}: no revisions (pretraining publishes them with trainer.callbacks.hub_revisions)")
        return 0
    for hub in hubs:
        mine = [r for r in revs if r.path.is_relative_to(hub)]
        if not mine:
            continue
        print(f"{mine[0].repo_id}: {len(mine)} revisions; load with HF_HOME={hub.parent} HF_HUB_OFFLINE=1")
        for r in mine:
            d, lin = r.card.get("data") or {}, r.card.get("lineage") or {}
            digests = (f"steps {d.get('first_step')}..{d.get('last_step')} digests {d.get('first_digest')}.."
                       f"{d.get('last_digest')}" if d.get("last_digest") else "no digests")
            print(f"  {r.name:<24} step {r.step:>7}  tokens {r.tokens:>14,}  {r.path}")
            print(f"  {'':<24} {digests}; from {Path(str(lin.get('checkpoint', '?'))).name}, "
                  f"previous {lin.get('previous_revision') or '-'}")
    return 0
