"""The data contracts open-instruct owns: chat examples and preference pairs.

As in ``../shared/data/instruct/``: a chat example is ``{"messages": [{"role", "content"}, ...]}``
(``id`` and ``source`` optional); a preference pair is ``{"prompt": [...], "chosen": [...],
"rejected": [...]}`` where ``prompt`` holds the shared turns and ``chosen``/``rejected`` the
assistant continuation(s), or, without ``prompt``, full ``chosen``/``rejected`` conversations that
share a prefix. See ``docs/interfaces.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHAT_FORMAT_VERSION = 1
PREFERENCE_FORMAT_VERSION = 1
ROLES = ("system", "user", "assistant")


class DataFormatError(ValueError):
    """Bad chat or preference data; the message names the source, the record and the field."""

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None) -> None:
        self.where, self.field = where, field
        prefix = ", ".join(p for p in (where, f"field {field!r}" if field else None) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass(frozen=True)
class Message:
    role: str
    content: str


def parse_messages(value: Any, *, where: str | None = None, field: str = "messages") -> list[Message]:
    if not isinstance(value, list) or not value:
        raise DataFormatError("must be a non-empty list of {role, content}", where=where, field=field)
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise DataFormatError(f"turn {i} must be {{'role': one of {ROLES}, 'content': str}}, got {m!r}",
                                  where=where, field=f"{field}[{i}]")
        out.append(Message(m["role"], m["content"]))
    return out


@dataclass
class ChatExample:
    messages: list[Message]
    id: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, *, where: str | None = None) -> ChatExample:
        if not isinstance(obj, dict):
            raise DataFormatError("expected a JSON object", where=where)
        if "messages" not in obj:
            raise DataFormatError("missing", where=where, field="messages")
        messages = parse_messages(obj["messages"], where=where)
        if not any(m.role == "assistant" for m in messages):
            raise DataFormatError("has no assistant turn, so there is nothing to train on", where=where,
                                  field="messages")
        return cls(messages=messages, id=str(obj.get("id", "")), source=str(obj.get("source", "")))


@dataclass
class PreferencePair:
    """Normalized to ``prompt`` (shared turns) + ``chosen`` / ``rejected`` (the differing tails)."""

    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    id: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, *, where: str | None = None) -> PreferencePair:
        if not isinstance(obj, dict):
            raise DataFormatError("expected a JSON object", where=where)
        for key in ("chosen", "rejected"):
            if key not in obj:
                raise DataFormatError("missing", where=where, field=key)
        chosen = parse_messages(obj["chosen"], where=where, field="chosen")
        rejected = parse_messages(obj["rejected"], where=where, field="rejected")
        if "prompt" in obj and obj["prompt"] is not None:
            prompt_value = obj["prompt"]
            if isinstance(prompt_value, str):
                prompt_value = [{"role": "user", "content": prompt_value}]
            prompt = parse_messages(prompt_value, where=where, field="prompt")
        else:
            n = 0
            while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
                n += 1
            prompt, chosen, rejected = chosen[:n], chosen[n:], rejected[n:]
            if not prompt:
                raise DataFormatError("chosen and rejected share no prompt turns", where=where, field="chosen")
        for key, tail in (("chosen", chosen), ("rejected", rejected)):
            if not any(m.role == "assistant" for m in tail):
                raise DataFormatError("has no assistant turn after the prompt", where=where, field=key)
        return cls(prompt=prompt, chosen=chosen, rejected=rejected, id=str(obj.get("id", "")),
                   source=str(obj.get("source", "")))
