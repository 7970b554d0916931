"""Slurm batch scripts for a run: ``torchrun`` per node on A100 clusters, one ``srun`` task per GCD on
LUMI (8 GCDs a node, ranks from Slurm's variables, RCCL over libfabric's cxi provider)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from olmo_core.config.schema import ClusterConfig

MASTER_PORT = 29500


def _header(cluster: ClusterConfig, job_name: str, tasks_per_node: int) -> list[str]:
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job_name}", f"#SBATCH --nodes={cluster.nodes}",
             f"#SBATCH --ntasks-per-node={tasks_per_node}", f"#SBATCH --gpus-per-node={cluster.gpus_per_node}",
             f"#SBATCH --cpus-per-task={cluster.cpus_per_task}", f"#SBATCH --time={cluster.time}",
             "#SBATCH --output=logs/%x-%j.log", "#SBATCH --exclusive"]
    if cluster.partition:
        lines.append(f"#SBATCH --partition={cluster.partition}")
    if cluster.account:
        lines.append(f"#SBATCH --account={cluster.account}")
    lines += ["", "set -euo pipefail", "mkdir -p logs"]
    lines += [f"module load {m}" for m in cluster.modules]
    lines += list(cluster.setup)
    for key, value in sorted(cluster.env.items()):
        # Double quotes so $USER / $SLURM_JOB_ID in values expand at run time.
        lines.append(f'export {key}="{value}"')
    lines += ['export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
              f"export MASTER_PORT={MASTER_PORT}"]
    return lines


def train_args(preset: str, overrides: Sequence[str], cluster_name: str) -> str:
    args = ["train", "--preset", preset, f"cluster={cluster_name}", *overrides]
    return " ".join(shlex.quote(a) for a in args)


def render_a100(cluster: ClusterConfig, preset: str, overrides: Sequence[str], job_name: str) -> str:
    lines = _header(cluster, job_name, tasks_per_node=1)
    lines += ["", "# one task per node; torchrun starts one process per GPU",
              "srun torchrun --nnodes \"$SLURM_NNODES\" "
              f"--nproc_per_node {cluster.gpus_per_node} --rdzv_id \"$SLURM_JOB_ID\" --rdzv_backend c10d "
              "--rdzv_endpoint \"$MASTER_ADDR:$MASTER_PORT\" "
              f"-m olmo_core.cli {train_args(preset, overrides, cluster.name)}", ""]
    return "\n".join(lines)


def render_lumi(cluster: ClusterConfig, preset: str, overrides: Sequence[str], job_name: str) -> str:
    lines = _header(cluster, job_name, tasks_per_node=cluster.gpus_per_node)
    lines += ["export WORLD_SIZE=$SLURM_NTASKS",
              "# the MI250X GCDs are the devices; each task picks its GCD by LOCAL_RANK",
              "export HIP_VISIBLE_DEVICES=0,1,2,3,4,5,6,7", ""]
    bind = f" --cpu-bind={cluster.cpu_bind}" if cluster.cpu_bind else ""
    inner = ("export RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID; "
             f"exec python -m olmo_core.cli {train_args(preset, overrides, cluster.name)}")
    lines += ["# one task per GCD; srun's ranks become torch.distributed's",
              f"srun{bind} bash -c {shlex.quote(inner)}", ""]
    return "\n".join(lines)


RENDERERS = {"torchrun": render_a100, "srun": render_lumi}


def render_slurm(cluster: ClusterConfig, preset: str, overrides: Sequence[str] = (), job_name: str = "olmo") -> str:
    if cluster.gpus_per_node <= 0:
        raise ValueError(f"cluster {cluster.name!r} has no GPUs per node; choose cluster=a100 or cluster=lumi")
    try:
        return RENDERERS[cluster.launcher](cluster, preset, overrides, job_name)
    except KeyError:
        raise ValueError(f"cluster.launcher: {cluster.launcher!r} is not one of {sorted(RENDERERS)}") from None
