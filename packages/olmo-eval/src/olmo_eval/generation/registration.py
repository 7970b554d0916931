"""The generation tasks inside ``olmo-eval run``: registers every task of :mod:`.tasks` in the task
registry (kind ``"generation"``), the ``gen6`` suite, and the evaluator the runner calls for that
kind. Imported by ``olmo_eval.tasks.catalog``.

The runner hands over whatever ``olmo_eval.models.load_model`` returned (a LanguageModel: an
olmo-core ``OLMo`` or an ``HFCausalLM`` wrapper) and its tokenizer; :func:`as_generator` and
:func:`~olmo_eval.generation.models.as_codec` turn them into a generator and a codec. The prompt
style is ``model.prompt_style`` when the caller set it, else ``"base"``; ``olmo-eval generate``
picks ``chat`` for adapted models by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from olmo_eval.generation.models import HFGenerator, NaiveGenerator, OlmoCoreGenerator, TextCodec
from olmo_eval.generation.runner import run_generation_task
from olmo_eval.generation.tasks import GEN6, GENERATION, GENERATION_TASKS
from olmo_eval.runner import register_evaluator
from olmo_eval.tasks.registry import SUITES, TASKS, register_suite, register_task

for _name, _cls in GENERATION_TASKS.items():
    if _name not in TASKS:
        register_task(_name)(_cls)
if "gen6" not in SUITES:
    register_suite("gen6", GEN6)


def as_generator(model: Any) -> Any:
    """A generator (``generate`` per :class:`~olmo_eval.interfaces.GenerativeLanguageModel`)."""
    if isinstance(model, (HFGenerator, OlmoCoreGenerator, NaiveGenerator)):
        return model
    inner = getattr(model, "model", None)
    if type(model).__name__ == "HFCausalLM" and inner is not None:
        return HFGenerator(inner)
    module = type(model).__module__
    if module.startswith("transformers"):
        return HFGenerator(model)
    if module.startswith("olmo_core") or module.startswith("olmoe"):
        return OlmoCoreGenerator(model)
    return NaiveGenerator(model)


def as_text_codec(tokenizer: Any) -> TextCodec:
    inner = getattr(tokenizer, "tok", None)
    return TextCodec(inner if inner is not None and not hasattr(tokenizer, "decode") else tokenizer)


def _ci95(values: Sequence[float], seed: int = 0, resamples: int = 1000) -> tuple[float, float]:
    if not values:
        return (0.0, 0.0)
    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(resamples, len(arr)))].mean(axis=1)
    return (float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))


@register_evaluator(GENERATION)
def evaluate_generation(model: Any, tokenizer: Any, tasks: Sequence[Any], out_dir: Path, *, model_id: str = "",
                        show_progress: bool = True, prompt_style: str | None = None, batch_size: int = 8,
                        sandbox_config: Any = None, **_: Any) -> dict[str, dict[str, Any]]:
    """Per task: records under ``out_dir/generation/<task>/`` (resumable) and a runner summary."""
    generator, codec = as_generator(model), as_text_codec(tokenizer)
    style = prompt_style or getattr(model, "prompt_style", None) or "base"
    out: dict[str, dict[str, Any]] = {}
    for task in tasks:
        metrics = run_generation_task(task, generator, codec, out_dir=Path(out_dir) / "generation",
                                      prompt_style=style, batch_size=batch_size, sandbox_config=sandbox_config,
                                      progress=show_progress)
        lines = (Path(out_dir) / "generation" / task.name / "instances.jsonl").read_text().splitlines()[1:]
        per_instance = [_instance_primary(task, r) for r in map(_json, lines)]
        out[task.name] = {"task": task.name, "config_hash": task.config_hash(), "group": None,
                          "primary_metric": metrics["primary_metric"], "primary": metrics["primary_score"],
                          "ci95": list(_ci95(per_instance)), "metrics": metrics, "model": model_id}
    return out


def _json(line: str) -> dict[str, Any]:
    import json

    return json.loads(line)


def _instance_primary(task: Any, record: dict[str, Any]) -> float:
    key = task.primary_metric
    return float(record["metrics"].get(key, record["metrics"].get("pass@1", 0.0)))
