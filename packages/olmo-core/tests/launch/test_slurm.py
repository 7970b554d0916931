"""Generated Slurm scripts, read back: A100 nodes with torchrun, LUMI with one srun task per GCD."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from olmo_core.config.load import compose_run_config, to_objects
from olmo_core.launch.slurm import render_slurm


def _sbatch(script: str) -> dict[str, str]:
    out = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH --"):
            key, _, value = line[len("#SBATCH --"):].partition("=")
            out[key] = value
    return out


def test_lumi_script_binds_one_task_per_gcd_with_rccl_env_and_no_compile(tmp_path: Path) -> None:
    out = tmp_path / "olmo1b.sbatch"
    proc = subprocess.run([sys.executable, "-m", "olmo_core.cli", "launch", "--preset", "olmo_1b", "--cluster", "lumi",
                           "--nodes", "16", "--account", "project_465000000", "-o", str(out),
                           "data.paths=[/scratch/tokens]"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    script = out.read_text()
    sb = _sbatch(script)
    assert sb["nodes"] == "16" and sb["ntasks-per-node"] == "8" and sb["gpus-per-node"] == "8"
    assert sb["partition"] == "standard-g" and sb["account"] == "project_465000000"
    for var in ("NCCL_SOCKET_IFNAME", "FI_PROVIDER", "NCCL_NET_GDR_LEVEL", "CXI_FORK_SAFE", "MIOPEN_USER_DB_PATH"):
        assert f"export {var}=" in script
    assert 'export FI_PROVIDER="cxi"' in script
    srun = next(line for line in script.splitlines() if line.startswith("srun"))
    assert "--cpu-bind=mask_cpu:" in srun and "torchrun" not in srun
    inner = shlex.split(srun)[-1]
    assert "RANK=$SLURM_PROCID" in inner and "LOCAL_RANK=$SLURM_LOCALID" in inner
    args = shlex.split(inner.split("exec ", 1)[1])
    assert args[:4] == ["python", "-m", "olmo_core.cli", "train"]
    assert "cluster=lumi" in args and "data.paths=[/scratch/tokens]" in args and "cluster.nodes=16" in args
    # what the run will see on LUMI: compile off and no flash-attention SDPA kernel
    cfg = to_objects(compose_run_config("olmo_1b", args[args.index("--preset") + 2:]))
    assert cfg.parallel.compile is False and "flash" not in cfg.parallel.sdpa_backends
    assert cfg.cluster.nodes == 16 and cfg.data.global_batch_size == 2048 and cfg.optim.lr == 4e-4


def test_a100_script_runs_torchrun_per_node() -> None:
    cfg = to_objects(compose_run_config("olmo_7b", ["cluster=a100", "cluster.nodes=32"]))
    script = render_slurm(cfg.cluster, "olmo_7b", ["cluster.nodes=32"])
    sb = _sbatch(script)
    assert sb["nodes"] == "32" and sb["ntasks-per-node"] == "1" and sb["gpus-per-node"] == "8"
    srun = next(line for line in script.splitlines() if line.startswith("srun"))
    args = shlex.split(srun)
    assert args[:2] == ["srun", "torchrun"]
    assert args[args.index("--nproc_per_node") + 1] == "8" and "--rdzv_endpoint" in args
    assert args[args.index("-m") + 1:args.index("-m") + 5] == ["olmo_core.cli", "train", "--preset", "olmo_7b"]
    assert "MASTER_ADDR=$(scontrol show hostnames" in script


def test_presets_carry_the_published_hyperparameters() -> None:
    b1 = to_objects(compose_run_config("olmo_1b"))
    b7 = to_objects(compose_run_config("olmo_7b"))
    for cfg in (b1, b7):
        assert (cfg.data.global_batch_size, cfg.data.seq_len) == (2048, 2048)
        assert tuple(cfg.optim.betas) == (0.9, 0.95) and cfg.optim.eps == 1e-5 and cfg.optim.weight_decay == 0.1
        assert cfg.optim.scheduler.alpha_f == 0.1 and cfg.optim.max_grad_norm == 1.0
    assert (b1.optim.lr, b1.optim.scheduler.warmup_steps, b1.model.d_model, b1.model.n_layers) == (4e-4, 2000, 2048, 16)
    assert (b7.optim.lr, b7.optim.scheduler.warmup_steps, b7.model.d_model, b7.model.n_layers) == (3e-4, 5000, 4096, 32)
    assert b7.optim.clip_warmup_steps == 1000 and b7.optim.clip_warmup_factor == 10.0
    with pytest.raises(ValueError, match="no GPUs per node"):
        render_slurm(to_objects(compose_run_config("tiny")).cluster, "tiny")
