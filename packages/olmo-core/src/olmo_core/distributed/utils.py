"""Process-group setup and small helpers that work the same in one process or under torchrun."""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def get_local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    return get_rank() == 0


def default_device() -> torch.device:
    """The accelerator of this local rank if there is one (CUDA and ROCm both answer to
    ``torch.cuda``), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", get_local_rank() % torch.cuda.device_count())
    return torch.device("cpu")


def default_backend(device: torch.device) -> str:
    # NCCL on CUDA, RCCL answers to the same name on ROCm; gloo everywhere else.
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(backend: str | None = None, timeout_minutes: int = 30) -> torch.device:
    """Join the process group torchrun/srun describes in the environment, if any, and return this
    rank's device. A plain ``python`` run stays single-process."""
    device = default_device()
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if "RANK" not in os.environ and "SLURM_PROCID" in os.environ and "MASTER_ADDR" in os.environ:
        # srun launches one task per GCD/GPU without torchrun: translate its variables.
        os.environ.setdefault("RANK", os.environ["SLURM_PROCID"])
        os.environ.setdefault("WORLD_SIZE", os.environ["SLURM_NTASKS"])
        os.environ.setdefault("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0"))
        device = default_device()
        if device.type == "cuda":
            torch.cuda.set_device(device)
    if "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) >= 1 and not is_distributed():
        dist.init_process_group(backend=backend or default_backend(device),
                                timeout=datetime.timedelta(minutes=timeout_minutes))
    return device


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def all_reduce_sum(value: torch.Tensor) -> torch.Tensor:
    if is_distributed():
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def all_gather_object(obj: object) -> list[object]:
    if not is_distributed():
        return [obj]
    out: list[object] = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: object, src: int = 0) -> object:
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def destroy_distributed() -> None:
    if is_distributed():
        dist.destroy_process_group()
