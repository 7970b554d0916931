"""``trace-text``: the maximal spans of a text (at least ``min_len`` tokens) that occur verbatim in a
run's pretraining tokens, each with its count, the documents holding it (id, source, raw document file
and line, token shard and offset) and the training steps that saw each occurrence. With a prompt, the
run's final checkpoint first generates the text (greedy) and its output is traced.

Spans are found in token ids, with the tokenizer the run's shards were made with (checked by hash);
they never cross an EOS (a document boundary)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from olmo_stack.tracing.run_index import index_dir, index_is_current, pretrain_dir
from olmo_stack.tracing.steps import StepMap


@dataclass
class TracedSpan:
    start: int  # token offsets into the traced text, end exclusive
    end: int
    text: str
    count: int  # occurrences in the training tokens
    occurrences: list[dict[str, Any]]  # at most ``max_occurrences``: Occurrence fields + "steps"


@dataclass
class TextTrace:
    text: str
    ids: list[int]
    min_len: int
    spans: list[TracedSpan]
    prompt: str | None = None
    steps_trained: int = 0
    index: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_tokenizer(recorded: dict[str, str] | None) -> Any:
    """The tokenizer the run's shards were made with: the shipped OLMo file whose hash the index
    recorded (olmo-core's or dolma-tools' copy)."""
    from dolma_tools.hashing import sha256_hex
    from dolma_tools.tokens.tokenizer import DEFAULT_TOKENIZER
    from olmo_core.tokenizer import default_tokenizer_path, load_olmo_tokenizer

    candidates = [default_tokenizer_path(), Path(DEFAULT_TOKENIZER)]
    if not recorded:
        return load_olmo_tokenizer(candidates[0])
    for path in candidates:
        if path.is_file() and sha256_hex(path.read_bytes()) == recorded.get("sha256"):
            return load_olmo_tokenizer(path)
    raise ValueError(f"the run's tokens were made with tokenizer {recorded.get('name')!r} (sha256 "
                     f"{recorded.get('sha256')}), which is not the shipped OLMo tokenizer")


def generate(run: str | Path, prompt: str, max_new_tokens: int = 48) -> list[int]:
    """Greedy continuation of ``prompt`` by the run's latest pretraining checkpoint (ids, EOS cut)."""
    from olmo_core.checkpoint.manager import latest_checkpoint
    from olmo_eval.models import load_model

    ckpt = latest_checkpoint(pretrain_dir(run))
    if ckpt is None:
        raise FileNotFoundError(f"{pretrain_dir(run)}: no checkpoint to generate with")
    model, tok = load_model(ckpt)
    return model.generate([tok.encode(prompt)], max_new_tokens)[0]


def trace_ids(run: str | Path, ids: list[int], *, min_len: int = 8, max_occurrences: int = 10,
              tokenizer: Any = None, prompt: str | None = None) -> TextTrace:
    from dolma_tools.index import TokenIndex
    from olmo_core.tokenizer import decode

    with TokenIndex(index_dir(run)) as index:
        tok = tokenizer or run_tokenizer(index.meta.get("tokenizer"))
        steps = StepMap.for_run(run, index.num_tokens)
        stops = [index.eos_id] if index.eos_id is not None else []
        spans = []
        for s in index.maximal_spans(ids, min_len, stops):
            occ = []
            for o in index.locate(ids[s.start:s.end], max_occurrences):
                occ.append({**o.to_json(), "steps": steps.steps_of(o.position, o.position + s.length)})
            spans.append(TracedSpan(s.start, s.end, decode(tok, ids[s.start:s.end], skip_special_tokens=False),
                                    s.count, occ))
        meta = {k: index.meta[k] for k in ("num_tokens", "num_documents")}
    return TextTrace(decode(tok, ids, skip_special_tokens=False), list(ids), min_len, spans, prompt, steps.steps,
                     meta)


def trace_text(run: str | Path, text: str | None = None, *, prompt: str | None = None, min_len: int = 8,
               max_occurrences: int = 10, max_new_tokens: int = 48) -> TextTrace:
    """Trace ``text``, or (with ``prompt``) what the run's model generates after it."""
    import json

    from olmo_core.tokenizer import encode

    if (text is None) == (prompt is None):
        raise ValueError("give a text or --prompt, not both")
    meta_path = index_dir(run) / "index.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{index_dir(run)}: no index; run `olmo-stack index {run}` first")
    if not index_is_current(run):  # positions would point into other tokens than training read
        raise ValueError(f"{index_dir(run)}: the run's token shards changed since it was built; "
                         f"run `olmo-stack index {run}` again")
    tok = run_tokenizer(json.loads(meta_path.read_text()).get("tokenizer"))
    ids = generate(run, prompt, max_new_tokens) if prompt is not None else encode(tok, text or "")
    return trace_ids(run, ids, min_len=min_len, max_occurrences=max_occurrences, tokenizer=tok, prompt=prompt)


def format_trace(trace: TextTrace) -> str:
    lines = []
    if trace.prompt is not None:
        lines.append(f"prompt: {trace.prompt!r}")
    lines.append(f"text ({len(trace.ids)} tokens): {trace.text!r}")
    lines.append(f"{len(trace.spans)} maximal span(s) of >= {trace.min_len} tokens found verbatim in "
                 f"{trace.index.get('num_tokens', 0):,} training tokens ({trace.steps_trained} steps trained)")
    for s in trace.spans:
        lines.append(f"\n  tokens [{s.start}, {s.end}) x{s.count}: {s.text!r}")
        for o in s.occurrences:
            steps = o["steps"]
            seen = ", ".join(map(str, steps[:8])) + (f", ... ({len(steps)} steps)" if len(steps) > 8 else "")
            lines.append(f"    {o['doc_id']} ({o['source']}) {o['raw_file']}:{o['line']}  "
                         f"{o['shard']}+{o['shard_offset']}  steps: {seen or 'none (not reached)'}")
        if s.count > len(s.occurrences):
            lines.append(f"    ... and {s.count - len(s.occurrences)} more")
    return "\n".join(lines)
