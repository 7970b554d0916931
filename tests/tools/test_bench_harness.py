"""The benchmark harness: ratios as the median of per-round ratios, the work gate, peer pins, and
the worker protocol (a real subprocess), with no timing asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
import harness  # noqa: E402


class Fixed(harness.Side):
    """A side whose rounds take the given (fake) seconds and produce the given outputs."""

    def __init__(self, label: str, seconds: list[float], outputs: list | None = None, peak: int = 0) -> None:
        self.label, self.seconds, self.outputs, self.peak, self.i = label, seconds, outputs, peak, 0

    def round(self) -> harness.Round:
        s = self.seconds[self.i]
        out = self.outputs[self.i] if self.outputs else [1, 2, 3]
        self.i += 1
        return harness.Round(seconds=s, units=10.0, output=out, peak_bytes=self.peak)


def test_ratio_is_median_of_per_round_ratios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(harness.RESULTS_ENV, str(tmp_path / "r.jsonl"))
    # warm-up, then three rounds: per-round ratios theirs/ours seconds = 2, 4, 1 -> median 2
    ours = Fixed("ours", [9.0, 1.0, 1.0, 2.0], peak=100 * 2**20)
    theirs = Fixed("theirs", [9.0, 2.0, 4.0, 2.0], peak=400 * 2**20)
    r = harness.compare("toy", ours, theirs, peer="peer==1.0", unit="items/s", work="w",
                        check=harness.check_equal("items"), rounds=3)
    assert r.ratio == {"min": 1.0, "median": 2.0, "max": 4.0}
    assert r.ours["median"] == 10.0 and r.theirs["median"] == 5.0
    assert r.mem_ratio == 0.25
    line = r.result_line()
    assert line.startswith("RESULT toy ratio=2.000 peer=peer==1.0 runs=3 ours=10 theirs=5 unit=items/s")
    assert line.endswith("mem_ratio=0.250 work=identical")
    rec = json.loads((tmp_path / "r.jsonl").read_text())
    assert rec["ratio"]["median"] == 2.0 and rec["mem_ratio"] == 0.25


def test_work_mismatch_refuses_a_ratio() -> None:
    ours = Fixed("ours", [1.0] * 4, outputs=[[1], [1], [2], [1]])
    theirs = Fixed("theirs", [1.0] * 4, outputs=[[1]] * 4)
    with pytest.raises(harness.WorkMismatch, match="round 2"):
        harness.compare("toy", ours, theirs, peer="p==1", unit="u", work="w",
                        check=harness.check_equal("tokens"), rounds=3)


def test_fewer_than_three_rounds_is_refused() -> None:
    with pytest.raises(ValueError):
        harness.compare("toy", Fixed("a", [1] * 3), Fixed("b", [1] * 3), peer="p==1", unit="u", work="w",
                        check=harness.check_equal("x"), rounds=2)


def test_check_close() -> None:
    ok, note = harness.check_close("losses", atol=1e-3)([1.0, 2.0], [1.0005, 2.0])
    assert ok and "5.00e-04" in note
    ok, note = harness.check_close("losses", atol=1e-4)([1.0, 2.0], [1.0005, 2.0])
    assert not ok and "1 of 2" in note
    assert not harness.check_close("losses", atol=1)([1.0], [1.0, 2.0])[0]


@pytest.mark.parametrize("bad", ["dolma", "dolma>=1.2", "dolma==1.*", "torch==2.1,<3"])
def test_peer_must_be_pinned(bad: str) -> None:
    with pytest.raises(ValueError, match="pin"):
        harness.PeerEnv((bad,))


def test_peer_label_and_cache_path_follow_the_pins() -> None:
    a = harness.PeerEnv(("lm-eval[hf]==0.4.13", "torch==2.15.0"))
    b = harness.PeerEnv(("lm-eval[hf]==0.4.13", "torch==2.14.1"))
    assert a.label == "lm-eval==0.4.13"
    assert a.path != b.path and a.path.parent == harness.PEER_ROOT


def test_worker_protocol_and_memory(tmp_path: Path) -> None:
    side = tmp_path / "side.py"
    side.write_text(textwrap.dedent("""
        def setup(config):
            print("library chatter on stdout must not break the protocol")
            state = {"n": 0}
            def round_fn():
                state["n"] += 1
                block = bytearray(config["mib"] * 2**20)  # touched memory: counted in RSS
                block[::4096] = b"x" * len(block[::4096])
                return {"units": 5, "output": [state["n"], len(block)]}
            return round_fn
    """))
    w = harness.Worker("toy", side, {"mib": 64})
    w.start()
    try:
        r1, r2 = w.round(), w.round()
    finally:
        w.close()
    assert r1.output == [1, 64 * 2**20] and r2.output[0] == 2
    assert r1.units == 5.0 and r1.seconds > 0
    assert r1.peak_bytes > 64 * 2**20  # the 64 MiB block, plus the interpreter


def test_worker_error_names_the_script(tmp_path: Path) -> None:
    side = tmp_path / "broken.py"
    side.write_text("def setup(config):\n    raise KeyError('model_dir')\n")
    w = harness.Worker("toy", side, {})
    with pytest.raises(RuntimeError, match="broken.py: KeyError"):
        w.start()
    w.close()


def test_run_exits_2_without_result_line(tmp_path: Path) -> None:
    script = tmp_path / "bench.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(harness.__file__).parent)!r})
        import harness
        def main():
            raise harness.WorkMismatch("tokens differ")
        harness.run(main)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "WORK CHECK FAILED" in proc.stdout and "RESULT" not in proc.stdout


def test_worker_memory_is_its_own_not_the_parents(tmp_path: Path) -> None:
    side = tmp_path / "small.py"
    side.write_text("def setup(config):\n    return lambda: {'units': 1, 'output': None}\n")
    ballast = bytearray(400 * 2**20)  # the parent's memory must not count as the worker's
    ballast[::4096] = b"x" * len(ballast[::4096])
    w = harness.Worker("toy", side, {})
    w.start()
    try:
        r = w.round()
    finally:
        w.close()
    assert r.peak_bytes < 200 * 2**20, r.peak_bytes
    del ballast
