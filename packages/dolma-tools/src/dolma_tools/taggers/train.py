"""Training a fastText classifier from labelled documents (for :class:`FastTextClassifier`)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from dolma_tools.atomic import atomic_path
from dolma_tools.docio import expand_inputs, iter_records
from dolma_tools.interfaces import FormatError
from dolma_tools.taggers.fasttext_model import normalize


def _get(obj: dict[str, Any], dotted: str, path: Path, line: int) -> str:
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise FormatError(f"no label at {dotted!r}", path=path, line=line, field=dotted)
        cur = cur[part]
    return str(cur).strip().replace(" ", "_")


def train_classifier(documents: str | list[str], output: str | Path, *, label_field: str = "metadata.label",
                     valid_fraction: float = 0.1, epoch: int = 5, lr: float = 0.5, dim: int = 64,
                     word_ngrams: int = 2, min_count: int = 1, max_chars: int = 20000, seed: int = 0,
                     threads: int | None = None) -> dict[str, Any]:
    """Write fastText training lines (``__label__X text``), train, save atomically, and report
    counts per label and precision@1 on a held-out split (chosen by a seeded shuffle)."""
    import fasttext

    rows: list[str] = []
    counts: dict[str, int] = {}
    for path in expand_inputs(documents):
        for line, obj in iter_records(path):
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise FormatError("missing required field", path=path, line=line, field="text")
            label = _get(obj, label_field, path, line)
            text = normalize(obj["text"][:max_chars])
            if text:
                rows.append(f"__label__{label} {text}")
                counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise ValueError(f"need at least two labels to train a classifier, found {sorted(counts)}")
    random.Random(seed).shuffle(rows)
    n_valid = int(len(rows) * valid_fraction)
    valid, train = rows[:n_valid], rows[n_valid:]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp, "train.txt")
        train_file.write_text("\n".join(train) + "\n", encoding="utf-8")
        model = fasttext.train_supervised(str(train_file), epoch=epoch, lr=lr, dim=dim, wordNgrams=word_ngrams,
                                          minCount=min_count, seed=seed, thread=threads or 1, verbose=0)
        if output.suffix == ".ftz":
            model.quantize(input=str(train_file), retrain=False)
        result: dict[str, Any] = {"output": str(output), "labels": counts, "train": len(train), "valid": len(valid)}
        if valid:
            valid_file = Path(tmp, "valid.txt")
            valid_file.write_text("\n".join(valid) + "\n", encoding="utf-8")
            n, p1, _ = model.test(str(valid_file))
            result["valid_precision_at_1"] = p1
        with atomic_path(output) as tmp_out:
            model.save_model(str(tmp_out))
    return result
