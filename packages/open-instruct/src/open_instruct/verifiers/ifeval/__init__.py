"""IFEval-style instruction constraints (Google's IFEval instruction set) and the ``ifeval`` verifier.

``verify("ifeval", response, constraints=[{"type": "punctuation:no_comma"},
{"type": "number_words", "num_words": 50, "relation": "less than"}])`` is correct iff every constraint holds;
its score is the fraction that hold. An empty response meets no constraint (IFEval's strict rule).
"""

from open_instruct.verifiers.ifeval import case, formatting, keywords, length, startend  # noqa: F401  (registers)
from open_instruct.verifiers.ifeval.registry import (
    CONSTRAINTS,
    ConstraintError,
    check_constraint,
    register_constraint,
    resolve,
)
from open_instruct.verifiers.registry import Verdict, register_verifier

__all__ = ["CONSTRAINTS", "ConstraintError", "check_constraint", "ifeval", "register_constraint", "resolve"]


@register_verifier("ifeval")
def ifeval(response: str, *, constraints: list[dict]) -> Verdict:
    """Correct iff all ``constraints`` (``{"type": id, **kwargs}``) hold; score = fraction that hold."""
    if not isinstance(constraints, list) or not constraints:
        raise ConstraintError(f"ifeval verifier: constraints must be a non-empty list, got {constraints!r}")
    failed = [c["type"] for c in constraints
              if not (check_constraint(response, c) and response.strip())]
    held = len(constraints) - len(failed)
    reason = "" if not failed else ("empty response" if not response.strip() else f"failed: {', '.join(failed)}")
    return Verdict(not failed, held / len(constraints), reason)
