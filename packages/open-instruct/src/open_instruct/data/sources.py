"""Reading chat examples and preference pairs from JSON lines or Parquet through ``datasets``.

Records are validated by the contracts in ``open_instruct.interfaces``; a bad record raises
``DataFormatError`` naming the file and its 1-based line (row, for Parquet). Read as SFT data, a
preference file gives its ``prompt + chosen`` conversations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from open_instruct.interfaces import ChatExample, DataFormatError, PreferencePair

Kind = Literal["sft", "dpo"]
_JSON_SUFFIXES = (".jsonl", ".json", ".jsonl.zst", ".json.zst", ".jsonl.gz", ".json.gz", ".jsonl.zstd")


def file_format(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(_JSON_SUFFIXES):
        return "json"
    raise DataFormatError("unknown file type; expected .jsonl[.zst|.gz], .json or .parquet", where=str(path))


def load_rows(path: str | Path, *, cache_dir: str | Path | None = None) -> list[dict]:
    """All rows of one file as plain dicts, in file order."""
    import datasets

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    cache_dir = str(cache_dir) if cache_dir is not None else os.environ.get(
        "OPEN_INSTRUCT_DATASETS_CACHE", str(Path.home() / ".cache" / "open_instruct" / "datasets"))
    datasets.disable_progress_bars()
    try:
        ds = datasets.load_dataset(file_format(path), data_files=str(path), split="train", cache_dir=cache_dir)
        return ds.to_list()
    except Exception as e:  # datasets wraps JSON/Arrow errors in many types; keep the file name
        if file_format(path) == "json":  # say which line, as datasets does not
            _check_json_lines(path)
        raise DataFormatError(f"could not be read by datasets: {e}", where=str(path)) from e


def _check_json_lines(path: Path) -> None:
    """Raise naming the first line of a JSON-lines file that is not UTF-8 JSON (or an empty file)."""
    import io
    import json

    if path.name.endswith((".zst", ".zstd")):
        import zstandard

        opened = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    elif path.name.endswith(".gz"):
        import gzip

        opened = gzip.open(path, "rb")
    else:
        opened = open(path, "rb")
    seen = 0
    try:
        with opened as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                seen += 1
                try:
                    json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    raise DataFormatError(f"invalid UTF-8 at byte {e.start}", where=f"{path}:line {n}") from None
                except json.JSONDecodeError as e:
                    raise DataFormatError(f"malformed JSON ({e.msg} at column {e.colno})", where=f"{path}:line {n}") from None
    except DataFormatError:
        raise
    except Exception as e:  # a truncated or corrupt compressed stream
        raise DataFormatError(f"unreadable or truncated after {seen} records ({e})", where=str(path)) from None
    if seen == 0:
        raise DataFormatError("empty: no records", where=str(path))


def parse_records(rows: list[dict], kind: Kind, *, where: str) -> list[ChatExample] | list[PreferencePair]:
    cls = ChatExample if kind == "sft" else PreferencePair
    line = "line" if file_format(where) == "json" else "row"
    out = []
    for i, row in enumerate(rows):
        # datasets fills keys missing from a record with None; the contracts treat them as absent.
        obj = {k: v for k, v in row.items() if v is not None}
        loc = f"{where}:{line} {i + 1}"
        if kind == "sft" and "messages" not in obj and "chosen" in obj:
            # SFT on the chosen side of preference data (prompt + chosen), as Zephyr-style recipes do.
            pair = PreferencePair.from_json(obj, where=loc)
            out.append(ChatExample(pair.prompt + pair.chosen, id=pair.id, source=pair.source))
            continue
        out.append(cls.from_json(obj, where=loc))
    return out


def read_records(path: str | Path, kind: Kind, *, cache_dir: str | Path | None = None):
    return parse_records(load_rows(path, cache_dir=cache_dir), kind, where=str(path))


