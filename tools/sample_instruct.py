"""Rebuild olmo-stack's built-in instruct sets from ../shared/data/instruct: N SFT examples and M
preference pairs on disjoint questions (seed 0), so DPO's held-out pairs are unseen by SFT.

    uv run python tools/sample_instruct.py --sft 4000 --dpo 10000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
from pathlib import Path

import zstandard

REPO = Path(__file__).resolve().parents[1]


def read(path: Path) -> list[dict]:
    with open(path, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for line in text]


def write(path: Path, rows: list[dict]) -> None:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(zstandard.ZstdCompressor(level=19).compress(data))
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sft", type=int, default=4000, help="chat examples (default 4000)")
    parser.add_argument("--dpo", type=int, default=10000, help="preference pairs (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "instruct")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "olmo_stack" / "data" / "instruct")
    args = parser.parse_args()
    sft, dpo = read(args.shared / "sft.jsonl.zst"), read(args.shared / "dpo.jsonl.zst")
    ids = sorted({r["id"] for r in dpo} & {r["id"] for r in sft})
    if args.sft + args.dpo > len(ids):
        parser.error(f"--sft {args.sft} + --dpo {args.dpo} exceeds the {len(ids)} questions both files ask")
    random.Random(args.seed).shuffle(ids)
    dpo_ids, sft_ids = set(ids[:args.dpo]), set(ids[args.dpo:args.dpo + args.sft])
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows, keep in (("sft", sft, sft_ids), ("dpo", dpo, dpo_ids)):
        picked = [r for r in rows if r["id"] in keep]
        write(args.out / f"{name}.jsonl.zst", picked)
        print(f"{name}: {len(picked)} records -> {args.out / f'{name}.jsonl.zst'}")


if __name__ == "__main__":
    main()
