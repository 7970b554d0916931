"""lm-eval's IFEval checkers (the originals, Google's instruction set as lm-eval ships it), run in their own
pinned, cached virtual environment (``tools/bench/harness.PeerEnv``) through a subprocess: lm-eval is never
imported in our interpreter. .ci/run builds ``PEER`` before the package suites.

nltk's punkt data is not on a package registry (nltk downloads it from the web at run time), so the peer
script forbids downloads and the two checkers that need punkt (``length_constraints:number_sentences``,
``change_case:capital_word_frequency``) are not compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import harness  # noqa: E402

PEER = harness.PeerEnv(("lm-eval[ifeval]==0.4.13", "langdetect==1.0.9", "immutabledict==4.3.1", "nltk==3.10.4"))

# Runs in the peer's interpreter: reads [{"type", "kwargs", "response"}, ...], writes one [verdict, language]
# per row, each row judged by a fresh instruction object exactly as lm-eval's ifeval task does (kwargs ->
# build_description -> check_following); language is langdetect's answer for the response (None where it
# finds none), which lm-eval's two English-case checkers also require.
_SCRIPT = r"""
import importlib.util, json, sys, types
import nltk

# lm-eval downloads punkt_tab at import when it is missing: no network at run time, so nothing is fetched
# (the checkers compared here do not use it)
nltk.download = lambda *args, **kwargs: False
import langdetect
langdetect.DetectorFactory.seed = 0  # langdetect samples; seeded, its answer is reproducible
# lm-eval's checker modules, unchanged, without the package __init__s above them (they load the whole
# evaluation framework, twice the time, and none of it is used by the checkers)
root = importlib.util.find_spec("lm_eval").submodule_search_locations[0]
for name, sub in (("lm_eval", ""), ("lm_eval.tasks", "/tasks"), ("lm_eval.tasks.ifeval", "/tasks/ifeval")):
    package = types.ModuleType(name)
    package.__path__ = [root + sub]
    sys.modules[name] = package
from lm_eval.tasks.ifeval import instructions_registry

rows = json.load(open(sys.argv[1]))
out = []
for row in rows:
    instruction = instructions_registry.INSTRUCTION_DICT[row["type"]](row["type"])
    instruction.build_description(**row["kwargs"])
    try:
        language = langdetect.detect(row["response"])
    except langdetect.LangDetectException:
        language = None
    out.append([bool(instruction.check_following(row["response"])), language])
json.dump(out, open(sys.argv[2], "w"))
"""


def lm_eval_verdicts(rows: list[dict]) -> list[tuple[bool, str | None]]:
    """lm-eval's ``check_following`` for each ``{"type", "kwargs", "response"}`` row, with langdetect's
    language of the response (None where it detects none)."""
    python = PEER.python
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(harness.OFFLINE_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, script = Path(tmp) / "rows.json", Path(tmp) / "verdicts.json", Path(tmp) / "peer.py"
        src.write_text(json.dumps(rows))
        script.write_text(_SCRIPT)
        proc = subprocess.run([str(python), str(script), str(src), str(dst)], capture_output=True, text=True,
                              timeout=600, cwd=tmp, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"lm-eval's checkers failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        return [(verdict, language) for verdict, language in json.loads(dst.read_text())]
