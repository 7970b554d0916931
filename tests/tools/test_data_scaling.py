"""tools/bench/data_scaling.py: the peak RSS per worker it reports is the largest single process of the
stage's tree (not their sum, not the wrapper), including a worker too short-lived for the poller; the
bound check and the 1x ratios follow from the records; the benchmarks.md section is replaced in place."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))

import data_scaling  # noqa: E402

MiB = 2**20
# Two workers at once, each filling ALLOC MiB (bytes of 1s, so every page is resident) for a while.
TWO_WORKERS = """
import subprocess, sys
code = "import time; b = b'\\\\x01' * ({n} * 2**20); time.sleep({hold})"
procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
sys.exit(max(p.wait() for p in procs))
"""


def test_peak_is_the_largest_worker_not_the_sum(tmp_path: Path) -> None:
    alloc = 120
    m = data_scaling.measure([sys.executable, "-c", TWO_WORKERS.format(n=alloc, hold=1.0)], log=tmp_path / "log")
    assert m.rc == 0, (tmp_path / "log").read_text()
    # one worker holds alloc MiB plus an interpreter (~10 MiB); the two together never count as one
    assert alloc * MiB <= m.peak_worker_bytes < (alloc + 40) * MiB
    assert m.peak_tree_bytes >= 2 * alloc * MiB  # both were alive together and the poller saw them
    assert m.processes_seen >= 3  # the stage's process and its two workers (the wrapper is not counted)
    assert m.seconds >= 1.0
    assert alloc * MiB <= m.peak_worker_anon_bytes <= m.peak_worker_bytes  # bytes objects are anonymous memory


def test_a_worker_shorter_than_a_poll_still_counts(tmp_path: Path) -> None:
    # the poller looks every 10 s, so only the wrapper's RUSAGE_CHILDREN can see the 150 MiB worker
    alloc = 150
    m = data_scaling.measure([sys.executable, "-c", TWO_WORKERS.format(n=alloc, hold=0)], log=tmp_path / "log",
                             interval=10.0)
    assert m.rc == 0
    assert alloc * MiB <= m.peak_worker_bytes < (alloc + 40) * MiB


def test_failing_command_reports_its_exit_status(tmp_path: Path) -> None:
    m = data_scaling.measure([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log=tmp_path / "log")
    assert m.rc == 3 and "boom" in (tmp_path / "log").read_text()


def _rec(stage: str, scale: float, peak: float, docs: int = 100) -> dict:
    return {"stage": stage, "scale": scale, "documents": docs, "docs_per_s": docs / 2, "peak_worker_mib": peak,
            "measured": "2026-12-05 12:00 UTC"}


def test_bound_check_and_ratios() -> None:
    recs = [_rec("tag", 0.25, 50.0), _rec("tag", 1.0, 60.0), _rec("tag", 4.0, 62.5),
            _rec("dedupe", 0.25, 40.0), _rec("dedupe", 1.0, 80.0)]
    checks = data_scaling.bound_check(recs)
    assert checks["tag"] == {"smallest": 0.25, "largest": 4.0, "ratio": 1.25, "within": True}
    assert checks["dedupe"]["ratio"] == 2.0 and not checks["dedupe"]["within"]
    ratios = {(r["stage"], r["scale"]): r["peak_ratio"] for r in data_scaling.with_ratios(recs)}
    assert ratios[("tag", 0.25)] == pytest.approx(50 / 60) and ratios[("tag", 4.0)] == pytest.approx(62.5 / 60)
    assert ratios[("dedupe", 1.0)] == 1.0


def test_section_replaced_and_records_merged(tmp_path: Path) -> None:
    md = tmp_path / "benchmarks.md"
    md.write_text("# Benchmarks\n\n| table |\n")
    first = [_rec("tag", 0.25, 50.0), _rec("tag", 1.0, 60.0)]
    data_scaling.write_section(md, data_scaling.markdown(first))
    later = data_scaling.merge(first, [_rec("tag", 1.0, 70.0), _rec("tag", 4.0, 71.0)])
    assert [(r["scale"], r["peak_worker_mib"]) for r in later] == [(0.25, 50.0), (1.0, 70.0), (4.0, 71.0)]
    data_scaling.write_section(md, data_scaling.markdown(later))
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\n| table |\n") and text.count("<!-- scaling -->") == 1
    assert "| tag | 50, 50 MiB (0.71) | 50, 70 MiB (1.00) | 50, 71 MiB (1.01) | 1.42 ✗ (4x / 0.25x) |" in text


def test_run_all_keeps_the_scaling_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # run_all rewrites benchmarks.md from its own records; the section data_scaling wrote must survive
    import run_all

    (tmp_path / "fake.py").write_text("import sys\nsys.exit(1)\n")  # a benchmark that fails: a table row anyway
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    monkeypatch.setattr(run_all, "BENCHMARKS", ["fake"])
    out = tmp_path / "docs" / "benchmarks.md"
    out.parent.mkdir()
    out.write_text("# Benchmarks\n\nold table\n")
    section = data_scaling.markdown([_rec("tag", 1.0, 60.0)])
    data_scaling.write_section(out, section)
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--out", str(out)])
    assert run_all.main() == 1
    text = out.read_text()
    assert "old table" not in text and "| `fake` |" in text and text.count(section) == 1


def test_peer_records_kept_apart_and_set_beside_ours(tmp_path: Path) -> None:
    ours = [_rec("tag", 1.0, 60.0), _rec("mix", 1.0, 40.0), _rec("dedupe", 1.0, 50.0)]
    ours[0]["load_1m"], ours[1]["load_1m"] = 1.5, 2.0
    dolma = {**_rec("dedupe", 1.0, 100.0), "side": "dolma==1.2.1", "docs_per_s": 25.0}
    trove = {**_rec("filter", 1.0, 240.0), "side": "datatrove==0.10.1", "ours": ["tag", "mix"], "docs_per_s": 5.0,
             "load_1m": 2.25}
    recs = data_scaling.merge(ours, [dolma, trove])
    assert len(recs) == 5  # a peer's dedupe at 1x does not replace ours
    recs = data_scaling.merge(recs, [{**dolma, "peak_worker_mib": 90.0}])
    assert [r["peak_worker_mib"] for r in recs if r["stage"] == "dedupe"] == [50.0, 90.0]
    assert data_scaling.bound_check(recs)["dedupe"]["ratio"] == 1.0  # the bound is about ours only
    # ours for the filter: tag then mix, 2 s each (100 documents at 50 docs/s): 25 docs/s, the larger peak
    assert data_scaling.counterpart(data_scaling.ours(recs), trove) == {"seconds": 4.0, "docs_per_s": 25.0,
                                                                       "peak_worker_mib": 60.0, "filter_mib": 0.0,
                                                                       "load_1m": 2.0}
    text = data_scaling.markdown(recs)
    assert "| dedupe | dolma==1.2.1 | 1x | 50, 50 MiB | 25, 90 MiB | 2.00 | 0.56 | ? / ? |" in text  # no load recorded
    assert "| filter | datatrove==0.10.1 | 1x | 25, 60 MiB | 5, 240 MiB | 5.00 | 0.25 | 2.0 / 2.2 |" in text
    data_scaling.plot(recs, tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
