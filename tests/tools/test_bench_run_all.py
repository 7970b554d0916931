"""run_all: a benchmark's status from its exit and last line, and the table built from the harness's
JSON records (a work mismatch is listed as such, never with a ratio)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
import harness  # noqa: E402
import run_all  # noqa: E402


class Fixed(harness.Side):
    def __init__(self, label: str, seconds: float) -> None:
        self.label, self.seconds = label, seconds

    def round(self) -> harness.Round:
        return harness.Round(seconds=self.seconds, units=4.0, output=[1], peak_bytes=2**20)


FAKE = """
import sys
sys.path.insert(0, {bench!r})
import harness
class S(harness.Side):
    def __init__(self, s, out):
        self.label, self.s, self.out = "s", s, out
    def round(self):
        return harness.Round(seconds=self.s, units=1.0, output=self.out, peak_bytes=1)
def main():
    return [harness.compare("{name}", S(1.0, [1]), S(2.0, [{other}]), peer="p==1", unit="u/s", work="w",
                            check=harness.check_equal("x"), rounds=3, goal=1.5)]
harness.run(main)
"""


@pytest.mark.parametrize(("other", "status"), [(1, "ok"), (2, "work-mismatch")])
def test_status_from_a_real_benchmark_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: int,
                                               status: str) -> None:
    (tmp_path / "fake.py").write_text(textwrap.dedent(FAKE.format(bench=str(run_all.HERE), name="fake",
                                                                  other=other)))
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    results = tmp_path / "out" / "results.jsonl"
    results.parent.mkdir()
    results.touch()
    got, _, tail = run_all.run_one("fake", quick=False, results=results, timeout=60)
    assert got == status, tail
    records = [__import__("json").loads(x) for x in results.read_text().splitlines()]
    md = run_all.table(records, {"fake": (got, 1.0, tail)}, quick=False)
    if status == "ok":
        assert "**2.00**" in md and "≥ 1.5 ✓" in md and "p==1" in md
    else:
        assert "**work-mismatch**" in md and "**2.00**" not in md


def test_table_marks_second_figures_and_missed_goals() -> None:
    main = harness.compare("b", Fixed("o", 2.0), Fixed("t", 2.4), peer="p==1", unit="u/s", work="w",
                           check=harness.check_equal("x"), rounds=3, goal=1.5, limits="the head dominates")
    toy = harness.compare("b", Fixed("o", 1.0), Fixed("t", 3.0), peer="p==1", unit="u/s", work="w",
                          check=harness.check_equal("x"), rounds=3, variant="toy", primary=False)
    from dataclasses import asdict
    records = [{**asdict(r), "mem_ratio": r.mem_ratio} for r in (toy, main)]
    md = run_all.table(records, {"b": ("ok", 1.0, "")}, quick=True)
    lines = [x for x in md.splitlines() if x.startswith("| `b`")]
    assert lines[0].startswith("| `b` |") and "**1.20**" in lines[0] and "≥ 1.5 ✗" in lines[0]
    assert "the head dominates" in lines[0]
    assert lines[1].startswith("| `b` (toy) †") and "**3.00**" in lines[1]


def test_only_reruns_one_benchmark_and_keeps_the_other_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = str(run_all.HERE)
    for name in ("fake_a", "fake_b"):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(FAKE.format(bench=bench, name=name, other=1)))
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    monkeypatch.setattr(run_all, "BENCHMARKS", ["fake_a", "fake_b"])
    out = tmp_path / "docs" / "benchmarks.md"
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--out", str(out)])
    assert run_all.main() == 0
    first = [__import__("json").loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in first) == ["fake_a", "fake_b"]
    # fake_b now fails its work check: the rerun lists it so, and fake_a's row is kept from the first pass
    (tmp_path / "fake_b.py").write_text(textwrap.dedent(FAKE.format(bench=bench, name="fake_b", other=2)))
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--only", "fake_b", "--out", str(out)])
    assert run_all.main() == 1
    md = out.read_text()
    assert "| `fake_a` |" in md and "**2.00**" in md and "| `fake_b` | | | | **work-mismatch**" in md
    assert "`fake_a`: kept from the pass of" in md
    kept = [__import__("json").loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()]
    assert [r["name"] for r in kept] == ["fake_a"]


def test_readme_blocks_quote_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import asdict

    main = harness.compare("b", Fixed("o", 2.0), Fixed("t", 3.0), peer="p==1", unit="u/s", work="w",
                           check=harness.check_equal("x"), rounds=3, goal=1.2)
    records = [{**asdict(main), "mem_ratio": main.mem_ratio, "measured": "2026-01-01 00:00 UTC"}]
    (tmp_path / "packages" / "x").mkdir(parents=True)
    readme = tmp_path / "packages" / "x" / "README.md"
    readme.write_text("intro\n<!-- bench:b -->\nold figure 9.9x\n<!-- /bench -->\n"
                      "<!-- bench:other -->\nkept\n<!-- /bench -->\nend\n")
    (tmp_path / "README.md").write_text("no blocks\n")
    monkeypatch.setattr(run_all, "REPO", tmp_path)
    assert run_all.update_readmes(records, ["b"]) == [readme]
    text = readme.read_text()
    assert "9.9x" not in text and "**1.50x**" in text and "goal ≥ 1.2 met" in text and "2026-01-01" in text
    assert "<!-- bench:other -->\nkept\n<!-- /bench -->" in text and text.startswith("intro\n")
    assert run_all.update_readmes(records, ["other"]) == []  # no records for it: left as it was
