"""Named fault points for the chaos tests, the same contract as ``olmo_core.faults`` and
``dolma_tools.faults`` (olmo-eval imports no sibling, so it carries its own): ``OLMO_STACK_FAULT=site:n``
makes the process kill its own process group with SIGKILL the n-th time it reaches ``site``, so a test can
land a kill inside a write every time. Unset (always, outside those tests) a fault point costs one
dictionary lookup."""

from __future__ import annotations

import os
import signal

_ENV = "OLMO_STACK_FAULT"
_hits: dict[str, int] = {}


def fault_point(site: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    name, _, n = spec.partition(":")
    if name != site:
        return
    _hits[site] = _hits.get(site, 0) + 1
    if _hits[site] == int(n or 1):
        try:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
