"""Ranked-classification tasks: an instance, its choices, and the requests that score them.

A task turns each evaluation document into a :class:`Instance` (query, choices, gold) with its
``_process`` hook, exactly as OLMES's ``_process_doc`` does; :meth:`RankedClassificationTask.requests`
then lays out one conditional request per choice (few-shot context + query, continuation) and, when
the task asks for PMI, one unconditional request per choice (``"Answer:"`` + continuation).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olmo_eval.files import digest
from olmo_eval.requests import RANKED_CLASSIFICATION, Instance, Request
from olmo_eval.tasks.prompts import LETTERS, fewshot_context

__all__ = ["RANKED_CLASSIFICATION", "Instance", "Processed", "RankedClassificationTask", "Request", "TaskConfig",
           "letters_for"]


@dataclass(frozen=True)
class Processed:
    """One document as a task sees it: ``query`` (no few-shot), ``choices`` (raw texts), ``gold``."""

    query: str
    choices: tuple[str, ...]
    gold: int
    id: str = ""
    #: per-choice contexts when the choices live in the context (WinoGrande's partial evaluation)
    contexts: tuple[str, ...] | None = None
    #: the shared continuation that goes with ``contexts``
    target: str | None = None


@dataclass(frozen=True)
class TaskConfig:
    dataset: str
    formulation: str = "rc"            # "rc" (cloze) or "mc" (lettered choices)
    num_shots: int = 5
    primary_metric: str = "acc_raw"
    uncond_prompt: str | None = None   # context of the PMI denominator, e.g. "Answer:"
    limit: int | None = None           # keep only the first `limit` instances (smoke tests, in-loop)
    subject: str | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class RankedClassificationTask:
    """Base class; subclasses set ``defaults`` and implement ``_process`` (and ``_texts``)."""

    kind = RANKED_CLASSIFICATION
    defaults: dict[str, Any] = {}
    #: name of the group a task is macro-averaged into (e.g. "mmlu"), or None
    group: str | None = None

    def __init__(self, name: str, **config: Any) -> None:
        self.name = name
        self.config = TaskConfig(**{**self.defaults, **config})
        self._cache: dict[str, Any] = {}

    def with_overrides(self, **overrides: Any) -> RankedClassificationTask:
        new = copy.copy(self)
        new.config = dataclasses.replace(self.config, **overrides)
        new._cache = {}
        return new

    # -- hooks ------------------------------------------------------------------------------------
    def _process(self, doc: dict[str, Any]) -> Processed:
        raise NotImplementedError

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        """Raw text fields of a document (paragraphs are split on newlines later)."""
        return []

    def _eval_docs(self) -> list[tuple[int, dict[str, Any]]]:
        from olmo_eval.tasks.data import eval_docs

        return eval_docs(self.config.dataset)

    def _fewshot_docs(self) -> list[dict[str, Any]]:
        from olmo_eval.tasks.data import olmes_fewshot

        return olmes_fewshot()[self.config.dataset]

    def description(self) -> str | None:
        return None

    # -- derived ----------------------------------------------------------------------------------
    def docs(self) -> list[tuple[int, dict[str, Any]]]:
        docs = self._eval_docs()
        return docs if self.config.limit is None else docs[: self.config.limit]

    def processed(self) -> list[Processed]:
        if "processed" not in self._cache:
            self._cache["processed"] = [self._process(copy.deepcopy(d)) for _, d in self.docs()]
        return self._cache["processed"]

    def shots(self) -> list[tuple[str, str]]:
        """``(query, target)`` of the few-shot examples, in order."""
        out = []
        fewshot = self._fewshot_docs()
        if self.config.num_shots > len(fewshot):
            raise ValueError(f"{self.name}: {self.config.num_shots} shots asked, {len(fewshot)} available")
        for doc in fewshot[: self.config.num_shots]:
            p = self._process(copy.deepcopy(doc))
            if p.contexts is not None:
                out.append((p.contexts[p.gold], p.target or ""))
            else:
                out.append((p.query, " " + p.choices[p.gold]))
        return out

    def context(self, query: str) -> str:
        return fewshot_context(query, self.shots(), self.description())

    def instances(self) -> list[Instance]:
        out = []
        for index, ((i, doc), p) in enumerate(zip(self.docs(), self.processed())):
            texts = tuple(t for text in self._texts(doc) for t in text.split("\n") if t.strip())
            out.append(Instance(index=index, id=p.id or str(i), gold=p.gold, num_choices=len(p.choices),
                                texts=texts))
        return out

    def requests(self) -> list[Request]:
        """Conditional requests (instance-major, then choice), then, with PMI, the unconditional ones."""
        if "requests" in self._cache:
            return self._cache["requests"]
        shots = self.shots()
        desc = self.description()
        cond: list[Request] = []
        uncond: list[Request] = []
        for index, p in enumerate(self.processed()):
            shared = fewshot_context(p.query, shots, desc) if p.contexts is None else ""  # one string per instance
            for c, choice in enumerate(p.choices):
                if p.contexts is not None:
                    ctx = fewshot_context(p.contexts[c], shots, desc)
                    cont = p.target or ""
                else:
                    ctx = shared
                    cont = " " + choice
                cond.append(Request(index, c, ctx, cont))
                if self.config.uncond_prompt is not None:
                    uncond.append(Request(index, c, self.config.uncond_prompt, cont, uncond=True))
        self._cache["requests"] = cond + uncond
        return self._cache["requests"]

    def config_hash(self) -> str:
        """Hash of what decides the requests: task name, class, config and data file header."""
        from olmo_eval.tasks.data import load_dataset_file

        try:
            header = load_dataset_file(self.config.dataset)[0]
        except Exception:  # tasks with their own data files hash their config only
            header = {}
        return digest({"name": self.name, "class": type(self).__qualname__,
                       "config": dataclasses.asdict(self.config), "data": header})


def letters_for(choices: Sequence[str]) -> tuple[str, ...]:
    return tuple(LETTERS[: len(choices)])
