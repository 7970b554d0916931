"""Verifiers: pure functions that judge a response, filed in a registry by name.

``verify("numeric", "... #### 42", answer="42")`` -> ``Verdict(correct=True, score=1.0)``.
Importing this package registers every built-in verifier.
"""

from open_instruct.verifiers import code, exact, ifeval, numeric  # noqa: F401  (registers the verifiers)
from open_instruct.verifiers.registry import VERIFIERS, Verdict, register_verifier, verify

__all__ = ["VERIFIERS", "Verdict", "register_verifier", "verify"]
