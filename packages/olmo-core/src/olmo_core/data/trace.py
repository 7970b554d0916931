"""What step N trained on: instances, documents (ids, sources, files) and token ranges, traced
through the tokenized dataset's sidecars, plus the batch digest the trainer logged for that step."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from olmo_core.data.digest import batch_digest, instance_digest
from olmo_core.data.instances import InstanceSource
from olmo_core.data.order import GlobalOrder


@dataclass
class TracedDocument:
    id: str
    source: str
    source_file: str
    shard: str
    doc_start: int  # the document's global token range
    doc_end: int
    start: int  # the part of it inside the instance (global token offsets, inputs only)
    end: int


@dataclass
class TracedInstance:
    position: int  # in the global batch
    index: int
    start: int
    end: int  # exclusive, inputs only
    documents: list[TracedDocument] = field(default_factory=list)


@dataclass
class StepTrace:
    step: int  # 1-based, as the trainer numbers steps
    epoch: int
    digest: str
    instances: list[TracedInstance]

    def to_json(self) -> dict:
        return asdict(self)


def trace_step(source: InstanceSource, order: GlobalOrder, step: int) -> StepTrace:
    """Step ``step`` (1-based: the trainer's first optimizer step is 1) of a run with this order."""
    if step < 1:
        raise ValueError(f"--step must be >= 1 (the first optimizer step is 1), got {step}")
    batch = order.global_batch(step - 1)
    instances, digests = [], []
    for pos, idx in enumerate(batch.tolist()):
        span = source.span(idx)
        end = span.end - 1
        docs = [TracedDocument(d.id, d.source, d.source_file, d.shard, d.start, d.end, max(d.start, span.start),
                               min(d.end, end)) for d in source.dataset.documents_in(span.start, end)]
        instances.append(TracedInstance(pos, idx, span.start, end, docs))
        digests.append((pos, instance_digest(source.tokens(idx)[:-1])))
    return StepTrace(step, order.epoch_of(step - 1), batch_digest(digests), instances)
