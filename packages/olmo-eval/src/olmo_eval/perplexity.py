"""Paloma-style perplexity over folders of documents.

Input: ``ROOT/<source>/<subdomain>/*.jsonl.gz|.jsonl.zst|.jsonl`` (Dolma documents; a source whose
files sit directly in ``ROOT/<source>/`` is one subdomain named after the source). Each document is
scored on its own: ``[EOS] + tokens`` is cut into non-overlapping windows of the model's length, every
token is predicted exactly once from the tokens before it in its window, never from another document.
Reported per subdomain: token-weighted perplexity and bits per byte with the token, byte and summed
NLL counts (so results re-aggregate exactly); then macro averages per source and overall (over
subdomains), plus the token-weighted overall figure.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from olmo_eval.files import write_json, write_jsonl
from olmo_eval.metrics import perplexity_summary
from olmo_eval.progress import progress_bar
from olmo_eval.scoring import TokenRequest, score_requests
from olmo_eval.tokenizer import encode_all

SUFFIXES = (".jsonl.gz", ".jsonl.zst", ".jsonl")


class DocumentError(ValueError):
    """A document file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class PplDocument:
    source: str
    subdomain: str
    id: str
    text: str


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.name.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def read_documents(path: Path) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of each line of a Dolma file; errors name the file, the 1-based line and the field.
    Lines are decoded one at a time, so invalid UTF-8 is placed on its line."""
    lineno, found = 0, False
    try:
        with _open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    raise DocumentError(f"{path}:{lineno}: invalid UTF-8 at byte {e.start}") from None
                except json.JSONDecodeError as e:
                    raise DocumentError(f"{path}:{lineno}: malformed JSON ({e})") from e
                if not isinstance(obj, dict) or "text" not in obj or "id" not in obj:
                    raise DocumentError(f"{path}:{lineno}: a document needs 'id' and 'text'")
                if not isinstance(obj["text"], str):
                    raise DocumentError(f"{path}:{lineno}: field 'text' is a {type(obj['text']).__name__}, not a string")
                if not isinstance(obj["id"], str | int) or isinstance(obj["id"], bool) or obj["id"] == "":
                    raise DocumentError(f"{path}:{lineno}: field 'id' must be a non-empty string")
                found = True
                yield str(obj["id"]), obj["text"]
    except (EOFError, OSError, zlib.error) as e:
        raise DocumentError(f"{path}: unreadable or truncated after line {lineno} ({e})") from e
    except Exception as e:  # zstandard's errors are not OSErrors
        if isinstance(e, DocumentError) or type(e).__module__.split(".")[0] != "zstandard":
            raise
        raise DocumentError(f"{path}: unreadable or truncated after line {lineno} ({e})") from e
    if not found:
        raise DocumentError(f"{path}: empty, no documents")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))


def load_documents(root: str | Path, *, max_docs_per_subdomain: int | None = None) -> list[PplDocument]:
    """Every document under ``root`` in sorted source/subdomain/file/line order."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder of <source>/<subdomain>/*.jsonl.gz|zst")
    docs: list[PplDocument] = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        groups = [(source_dir.name, _files(source_dir))] if _files(source_dir) else []
        groups += [(d.name, _files(d)) for d in sorted(p for p in source_dir.iterdir() if p.is_dir())]
        for subdomain, files in groups:
            n = 0
            for path in files:
                for doc_id, text in read_documents(path):
                    if max_docs_per_subdomain is not None and n >= max_docs_per_subdomain:
                        break
                    docs.append(PplDocument(source_dir.name, subdomain, doc_id, text))
                    n += 1
    if not docs:
        raise FileNotFoundError(f"{root}: no documents found")
    return docs


def window_requests(tokens: Sequence[int], window: int, bos: int) -> list[TokenRequest]:
    """Non-overlapping windows over ``[bos] + tokens``; window k predicts tokens[k*window:(k+1)*window]."""
    seq = [bos, *tokens]
    return [TokenRequest([seq[start]], seq[start + 1:start + 1 + window])
            for start in range(0, len(tokens), window)]


def tokenize_documents(tokenizer: Any, docs: Sequence[PplDocument], window: int, bos: int) -> list[list[TokenRequest]]:
    return [window_requests(ids, window, bos) for ids in encode_all(tokenizer, [d.text for d in docs])]


def evaluate_perplexity(model: Any, tokenizer: Any, docs: Sequence[PplDocument], *, token_budget: int | None = None,
                        tokenized: list[list[TokenRequest]] | None = None,
                        progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    if tokenized is None:
        tokenized = tokenize_documents(tokenizer, docs, int(model.max_sequence_length), int(model.eos_token_id))
    flat = [r for reqs in tokenized for r in reqs]
    scores = score_requests(model, flat, token_budget=token_budget, progress=progress)
    per_doc, start = [], 0
    for doc, reqs in zip(docs, tokenized):
        end = start + len(reqs)
        per_doc.append({"source": doc.source, "subdomain": doc.subdomain, "id": doc.id,
                        "nll": float(-scores.logprob[start:end].sum()),
                        "num_tokens": int(scores.num_tokens[start:end].sum()),
                        "num_bytes": len(doc.text.encode("utf-8"))})
        start = end
    return aggregate(per_doc)


def aggregate(per_doc: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Subdomain totals -> token-weighted figures; macro averages per source and overall."""
    totals: dict[tuple[str, str], list[float]] = {}
    for d in per_doc:
        t = totals.setdefault((d["source"], d["subdomain"]), [0.0, 0, 0, 0])
        t[0] += d["nll"]
        t[1] += d["num_tokens"]
        t[2] += d["num_bytes"]
        t[3] += 1
    subdomains = {}
    for (src, sub), (nll, ntok, nbytes, ndocs) in sorted(totals.items()):
        subdomains[f"{src}/{sub}"] = {**perplexity_summary(nll, int(ntok), int(nbytes)), "num_documents": int(ndocs),
                                      "source": src}
    sources: dict[str, dict[str, float]] = {}
    for src in sorted({v["source"] for v in subdomains.values()}):
        members = [v for v in subdomains.values() if v["source"] == src]
        sources[src] = {"macro_ppl": float(np.mean([m["ppl"] for m in members])),
                        "macro_bits_per_byte": float(np.mean([m["bits_per_byte"] for m in members])),
                        "num_subdomains": len(members)}
    all_nll = sum(v["nll_sum"] for v in subdomains.values())
    all_tok = sum(v["num_tokens"] for v in subdomains.values())
    all_bytes = sum(v["num_bytes"] for v in subdomains.values())
    overall = {"macro_ppl": float(np.mean([v["ppl"] for v in subdomains.values()])),
               "macro_bits_per_byte": float(np.mean([v["bits_per_byte"] for v in subdomains.values()])),
               "micro_ppl": math.exp(all_nll / max(all_tok, 1)),
               "micro_bits_per_byte": all_nll / (max(all_bytes, 1) * math.log(2)),
               "num_tokens": int(all_tok), "num_bytes": int(all_bytes), "num_documents": len(per_doc)}
    return {"subdomains": subdomains, "sources": sources, "overall": overall, "documents": list(per_doc)}


def run_perplexity(model: Any, tokenizer: Any, root: str | Path, out_dir: str | Path, *,
                   max_docs_per_subdomain: int | None = None, token_budget: int | None = None,
                   show_progress: bool = True) -> dict[str, Any]:
    """Offline entry point: score ``root`` and write ``perplexity.json`` and ``documents.jsonl.gz``."""
    docs = load_documents(root, max_docs_per_subdomain=max_docs_per_subdomain)
    tokenized = tokenize_documents(tokenizer, docs, int(model.max_sequence_length), int(model.eos_token_id))
    total = sum(len(t) for t in tokenized)
    with progress_bar(show_progress, f"perplexity: {len(docs)} documents", total) as advance:
        result = evaluate_perplexity(model, tokenizer, docs, token_budget=token_budget, tokenized=tokenized,
                                     progress=advance)
    out = Path(out_dir)
    write_jsonl(out / "documents.jsonl.gz", result["documents"])
    write_json(out / "perplexity.json", {k: v for k, v in result.items() if k != "documents"}, ensure_ascii=True)
    return result


def perplexity_table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="perplexity (documents scored alone, non-overlapping windows)")
    for col in ("subdomain", "ppl", "bits/byte", "tokens", "bytes", "docs"):
        table.add_column(col, justify="left" if col == "subdomain" else "right")
    for name, m in result["subdomains"].items():
        table.add_row(name, f"{m['ppl']:.3f}", f"{m['bits_per_byte']:.4f}", str(m["num_tokens"]),
                      str(m["num_bytes"]), str(m["num_documents"]))
    o = result["overall"]
    table.add_row("macro (over subdomains)", f"{o['macro_ppl']:.3f}", f"{o['macro_bits_per_byte']:.4f}",
                  str(o["num_tokens"]), str(o["num_bytes"]), str(o["num_documents"]))
    return table
