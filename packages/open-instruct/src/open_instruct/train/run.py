"""A run of any method, dispatched on ``cfg.kind`` to that method's module.

Each method is one module under ``open_instruct.train`` holding one config and one ``run(cfg)``:
``sft`` (:class:`open_instruct.train.sft.SFTConfig`), ``dpo`` (``DPOConfig``) and ``grpo``
(``GRPOConfig``). Modules are imported only when their method runs. Callers that know their method
call ``open_instruct.train.<kind>.run`` directly; this entry point serves those holding a config of
any kind (``open-instruct``'s commands, olmo-stack's adaptation stages)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from open_instruct.train.config import InstructRunConfig

#: kind -> the module holding its config and run function
METHODS: dict[str, str] = {
    "sft": "open_instruct.train.sft",
    "dpo": "open_instruct.train.dpo",
    "grpo": "open_instruct.train.grpo",
}


def method_module(kind: str) -> ModuleType:
    if kind not in METHODS:
        raise ValueError(f"kind={kind!r}: not a training method; known: {', '.join(METHODS)}")
    return importlib.import_module(METHODS[kind])


def run(cfg: InstructRunConfig) -> dict[str, Any]:
    """Train ``cfg`` with its method's ``run``; returns the summary (also in ``<run_dir>/summary.json``)."""
    return method_module(cfg.kind).run(cfg)
