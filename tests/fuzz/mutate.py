"""Seeded mutations of real input files: what a disk, a network copy or a careless hand does to them.

Each mutation is a function ``(data: bytes, rng) -> bytes`` registered under a name with
:func:`mutation`; the structured ones (wrong types, missing fields, NaN/inf) parse JSON, JSON lines or
YAML, change one value and write the text back. :func:`mutants` draws ``n`` of them from a seed, so a
failure replays from the seed and index printed with it.

Whether a mutant is still valid input is decided by the caller's *oracle*, an independent parse of
the format (not the code under test), because many mutations are benign by chance: a bit flip inside
a document's text, a truncation that lands on a line end."""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

Mutation = Callable[[bytes, random.Random], bytes]
MUTATIONS: dict[str, Mutation] = {}
#: the mutations that need text in a format they can parse (``json``, ``jsonl`` or ``yaml``)
STRUCTURED = ("wrong_type", "missing_field", "nan_inf")
#: raw-byte mutations, meaningful for any file (compressed shards, safetensors, token arrays)
BYTES = ("truncate", "bit_flip", "empty", "huge_line", "invalid_utf8")


def mutation(name: str) -> Callable[[Mutation], Mutation]:
    def register(fn: Mutation) -> Mutation:
        MUTATIONS[name] = fn
        return fn
    return register


@mutation("truncate")
def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, max(len(data), 2))]


@mutation("bit_flip")
def bit_flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


@mutation("empty")
def empty(data: bytes, rng: random.Random) -> bytes:
    return b""


@mutation("huge_line")
def huge_line(data: bytes, rng: random.Random) -> bytes:
    """A 4 MiB line without a newline (a binary blob pasted into a text file), at a line boundary."""
    lines = data.split(b"\n")
    at = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:at] + [b"A" * (4 << 20)] + lines[at:])


@mutation("invalid_utf8")
def invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    """Bytes that are no UTF-8 (a lone continuation, an overlong form) inside a quoted string if any."""
    quotes = [i for i in range(len(data)) if data[i] == 0x22]
    at = quotes[rng.randrange(len(quotes))] + 1 if quotes else rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\x80", b"\xed\xa0\x80"]) + data[at:]


# ---- structured mutations: one value of a parsed JSON / JSON-lines / YAML file ---------------------


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _wrong_type_for(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return rng.choice(["yes-ish", [1], {"a": 1}])
    if isinstance(value, int | float):
        return rng.choice(["not-a-number", [value], {"value": value}])
    if isinstance(value, str):
        return rng.choice([12345, [value], {"value": value}, True])
    if isinstance(value, list):
        return rng.choice(["a string", 7, {"0": value[:1]}])
    if isinstance(value, dict):
        return rng.choice(["a string", 7, list(value)[:2]])
    return rng.choice(["a string", [1, 2]])  # None


def _edit(obj: Any, rng: random.Random, kind: str) -> Any:
    paths = list(_paths(obj))
    if kind == "missing_field":
        paths = [p for p in paths if isinstance(_get(obj, p[:-1]), dict)]
    elif kind == "nan_inf":  # numbers first; a file without numbers gets NaN where a value was
        numbers = [p for p in paths if isinstance(_get(obj, p), int | float) and not isinstance(_get(obj, p), bool)]
        paths = numbers or paths
    if not paths:
        return "a string" if kind == "wrong_type" else None
    path = rng.choice(paths)
    parent = _get(obj, path[:-1])
    if kind == "missing_field":
        del parent[path[-1]]
    elif kind == "nan_inf":
        parent[path[-1]] = rng.choice([math.nan, math.inf, -math.inf])
    else:
        parent[path[-1]] = _wrong_type_for(parent[path[-1]], rng)
    return obj


def structured(kind: str, fmt: str) -> Mutation:
    """The ``kind`` edit of one value, for files in ``fmt`` (``json``, ``jsonl`` or ``yaml``)."""

    def apply(data: bytes, rng: random.Random) -> bytes:
        if fmt == "yaml":
            return yaml.safe_dump(_edit(yaml.safe_load(data), rng, kind), sort_keys=False).encode()
        if fmt == "json":
            return json.dumps(_edit(json.loads(data), rng, kind)).encode()
        lines = data.splitlines()
        i = rng.randrange(len(lines))
        lines[i] = json.dumps(_edit(json.loads(lines[i]), rng, kind)).encode()
        return b"\n".join(lines) + b"\n"

    return apply


@dataclass
class Mutant:
    seed: int
    index: int
    kind: str
    data: bytes

    def __str__(self) -> str:
        return f"seed={self.seed} #{self.index} {self.kind} ({len(self.data)} bytes)"


def mutants(data: bytes, seed: int, n: int, *, fmt: str | None = None,
            kinds: tuple[str, ...] | None = None) -> list[Mutant]:
    """``n`` mutants of ``data`` drawn from ``seed``, cycling through ``kinds`` (default: the byte
    mutations, plus the structured ones when ``fmt`` names a parseable format) so each kind appears."""
    kinds = kinds or (BYTES + (STRUCTURED if fmt else ()))
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        fn = structured(kind, fmt) if kind in STRUCTURED else MUTATIONS[kind]
        out.append(Mutant(seed, i, kind, fn(data, rng)))
    return out


# ---- independent oracles: is the mutated file still valid input? -------------------------------


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def json_lines_valid(data: bytes, record_ok: Callable[[Any], bool], *, strict: bool = True) -> bool:
    """Every non-blank line is UTF-8 JSON that ``record_ok`` accepts, and there is at least one.
    ``strict``: NaN and Infinity (which Python's json reads and writes) count as invalid."""
    parse = _strict_json if strict else json.loads
    lines = [line for line in data.splitlines() if line.strip()]
    try:
        return bool(lines) and all(record_ok(parse(line.decode("utf-8"))) for line in lines)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False


def dolma_document_ok(obj: Any) -> bool:
    """The Dolma document schema (docs/interfaces.md): ``id`` a non-empty string (or an integer),
    ``text`` a string; ``source`` a string and ``metadata`` an object when present and not empty."""
    if not isinstance(obj, dict) or "id" not in obj or "text" not in obj:
        return False
    doc_id = obj["id"]
    id_ok = (isinstance(doc_id, str) and doc_id) or (isinstance(doc_id, int) and not isinstance(doc_id, bool))
    return bool(id_ok) and isinstance(obj["text"], str) and isinstance(obj.get("source") or "", str) \
        and isinstance(obj.get("metadata") or {}, dict)


def unique_ids(data: bytes) -> bool:
    ids = [str(json.loads(line)["id"]) for line in data.splitlines() if line.strip()]
    return len(ids) == len(set(ids))


def documents_valid(data: bytes) -> bool:
    """Dolma documents, at least one, ids unique. NaN in a free-form field (``metadata``, ``added``)
    is left to the reader: Python's json takes it, and the schema says nothing of those values."""
    return json_lines_valid(data, dolma_document_ok, strict=False) and unique_ids(data)


def gzip_payload(data: bytes) -> bytes | None:
    """The decompressed bytes, or None when the gzip stream is corrupt or truncated."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, ValueError):
        return None
