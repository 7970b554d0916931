"""Scale-out launch files for a pipeline config: the data stages on a Ray cluster, pretraining as a
Slurm job on an A100 cluster or LUMI's MI250X nodes (olmo-core renders the Slurm script)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from olmo_core.fileio import write_atomic
from olmo_stack.pipeline.config import StackConfig

CLUSTERS = ("a100", "lumi")


@dataclass
class LaunchOptions:
    cluster: str = "a100"
    nodes: int = 4
    account: str | None = None
    partition: str | None = None
    time: str | None = None
    run_preset: str = "olmo_1b"
    ray_address: str = "auto"


def write_launch_files(cfg: StackConfig, out_dir: str | Path, opts: LaunchOptions) -> dict[str, Path]:
    """``stack.yaml`` (the resolved config), ``data_ray.sh`` and ``pretrain.sbatch`` under ``out_dir``."""
    if opts.cluster not in CLUSTERS:
        raise ValueError(f"cluster {opts.cluster!r}: choose one of {', '.join(CLUSTERS)}")
    from olmo_core.config.load import run_preset
    from olmo_core.launch.slurm import render_slurm

    out = Path(out_dir)
    run_dir = Path(cfg.out).resolve()
    config_path = write_atomic(out / "stack.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    data_cmd = ["olmo-stack", "run", str(config_path.resolve()), "--until", "tokens", "data.executor=ray",
                f"data.ray_address={opts.ray_address}"]
    data_sh = write_atomic(out / "data_ray.sh", "\n".join([
        "#!/bin/bash",
        "# Data stages on a Ray cluster: run on the head node of a cluster started with `ray start --head`",
        "# (workers: `ray start --address=<head>:6379`); every node must reach the run folder (a shared",
        "# filesystem). What runs where:",
        "# - stage filter (the dolma-tools pipeline): tagging, both mixes and its tokens step one Ray task per",
        "#   file; Bloom dedup reads and hashes a Ray task per file while the filter stays in this process;",
        "#   MinHash signatures a Ray task per file, bucket merges a Ray task per band, clusters and",
        "#   attributes in this process;",
        "# - stage decontaminate: the eval index and flags in this process, each training file's scan a Ray task;",
        "# - stage tokens: the held-out split in this process, tokenizing a Ray task per file, packing here.",
        "set -euo pipefail",
        "ray status >/dev/null",
        " ".join(shlex.quote(a) for a in data_cmd), ""]), mode=0o755)
    cluster_overrides = [f"cluster={opts.cluster}", f"cluster.nodes={opts.nodes}"]
    for key in ("account", "partition", "time"):
        if getattr(opts, key):
            cluster_overrides.append(f"cluster.{key}={getattr(opts, key)}")
    train_overrides = [f"data.paths=[{run_dir / 'tokens' / 'tokens'}]", f"trainer.run_dir={run_dir / 'pretrain'}"]
    run_cfg = run_preset(opts.run_preset, cluster_overrides + train_overrides)
    sbatch = write_atomic(out / "pretrain.sbatch", render_slurm(run_cfg.cluster, opts.run_preset,
                                                                     cluster_overrides[1:] + train_overrides,
                                                                     job_name=f"{cfg.name}-pretrain"))
    return {"config": config_path, "data": data_sh, "pretrain": sbatch}
