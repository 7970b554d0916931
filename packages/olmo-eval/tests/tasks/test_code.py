"""Every canonical solution passes its own tests through the sandbox; a wrong one fails."""

from __future__ import annotations

import os

import pytest

from olmo_eval.sandbox import Outcome, SandboxConfig, run_programs
from olmo_eval.tasks import get_task

CONFIG = SandboxConfig(wall_seconds=20, cpu_seconds=10, workers=max(2, os.cpu_count() or 2))


def _run_together(programs: list[str], chunks: int = 4) -> list[str]:
    """Run many benign programs inside a few sandboxed processes, each program with fresh globals:
    one process per program costs tens of milliseconds, too slow for all 664 in the test budget.
    The per-program path is exercised on a sample below and by test_sandbox.py."""
    verdicts: list[str] = []
    size = -(-len(programs) // chunks)
    harness = ("import sys\nsrcs = {srcs!r}\nfor i, src in enumerate(srcs):\n    try:\n"
               "        exec(compile(src, f'program{{i}}', 'exec'), {{'__name__': '__main__'}})\n"
               "        print('passed')\n    except BaseException as exc:\n"
               "        print('failed', i, type(exc).__name__, str(exc)[:100].replace(chr(10), ' '))\n")
    batch = [harness.format(srcs=programs[k:k + size]) for k in range(0, len(programs), size)]
    for result in run_programs(batch, SandboxConfig(wall_seconds=120, cpu_seconds=120, workers=2)):
        assert result.outcome == Outcome.PASSED, result.stderr[-500:]
        verdicts += result.stdout.splitlines()
    return verdicts


@pytest.mark.parametrize("name,count", [("codex_humaneval", 164), ("codex_mbpp", 500)])
def test_canonical_solutions_pass(name: str, count: int) -> None:
    task = get_task(name)
    instances = task.instances()
    assert len(instances) == count
    programs = [task.program(i, task.gold_continuation(i, "base")) for i in instances]
    verdicts = _run_together(programs)
    assert len(verdicts) == count
    assert [v for v in verdicts if v != "passed"] == []
    sample = run_programs(programs[:8], CONFIG)
    assert [r.outcome for r in sample] == [Outcome.PASSED] * 8


def test_wrong_and_restated_solutions() -> None:
    task = get_task("codex_humaneval", limit=1)
    inst = task.instances()[0]
    wrong = task.program(inst, "    return False\n")
    # chat models restate the whole function: the prompt is replaced but its imports are kept
    restated = ("def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
                + inst.doc["canonical_solution"])
    results = run_programs([wrong, task.program(inst, restated)], CONFIG)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.PASSED]
    mbpp = get_task("codex_mbpp", limit=1)
    m = mbpp.instances()[0]
    # the generation runs past the closing fence: only the code before it is the program
    gold = mbpp.gold_continuation(m, "base")
    assert gold.endswith("```")
    scored = mbpp.score(m, [gold + "\n\nWrite a function", "def remove_Occ(s, ch):\n    return s\n```"], "base",
                        sandbox_config=CONFIG)
    assert [v["outcome"] for v in scored["verdicts"]] == ["passed", "failed"]
    assert scored["metrics"]["pass@1"] == 0.5
