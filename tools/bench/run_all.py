"""Run every benchmark under ``tools/bench/`` through the harness and write ``docs/benchmarks.md``
(one table: benchmark, work, ours, peer and version, ratio min/median/max, memory ratio, work check,
goal, what limits it) and ``docs/benchmarks.png`` (the ratios against their goals).

    uv run python tools/bench/run_all.py --quick          # every benchmark's --quick pass (~20 min, 2 cores)
    uv run python tools/bench/run_all.py                  # the full runs
    uv run python tools/bench/run_all.py --quick --only vs_olmo_core   # rerun one, keep the other rows

Each benchmark runs as its own process (``python tools/bench/NAME.py [--quick]``), one at a time, with
``OLMO_BENCH_RESULTS`` pointing at a JSON-lines file the harness appends every comparison to. A
benchmark that fails, or whose work check fails (exit 2, no ratio), is listed as such in the table and
makes this command exit non-zero; the table is still written. Both files are written under a temporary
name and renamed when complete. The records behind the table are kept beside it
(``docs/benchmarks.jsonl``): with ``--only``, the rows of the benchmarks not rerun come from there
(each keeps the date of the pass that measured it), so one benchmark can be refreshed alone. The figures in the READMEs live between
``<!-- bench:NAME -->`` and ``<!-- /bench -->`` and are rewritten from the records of every benchmark
that passed, so a README never quotes a figure the table does not hold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOADS: list[float] = []  # the 1-minute load average before each benchmark, for the table's header
BENCHMARKS = ["train_step", "vs_olmo_core", "dpo_step", "grpo_step", "eval_throughput", "generation", "moe_layer", "dolma_tag",
              "dolma_tokens", "dolma_dedupe", "vs_datatrove", "vs_infini_gram"]


def log(msg: str) -> None:
    print(msg, flush=True)


def run_one(name: str, quick: bool, results: Path, timeout: float) -> tuple[str, float, str]:
    """(status, seconds, tail of output); status is ok, work-mismatch, failed or timeout."""
    cmd = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else [])]
    env = {**os.environ, "OLMO_BENCH_RESULTS": str(results), "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    t0 = time.perf_counter()
    log_path = results.with_name(f"{name}.log")
    with open(log_path, "w") as out:
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
    seconds = time.perf_counter() - t0
    lines = log_path.read_text(errors="replace").splitlines()
    tail = "\n".join(lines[-15:])
    if rc is None:
        return "timeout", seconds, tail
    if rc == 2 and any(x.startswith("WORK CHECK FAILED") for x in lines):
        return "work-mismatch", seconds, tail
    if rc != 0 or not lines or not lines[-1].startswith(f"RESULT {name} "):
        return "failed", seconds, tail
    return "ok", seconds, tail


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.3g}"


def fmt_mib(x: float) -> str:
    return f"{x:,.0f} MiB"


def table(records: list[dict], statuses: dict[str, tuple[str, float, str]], quick: bool) -> str:
    rows = [
        "| benchmark | work | ours | peer (version, setting) | ratio min / **median** / max | memory ours / peer "
        "(ratio) | work check | goal | limits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in statuses:
        recs = [r for r in records if r["name"] == name]
        status = statuses[name][0]
        if not recs or status != "ok":
            rows.append(f"| `{name}` | | | | **{status}** (see its log) | | | | |")
        for r in sorted(recs, key=lambda r: not r["primary"]):
            label = f"`{name}`" + (f" ({r['variant']})" if r["variant"] else "") + ("" if r["primary"] else " †")
            q = r["ratio"]
            goal = r.get("goal")
            met = "" if goal is None else (" ✓" if q["median"] >= goal else " ✗")
            setting = f", {r['peer_setting']}" if r["peer_setting"] else ""
            goal_s = "" if goal is None or not r["primary"] else f"≥ {goal:g}{met}"
            rows.append(
                f"| {label} | {r['work']} | {fmt_rate(r['ours']['median'])} {r['unit']} | "
                f"{r['peer']}{setting}: "
                f"{fmt_rate(r['theirs']['median'])} {r['unit']} | {q['min']:.2f} / **{q['median']:.2f}** / "
                f"{q['max']:.2f} | {fmt_mib(r['ours_peak_mib'])} / {fmt_mib(r['theirs_peak_mib'])} "
                f"({r['mem_ratio']:.2f}, {r['memory_kind']}) | {r['check']} | {goal_s} | {r.get('limits', '')} |")
    head = [
        "# Benchmarks",
        "",
        f"Written by `uv run python tools/bench/run_all.py{' --quick' if quick else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {os.cpu_count()} CPU cores, "
        f"{platform.machine()}, Python {platform.python_version()}, no GPU unless a row says cuda. "
        "Every row comes from `tools/bench/harness.py`: a warm-up round per side, then alternating timed rounds "
        "(ours, theirs, ...), the ratio as the median of per-round ratios (above 1: we are faster), peak "
        "memory of each side's own process tree (RSS) or CUDA max allocated, and a work check that must "
        "pass before any ratio is printed. Every peer runs from its own cached environment, pinned with `==`. "
        "Rows marked † are second figures (toy sizes, peer defaults); the unmarked row of each benchmark is its "
        "headline (`RESULT`) figure. The machine is shared and noisy: the spread (min / max) is part of the "
        f"figure; the 1-minute load average was {', '.join(f'{x:.1f}' for x in LOADS) or 'not sampled'} "
        f"(before each benchmark of this pass) on {os.cpu_count()} cores.",
        "",
    ]
    tail = ["", "Run times of this pass:", ""]
    measured = {r["name"]: r.get("measured") for r in records}
    tail += [f"- `{n}`: {s} in {t:.0f} s" if t else f"- `{n}`: kept from the pass of {measured.get(n) or 'an earlier run'}"
             for n, (s, t, _) in statuses.items()]
    return "\n".join(head + rows + tail) + "\n"


def chart(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = sorted(records, key=lambda r: (r["name"], not r["primary"], r["variant"]))
    labels = [r["name"] + (f"\n{r['variant']}" if r["variant"] else "") for r in recs]
    med = [r["ratio"]["median"] for r in recs]
    lo = [r["ratio"]["median"] - r["ratio"]["min"] for r in recs]
    hi = [r["ratio"]["max"] - r["ratio"]["median"] for r in recs]
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(recs)), 4.8))
    colors = ["tab:blue" if r["primary"] else "tab:gray" for r in recs]
    ax.bar(range(len(recs)), med, yerr=[lo, hi], color=colors, capsize=3)
    for i, r in enumerate(recs):
        if r.get("goal") and r["primary"]:
            ax.plot([i - 0.4, i + 0.4], [r["goal"]] * 2, color="tab:red", lw=2)
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xticks(range(len(recs)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("ours / peer (median of rounds; bars: min-max)")
    ax.set_yscale("log")
    ax.set_title("Benchmarks: headline (blue), second figures (grey), goals (red)")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


BLOCK = re.compile(r"(<!-- bench:(\w+) -->\n)(.*?)(<!-- /bench -->)", re.DOTALL)
SCALING_SECTION = re.compile(r"<!-- scaling -->\n.*?<!-- /scaling -->\n?", re.DOTALL)


def figures_line(recs: list[dict]) -> str:
    """The README's words for one benchmark's records: the headline figure, then the second figures."""
    out = []
    for r in sorted(recs, key=lambda r: not r["primary"]):
        q, goal = r["ratio"], r.get("goal")
        label = "headline" if r["primary"] else (r["variant"] or "second figure")
        met = "" if goal is None or not r["primary"] else f"; goal ≥ {goal:g} {'met' if q['median'] >= goal else 'not met'}"
        out.append(f"- {label}: **{q['median']:.2f}x** (rounds {q['min']:.2f}-{q['max']:.2f}) against {r['peer']}: "
                   f"ours {fmt_rate(r['ours']['median'])} {r['unit']}, theirs {fmt_rate(r['theirs']['median'])} "
                   f"{r['unit']}; memory ours/peer {r['mem_ratio']:.2f}{met}")
    stamp = recs[0].get("measured", "")
    return (f"Figures from [`docs/benchmarks.md`](/docs/benchmarks.md) (`run_all.py`, {stamp}; above 1: we are "
            "faster):\n\n" + "\n".join(out) + "\n")


def update_readmes(records: list[dict], names: list[str]) -> list[Path]:
    """Rewrite every ``<!-- bench:NAME -->`` ... ``<!-- /bench -->`` block of the READMEs whose benchmark
    ran in this pass, so READMEs quote figures only from the table."""
    changed = []
    for readme in [REPO / "README.md", *sorted(REPO.glob("packages/*/README.md"))]:
        text = readme.read_text()

        def fill(m: re.Match) -> str:
            recs = [r for r in records if r["name"] == m.group(2)]
            if m.group(2) not in names or not recs:
                return m.group(0)
            return m.group(1) + figures_line(recs) + m.group(4)

        new = BLOCK.sub(fill, text)
        if new != text:
            tmp = readme.with_name(readme.name + ".tmp")
            tmp.write_text(new)
            os.replace(tmp, readme)
            changed.append(readme)
    return changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="each benchmark's --quick pass")
    ap.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"), help="the table (a PNG goes beside it)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 600 quick, 1800)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    timeout = args.timeout or (600 if args.quick else 1800)
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="bench-run-all-"))
    results = work / "results.jsonl"
    results.touch()
    statuses: dict[str, tuple[str, float, str]] = {}
    t_all = time.perf_counter()
    for i, name in enumerate(names, 1):
        LOADS.append(os.getloadavg()[0])
        log(f"[{i}/{len(names)}] {name}{' --quick' if args.quick else ''} (log: {work / (name + '.log')}) ...")
        statuses[name] = run_one(name, args.quick, results, timeout)
        status, seconds, tail = statuses[name]
        last = tail.splitlines()[-1] if tail else ""
        log(f"    {status} in {seconds:.0f}s: {last}")
        if status != "ok":
            log("    " + tail.replace("\n", "\n    "))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    records = [{**json.loads(x), "measured": stamp} for x in results.read_text().splitlines() if x.strip()]
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = out.with_suffix(".jsonl")
    if args.only and kept.is_file():
        earlier = [json.loads(x) for x in kept.read_text().splitlines() if x.strip()]
        earlier = [r for r in earlier if r["name"] not in names and r["name"] in BENCHMARKS]
        for name in dict.fromkeys(r["name"] for r in earlier):
            statuses.setdefault(name, ("ok", 0.0, ""))
        statuses = {n: statuses[n] for n in BENCHMARKS if n in statuses}
        records = earlier + records
    tmp = out.with_name(out.name + ".tmp")
    # the scaling section is written by data_scaling.py, not from these records: carried over as it is
    kept_sections = SCALING_SECTION.findall(out.read_text()) if out.is_file() else []
    tmp.write_text(table(records, statuses, args.quick) + "".join("\n" + s for s in kept_sections))
    os.replace(tmp, out)
    tmp = kept.with_name(kept.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    os.replace(tmp, kept)
    if records:
        chart(records, out.with_suffix(".png"))
    if out.resolve() == (REPO / "docs" / "benchmarks.md").resolve():  # the table the READMEs quote
        for readme in update_readmes(records, [n for n in names if statuses[n][0] == "ok"]):
            log(f"updated the figures in {readme.relative_to(REPO)}")
    bad = [n for n, (s, _, _) in statuses.items() if s != "ok"]
    log(f"wrote {out} and {out.with_suffix('.png')} in {time.perf_counter() - t_all:.0f}s; "
        f"{len(names) - len(bad)} of {len(names)} benchmarks ok{': failed ' + ', '.join(bad) if bad else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
