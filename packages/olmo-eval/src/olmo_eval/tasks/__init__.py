"""Downstream tasks: registry, OLMES prompts, shipped data."""

from olmo_eval.tasks.base import Instance, RankedClassificationTask, Request, TaskConfig
from olmo_eval.tasks.registry import SUITES, TASKS, expand, get_task, register_suite, register_task

__all__ = ["Instance", "RankedClassificationTask", "Request", "TaskConfig", "SUITES", "TASKS", "expand",
           "get_task", "register_suite", "register_task"]
