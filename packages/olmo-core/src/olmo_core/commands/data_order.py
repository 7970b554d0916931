"""``olmo-core data-order``: which instances, documents and token ranges step N trained on."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # the run's own config (written to <run_dir>/config.json at the start of training)
  olmo-core data-order --config runs/tiny/config.json --step 12
  # machine-readable, and checked against the digest the trainer logged for that step
  olmo-core data-order --config runs/tiny --step 12 --json --check-metrics runs/tiny/metrics.jsonl
  # from a preset and overrides instead of a saved config
  olmo-core data-order --preset tiny data.paths=[out/tokens] --step 3
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a run's config.json/config.yaml, a run dir or a checkpoint dir")
    parser.add_argument("--preset", default="tiny", help="preset to compose when --config is not given")
    parser.add_argument("--step", type=int, required=True, help="optimizer step, 1-based (as in metrics)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--check-metrics", metavar="METRICS_JSONL",
                        help="compare with data/batch_digest logged for that step; exit 1 on mismatch")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. data.paths=[out/tokens]")


def run(args: argparse.Namespace) -> int:
    from olmo_core.config.load import load_data_config, run_preset
    from olmo_core.data.instances import InstanceSource
    from olmo_core.data.order import GlobalOrder
    from olmo_core.data.tokens import TokenDataset
    from olmo_core.data.trace import trace_step

    data = load_data_config(args.config, args.overrides) if args.config else run_preset(args.preset, args.overrides).data
    ds = TokenDataset(list(data.paths))
    source = InstanceSource(ds, data.seq_len)
    order = GlobalOrder(len(source), data.global_batch_size, data.seed, shuffle=data.shuffle)
    trace = trace_step(source, order, args.step)
    if args.json:
        print(json.dumps(trace.to_json()))
    else:
        _print_table(trace)
    if args.check_metrics:
        from olmo_core.train.callbacks.metrics_jsonl import read_metrics

        logged = {r.get("step"): r.get("data/batch_digest") for r in read_metrics(args.check_metrics)}
        if args.step not in logged:
            print(f"{args.check_metrics}: no metrics for step {args.step}")
            return 1
        ok = logged[args.step] == trace.digest
        print(f"digest check: logged {logged[args.step]} vs replayed {trace.digest}: {'OK' if ok else 'MISMATCH'}")
        return 0 if ok else 1
    return 0


def _print_table(trace) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"step {trace.step} (epoch {trace.epoch}), batch digest {trace.digest}")
    for col in ("pos", "instance", "tokens", "document", "source", "doc tokens used", "file"):
        table.add_column(col)
    for inst in trace.instances:
        for k, d in enumerate(inst.documents):
            table.add_row(str(inst.position) if k == 0 else "", str(inst.index) if k == 0 else "",
                          f"[{inst.start}, {inst.end})" if k == 0 else "", d.id, d.source,
                          f"[{d.start - d.doc_start}, {d.end - d.doc_start}) of {d.doc_end - d.doc_start}",
                          d.source_file)
    Console(width=160).print(table)
    n_docs = len({d.id for i in trace.instances for d in i.documents})
    print(f"{len(trace.instances)} instances, {n_docs} distinct documents")
