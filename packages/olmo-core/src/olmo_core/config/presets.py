"""Group presets and run presets, stored in hydra's ConfigStore.

OLMo-1B / OLMo-7B pretraining hyperparameters as published (OLMo paper, Table 2 and the released
configs): global batch 2048 instances x 2048 tokens (~4M tokens), AdamW betas (0.9, 0.95), eps 1e-5,
weight decay 0.1, peak lr 4e-4 (1B) and 3e-4 (7B), linear warmup of 2000 (1B) and 5000 (7B) steps
then linear decay to 0.1x, clipping at 1.0 (7B: 10x for the first 1000 steps)."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

import olmo_core.model.presets  # noqa: F401  (registers model/<name> in the ConfigStore)
from olmo_core.checkpoint.manager import CheckpointConfig
from olmo_core.config.schema import ClusterConfig, RunConfig, _defaults
from olmo_core.data.loader import DataConfig
from olmo_core.distributed.parallelize import ParallelConfig
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.trainer import TrainerConfig

OLMO_BATCH = 2048  # instances
OLMO_SEQ = 2048

# Each preset sets only what differs from its dataclass's defaults (OLMo-1B's optimizer and schedule,
# the tiny CPU data shape, keep the last 2 checkpoints); the schedule's t_max defaults to max_steps.
DATA = {
    "tiny": DataConfig(),
    "olmo_pretrain": DataConfig(seq_len=OLMO_SEQ, global_batch_size=OLMO_BATCH, num_workers=4),
}

OPTIM = {
    "tiny": OptimConfig(lr=3e-3, scheduler=SchedulerConfig(warmup_steps=5)),
    "olmo_1b": OptimConfig(),
    "olmo_7b": OptimConfig(lr=3e-4, scheduler=SchedulerConfig(warmup_steps=5000), clip_warmup_steps=1000,
                           clip_warmup_factor=10.0),
}

TRAINER = {
    "tiny": TrainerConfig(checkpoint=CheckpointConfig(every=25)),
    "olmo_1b": TrainerConfig(run_dir="runs/olmo_1b", max_steps=739_328,
                             checkpoint=CheckpointConfig(every=1000, keep_last=3, permanent_every=10_000)),
    "olmo_7b": TrainerConfig(run_dir="runs/olmo_7b", max_steps=476_837,
                             checkpoint=CheckpointConfig(every=1000, keep_last=3, permanent_every=10_000)),
}

_LUMI_ENV = {
    # RCCL over the Slingshot NICs via the aws-ofi-rccl plugin and libfabric's cxi provider.
    "NCCL_SOCKET_IFNAME": "hsn0,hsn1,hsn2,hsn3",
    "NCCL_NET_GDR_LEVEL": "3",
    "FI_PROVIDER": "cxi",
    "FI_CXI_DISABLE_CQ_HUGETLB": "1",
    "CXI_FORK_SAFE": "1",
    "CXI_FORK_SAFE_HP": "1",
    "FI_CXI_DEFAULT_CQ_SIZE": "131072",
    "MIOPEN_USER_DB_PATH": "/tmp/$USER-miopen-cache-$SLURM_JOB_ID",
    "MIOPEN_CUSTOM_CACHE_DIR": "/tmp/$USER-miopen-cache-$SLURM_JOB_ID",
    "OMP_NUM_THREADS": "1",
    "PYTORCH_HIP_ALLOC_CONF": "expandable_segments:True",
}

CLUSTERS = {
    "local": ClusterConfig(name="local"),
    "a100": ClusterConfig(name="a100", nodes=1, gpus_per_node=8, cpus_per_task=64, launcher="torchrun",
                          env={"OMP_NUM_THREADS": "8", "NCCL_IB_DISABLE": "0",
                               "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}),
    # LUMI-G: 4 MI250X per node = 8 GCDs, one Slurm task per GCD; CPU cores bound to the GCD's NUMA
    # domain (LUMI's documented mask; core 0 of each CCD is reserved for the OS).
    "lumi": ClusterConfig(name="lumi", nodes=1, gpus_per_node=8, cpus_per_task=7, partition="standard-g",
                          launcher="srun", env=_LUMI_ENV,
                          cpu_bind="mask_cpu:fe000000000000,fe00000000000000,fe0000,fe000000,fe,fe00,"
                                   "fe00000000,fe0000000000"),
}

# What a cluster changes in the run besides its own group: compile is off on LUMI (ROCm's inductor
# kernels were the least reliable part there) and attention avoids the flash SDPA kernel.
CLUSTER_PARALLEL = {
    "lumi": {"compile": False, "sdpa_backends": ["efficient", "math"]},
}


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(name="run_config", node=RunConfig)
    for name, node in DATA.items():
        cs.store(group="data", name=name, node=node)
    for name, node in OPTIM.items():
        cs.store(group="optim", name=name, node=node)
    for name, node in TRAINER.items():
        cs.store(group="trainer", name=name, node=node)
    for name, node in CLUSTERS.items():
        glob = {"cluster": node}
        if name in CLUSTER_PARALLEL:
            glob["parallel"] = CLUSTER_PARALLEL[name]
        cs.store(group="cluster", name=name, node=glob, package="_global_")
    # The CPU preset trains in float32: bf16 matmuls are slow on CPUs and gain nothing there.
    cs.store(name="tiny", node=RunConfig(defaults=_defaults("tiny", "tiny", "tiny", "tiny", "local"),
                                         parallel=ParallelConfig(param_dtype="float32")))
    for size in ("olmo_1b", "olmo_7b"):
        cs.store(name=size, node=RunConfig(defaults=_defaults(size, "olmo_pretrain", size, size, "a100")))


PRESETS = ("tiny", "olmo_1b", "olmo_7b")

register()
