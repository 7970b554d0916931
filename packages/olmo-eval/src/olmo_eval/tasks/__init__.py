"""Downstream tasks, one module per family, all registered by name with ``@register_task``:
ranked classification (:mod:`.olmes`, :mod:`.mmlu`, :mod:`.winogrande`, on :mod:`.base`) and
generation (:mod:`.gsm8k`, :mod:`.minerva_math`, :mod:`.naturalqs`, :mod:`.lambada`, :mod:`.code`, on
:mod:`.generation`); the suites in :mod:`.suites`. Importing this package fills the registry."""

from olmo_eval.tasks import code, gsm8k, lambada, minerva_math, mmlu, naturalqs, olmes, suites, winogrande  # noqa: F401
from olmo_eval.tasks.base import Instance, RankedClassificationTask, Request, TaskConfig
from olmo_eval.tasks.generation import GenerationTask
from olmo_eval.tasks.registry import SUITES, TASKS, expand, get_task, register_suite, register_task

__all__ = ["GenerationTask", "Instance", "RankedClassificationTask", "Request", "TaskConfig", "SUITES", "TASKS",
           "expand", "get_task", "register_suite", "register_task"]
