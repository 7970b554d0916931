"""Reading a ``.safetensors`` weights file, refusing a truncated or damaged one with its name (the
format holds tensors and a JSON header only: nothing in it can run code)."""

from __future__ import annotations

from pathlib import Path

import torch

from olmo_core.interfaces import InterfaceError


def read_safetensors(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except FileNotFoundError:
        raise InterfaceError(f"{path}: missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InterfaceError(f"{path}: unreadable safetensors file ({e})") from None
