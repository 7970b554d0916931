"""Scale-out on paper: the launch files for Ray (data) and Slurm (A100, LUMI) read as they should."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from olmo_stack.cli import main
from olmo_stack.pipeline.config import StackConfig


@pytest.mark.parametrize("cluster", ["a100", "lumi"])
def test_launch_files(tmp_path: Path, cluster: str) -> None:
    out = tmp_path / "launch"
    assert main(["launch", "demo", "out=/scratch/run", "--cluster", cluster, "--nodes", "16", "--account",
                 "proj_1", "--out", str(out)]) == 0
    stack = OmegaConf.merge(OmegaConf.structured(StackConfig()), OmegaConf.load(out / "stack.yaml"))
    assert stack.out == "/scratch/run"
    data = (out / "data_ray.sh").read_text()
    assert "data.executor=ray" in data and "--until tokens" in data and str(out / "stack.yaml") in data
    sbatch = (out / "pretrain.sbatch").read_text()
    assert "#SBATCH --nodes=16" in sbatch and "#SBATCH --account=proj_1" in sbatch
    assert "data.paths=[/scratch/run/tokens/tokens]" in sbatch and "trainer.run_dir=/scratch/run/pretrain" in sbatch
    if cluster == "a100":
        assert "torchrun" in sbatch and "--nproc_per_node 8" in sbatch
    else:
        assert "#SBATCH --ntasks-per-node=8" in sbatch and "SLURM_PROCID" in sbatch and "FI_PROVIDER" in sbatch
        assert "torchrun" not in sbatch
