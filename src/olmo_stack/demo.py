"""The README's main job. Until the end-to-end pipeline lands (its own issue), this runs the stages
that exist: tokenize the built-in corpus sample with dolma-tools and read it back with olmo-core."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run_demo(out: str | Path) -> int:
    from dolma_tools.tokens import tokenize_files
    from olmo_core.data.tokens import TokenDataset

    console = Console()
    out = Path(out)
    corpus = Path(str(resources.files("olmo_stack.data").joinpath("corpus")))
    console.print(f"[bold]tokenizing[/] {corpus} -> {out / 'tokens'}")
    summary = tokenize_files(corpus, out / "tokens")
    dataset = TokenDataset(out / "tokens")
    table = Table(title="tokenized built-in corpus")
    for col in ("source", "documents", "tokens"):
        table.add_column(col)
    for source, stats in sorted(summary["per_source"].items()):  # type: ignore[union-attr]
        table.add_row(source, str(stats["documents"]), str(stats["tokens"]))
    console.print(table)
    mid = dataset.num_tokens // 2
    ref = dataset.document_at(mid)
    console.print(f"olmo-core reads {dataset.num_tokens} tokens in {len(dataset.shards)} shard(s); "
                  f"token {mid} belongs to document {ref.id!r} ({ref.source})")
    return 0
