"""Stage skipping, redoing and lineage of the olmo-stack pipeline machinery."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_stack.stages import Pipeline, Stage, StageContext, lineage


def _pipeline(run_dir: Path, raw: Path, calls: list[str], scale: int = 2, fail_in: str | None = None) -> Pipeline:
    def count(ctx: StageContext) -> dict:
        calls.append(ctx.name)
        n = len(raw.read_text().split())
        (ctx.dir / "count.txt").write_text(str(n))
        return {"outputs": {"count": ctx.dir / "count.txt"}, "metrics": {"words": n}}

    def scaled(ctx: StageContext) -> dict:
        calls.append(ctx.name)
        if fail_in == ctx.name:
            raise KeyboardInterrupt("killed")
        n = int(ctx.output_of("count", "count").read_text()) * ctx.config["scale"]
        (ctx.dir / "scaled.txt").write_text(str(n))
        return {"outputs": {"scaled": ctx.dir / "scaled.txt"}}

    return Pipeline(run_dir, [Stage("count", count, raw_inputs=(raw,)),
                              Stage("scale", scaled, config={"scale": scale}, after=("count",))],
                    log=lambda _: None)


def test_skip_redo_and_resume_after_kill(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("a b c")
    calls: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _pipeline(tmp_path / "run", raw, calls, fail_in="scale").run()
    assert calls == ["count", "scale"]
    calls.clear()
    _pipeline(tmp_path / "run", raw, calls).run()
    assert calls == ["scale"], "a killed stage reruns; finished ones are skipped"
    assert (tmp_path / "run/scale/scaled.txt").read_text() == "6"
    calls.clear()
    _pipeline(tmp_path / "run", raw, calls, scale=3).run()
    assert calls == ["scale"], "a config change redoes only that stage"
    calls.clear()
    raw.write_text("a b c d")
    _pipeline(tmp_path / "run", raw, calls, scale=3).run()
    assert calls == ["count", "scale"], "a changed raw input redoes everything downstream"
    assert (tmp_path / "run/scale/scaled.txt").read_text() == "12"


def test_lineage_reaches_raw_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("x y")
    _pipeline(tmp_path / "run", raw, []).run()
    chain = lineage(tmp_path / "run/scale/scaled.txt")
    assert [c["stage"] for c in chain] == ["scale", "count"]
    assert str(raw) in chain[-1]["inputs"]["raw_files"]


def test_until_stops_after_the_named_stage(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("a b")
    calls: list[str] = []
    manifests = _pipeline(tmp_path / "run", raw, calls).run(until="count")
    assert calls == ["count"] and list(manifests) == ["count"]
    with pytest.raises(ValueError, match="no such stage"):
        _pipeline(tmp_path / "run", raw, calls).run(until="nope")
