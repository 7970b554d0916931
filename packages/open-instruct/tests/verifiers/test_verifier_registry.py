"""The verifier registry: lookup by name, clear errors, one registration per name."""

from __future__ import annotations

import dataclasses

import pytest

from open_instruct.verifiers import VERIFIERS, Verdict, register_verifier, verify


def test_built_in_verifiers_are_registered() -> None:
    assert {"numeric", "exact", "ifeval", "code"} <= set(VERIFIERS)


def test_unknown_name_is_a_key_error_naming_the_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        verify("numerc", "42", answer="42")
    assert "numerc" in str(info.value)
    for name in ("code", "exact", "ifeval", "numeric"):
        assert name in str(info.value)


def test_a_registered_verifier_is_called_through_verify(monkeypatch) -> None:
    monkeypatch.setattr("open_instruct.verifiers.registry.VERIFIERS", dict(VERIFIERS))

    @register_verifier("starts_with")
    def starts_with(response: str, *, prefix: str) -> Verdict:
        return Verdict(response.startswith(prefix), float(response.startswith(prefix)))

    assert verify("starts_with", "hello", prefix="he") == Verdict(True, 1.0)
    assert verify("starts_with", "hello", prefix="lo") == Verdict(False, 0.0)
    with pytest.raises(ValueError, match="already registered"):
        register_verifier("starts_with")(lambda response: Verdict(True, 1.0))


def test_verdicts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Verdict(True, 1.0).correct = False  # type: ignore[misc]
