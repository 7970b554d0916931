"""The file formats dolma-tools owns: documents, attributes and tokenized datasets.

This module is the public interface other packages and users may rely on. It has no dependency
beyond the standard library so that a reader can be written against it anywhere; the authoritative
description is ``docs/interfaces.md`` at the repository root, and the versions below are bumped
whenever a format changes incompatibly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOCUMENT_FORMAT_VERSION = 1
ATTRIBUTES_FORMAT_VERSION = 1
#: 2 added the header field ``array_format`` (a version-1 array is always ``npy``).
TOKENS_FORMAT_VERSION = 2
TOKENS_FORMAT_VERSIONS = (1, 2)
#: ``memmap``: headerless little-endian ids, as Dolma's ``tokens`` and OLMo-core's numpy datasets
#: read and write them, with Dolma's ``.csv.gz`` metadata beside; ``npy``: a NumPy ``.npy`` file.
TOKEN_ARRAY_FORMATS = ("memmap", "npy")
TOKENS_FORMAT_NAME = "olmo-stack/tokens"

#: Compression is chosen by file extension, as in Dolma.
COMPRESSED_SUFFIXES = (".gz", ".zst")


class FormatError(ValueError):
    """Bad input, located: which file, which line (1-based) and which field."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


@dataclass
class Document:
    """One Dolma document: a JSON object a line with ``id``, ``text``, ``source``, ``added``,
    ``created`` and ``metadata``. ``id`` and ``text`` are required; the others default to empty."""

    id: str
    text: str
    source: str = ""
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, *, path: str | Path | None = None, line: int | None = None) -> Document:
        """Validate a decoded JSON line; raise :class:`FormatError` naming the file, line and field."""
        if not isinstance(obj, dict):
            raise FormatError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=line)
        for key in ("id", "text"):
            if key not in obj:
                raise FormatError("missing required field", path=path, line=line, field=key)
        doc_id, text = obj["id"], obj["text"]
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str) or not doc_id:
            raise FormatError("must be a non-empty string", path=path, line=line, field="id")
        if not isinstance(text, str):
            raise FormatError(f"must be a string, got {type(text).__name__}", path=path, line=line,
                              field="text")
        source = obj.get("source") or ""
        if not isinstance(source, str):
            raise FormatError("must be a string", path=path, line=line, field="source")
        metadata = obj.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise FormatError("must be an object", path=path, line=line, field="metadata")
        return cls(id=doc_id, text=text, source=source, added=obj.get("added"), created=obj.get("created"),
                   metadata=metadata)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "source": self.source, "added": self.added,
                "created": self.created, "metadata": self.metadata}


# --------------------------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------------------------

#: ``[start, end, score]``: character offsets into ``text`` (end exclusive) and a score.
Span = list[float]


@dataclass
class AttributeRecord:
    """One line of an attributes file: ``{"id": ..., "attributes": {name: [[start, end, score], ...]}}``.

    Attribute files mirror document files: ``<root>/documents/<rel>`` has its attributes at
    ``<root>/attributes/<tagger-set>/<rel>``, with the same number of lines in the same order."""

    id: str
    attributes: dict[str, list[Span]]

    @classmethod
    def from_json(cls, obj: Any, *, path: str | Path | None = None,
                  line: int | None = None) -> AttributeRecord:
        if not isinstance(obj, dict):
            raise FormatError("expected a JSON object", path=path, line=line)
        if not isinstance(obj.get("id"), str):
            raise FormatError("missing or not a string", path=path, line=line, field="id")
        attrs = obj.get("attributes")
        if not isinstance(attrs, dict):
            raise FormatError("missing or not an object", path=path, line=line, field="attributes")
        for name, spans in attrs.items():
            if not isinstance(spans, list):
                raise FormatError("must be a list of [start, end, score]", path=path, line=line,
                                  field=f"attributes.{name}")
            for span in spans:
                if (not isinstance(span, list) or len(span) != 3
                        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in span)):
                    raise FormatError(f"bad span {span!r}: expected [start, end, score]", path=path,
                                      line=line, field=f"attributes.{name}")
                if span[0] > span[1] or span[0] < 0 or not math.isfinite(span[2]):
                    raise FormatError(f"bad span {span!r}: need 0 <= start <= end and a finite score",
                                      path=path, line=line, field=f"attributes.{name}")
        return cls(id=obj["id"], attributes=attrs)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "attributes": self.attributes}


def attributes_path(documents_path: str | Path, attribute_set: str) -> Path:
    """Where the attributes of ``.../documents/<rel>`` live: ``.../attributes/<attribute_set>/<rel>``."""
    parts = Path(documents_path).parts
    if "documents" not in parts:
        raise FormatError("document files must live under a 'documents' folder to have attributes",
                          path=documents_path)
    i = len(parts) - 1 - parts[::-1].index("documents")
    return Path(*parts[:i], "attributes", attribute_set, *parts[i + 1:])


# --------------------------------------------------------------------------------------------
# Tokenized datasets
# --------------------------------------------------------------------------------------------

TOKENS_COLUMNS = ("start", "end", "id", "source", "source_file")


@dataclass
class TokensHeader:
    """First line of a tokenized shard's sidecar (``part-NNNNN.docs.jsonl``).

    The array ``part-NNNNN.npy`` holds every document's tokens followed by ``eos_id``, as ``dtype``:
    headerless (``array_format="memmap"``, the default; Dolma's ``part-NNNNN.csv.gz`` metadata beside
    it) or a NumPy ``.npy`` file (``"npy"``). Each following sidecar line is ``[start, end, id,
    source, source_file]``: the document's token range ``[start, end)`` in the array, EOS included,
    rows contiguous and in array order. The sidecar is written (renamed into place) after the array,
    so a shard without a sidecar is unfinished."""

    dtype: str
    eos_id: int
    pad_id: int
    vocab_size: int
    tokenizer_name: str
    tokenizer_sha256: str
    num_documents: int
    num_tokens: int
    array: str
    array_format: str = "memmap"
    format: str = TOKENS_FORMAT_NAME
    version: int = TOKENS_FORMAT_VERSION
    columns: tuple[str, ...] = TOKENS_COLUMNS

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "version": self.version, "dtype": self.dtype, "eos_id": self.eos_id,
                "pad_id": self.pad_id, "vocab_size": self.vocab_size,
                "tokenizer": {"name": self.tokenizer_name, "sha256": self.tokenizer_sha256},
                "num_documents": self.num_documents, "num_tokens": self.num_tokens, "array": self.array,
                "array_format": self.array_format, "columns": list(self.columns)}

    @classmethod
    def from_json(cls, obj: Any, *, path: str | Path | None = None) -> TokensHeader:
        if not isinstance(obj, dict) or obj.get("format") != TOKENS_FORMAT_NAME:
            raise FormatError(f"not a tokenized-dataset sidecar (format != {TOKENS_FORMAT_NAME!r})",
                              path=path, line=1, field="format")
        if obj.get("version") not in TOKENS_FORMAT_VERSIONS:
            raise FormatError(f"unsupported version {obj.get('version')!r}, this reader knows "
                              f"{list(TOKENS_FORMAT_VERSIONS)}", path=path, line=1, field="version")
        array_format = obj.get("array_format") if obj["version"] >= 2 else "npy"
        if array_format not in TOKEN_ARRAY_FORMATS:
            raise FormatError(f"array_format must be one of {list(TOKEN_ARRAY_FORMATS)}, got {array_format!r}",
                              path=path, line=1, field="array_format")
        if obj.get("dtype") not in ("uint16", "uint32"):
            raise FormatError(f"dtype must be uint16 or uint32, got {obj.get('dtype')!r}", path=path,
                              line=1, field="dtype")
        if tuple(obj.get("columns", ())) != TOKENS_COLUMNS:
            raise FormatError(f"columns must be {list(TOKENS_COLUMNS)}", path=path, line=1, field="columns")
        try:
            tok = obj["tokenizer"]
            return cls(dtype=obj["dtype"], eos_id=int(obj["eos_id"]), pad_id=int(obj["pad_id"]),
                       vocab_size=int(obj["vocab_size"]), tokenizer_name=str(tok["name"]),
                       tokenizer_sha256=str(tok["sha256"]), num_documents=int(obj["num_documents"]),
                       num_tokens=int(obj["num_tokens"]), array=str(obj["array"]), array_format=array_format)
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"missing or bad header field: {e}", path=path, line=1) from e


def token_dtype_for(vocab_size: int) -> str:
    """uint16 when every id fits, else uint32."""
    return "uint16" if vocab_size <= 2**16 else "uint32"


def sidecar_path(array_path: str | Path) -> Path:
    p = Path(array_path)
    return p.with_name(p.name[: -len(".npy")] + ".docs.jsonl")


def read_tokens_sidecar(path: str | Path) -> tuple[TokensHeader, list[list[Any]]]:
    """Read and validate a sidecar: header, then rows that tile ``[0, num_tokens)`` contiguously."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        if not first:
            raise FormatError("empty sidecar", path=path)
        try:
            header = TokensHeader.from_json(json.loads(first), path=path)
        except json.JSONDecodeError as e:
            raise FormatError(f"header is not JSON: {e}", path=path, line=1) from e
        rows: list[list[Any]] = []
        expected_start = 0
        for lineno, raw in enumerate(f, start=2):
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                raise FormatError(f"not JSON: {e}", path=path, line=lineno) from e
            if not isinstance(row, list) or len(row) != len(TOKENS_COLUMNS):
                raise FormatError(f"expected {list(TOKENS_COLUMNS)}", path=path, line=lineno)
            start, end = row[0], row[1]
            if start != expected_start or not isinstance(end, int) or end <= start:
                raise FormatError(f"token range [{start}, {end}) does not continue at {expected_start}",
                                  path=path, line=lineno, field="start")
            expected_start = end
            rows.append(row)
    if len(rows) != header.num_documents or expected_start != header.num_tokens:
        raise FormatError(f"header says {header.num_documents} documents / {header.num_tokens} tokens, "
                          f"rows give {len(rows)} / {expected_start}", path=path)
    return header, rows
