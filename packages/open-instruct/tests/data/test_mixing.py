"""Mix syntax: counts and fractions cannot be confused; selections are seeded; stats add up."""

from __future__ import annotations

import pytest

from open_instruct.data.mixing import MixSource, mix, mixed_ids


def test_syntax_is_unambiguous() -> None:
    assert MixSource.parse("a.jsonl") == MixSource("a.jsonl")
    assert MixSource.parse("a.jsonl:100") == MixSource("a.jsonl", count=100)
    assert MixSource.parse("a.jsonl:1") == MixSource("a.jsonl", count=1)
    assert MixSource.parse("a.jsonl:100%") == MixSource("a.jsonl", fraction=1.0)
    assert MixSource.parse("a.jsonl:12.5%") == MixSource("a.jsonl", fraction=0.125)
    assert MixSource.parse("s3:/x/a.jsonl") == MixSource("s3:/x/a.jsonl")
    with pytest.raises(ValueError, match="ambiguous.*'a.jsonl:50%'"):
        MixSource.parse("a.jsonl:0.5")
    with pytest.raises(ValueError, match="not both"):
        MixSource("a", count=1, fraction=0.5)


def test_counts_fractions_and_seed(sft_file, dpo_file, tmp_path) -> None:
    recs, stats = mix([f"{sft_file}:30", f"{sft_file}:25%"], "sft", seed=3, cache_dir=tmp_path)
    assert len(recs) == 30 + 30
    assert [s.selected for s in stats.sources] == [30, 30] and stats.sources[0].available == 120
    assert sum(sum(s.sources.values()) for s in stats.sources) == 60
    again, _ = mix([f"{sft_file}:30", f"{sft_file}:25%"], "sft", seed=3, cache_dir=tmp_path)
    assert [r.id for r in again] == [r.id for r in recs]
    other, _ = mix([f"{sft_file}:30", f"{sft_file}:25%"], "sft", seed=4, cache_dir=tmp_path)
    assert [r.id for r in other] != [r.id for r in recs]
    # 250%: every record twice, plus half of them a third time
    up, st = mix([f"{dpo_file}:250%"], "dpo", seed=0, cache_dir=tmp_path)
    assert len(up) == 300 and st.sources[0].selected == 300
    counts: dict[str, int] = {}
    for r in up:
        counts[r.id] = counts.get(r.id, 0) + 1
    assert sorted(set(counts.values())) == [2, 3] and sum(v == 3 for v in counts.values()) == 60
    with pytest.raises(ValueError, match="asked for 500 records but it holds 120"):
        mix([f"{sft_file}:500"], "sft", cache_dir=tmp_path)


def test_exclude_leaves_out_exactly_another_runs_selection(dpo_file, tmp_path) -> None:
    # What a DPO run on dpo_file:40 with seed 5 trains and evaluates on...
    pairs, _ = mix([f"{dpo_file}:40"], "dpo", seed=5, cache_dir=tmp_path)
    ids = mixed_ids([f"{dpo_file}:40"], seed=5, cache_dir=tmp_path)
    assert ids == {p.id for p in pairs} and len(ids) == 40
    # ...is what an SFT run on the same questions (a preference file read as SFT data: its chosen
    # conversations) leaves out with exclude=[dpo_file:40].
    all_ids = {r.id for r in mix([str(dpo_file)], "sft", cache_dir=tmp_path)[0]}
    recs, stats = mix([str(dpo_file)], "sft", seed=0, exclude_ids=ids, cache_dir=tmp_path)
    assert {r.id for r in recs} == all_ids - ids and len(recs) == 80
    assert stats.sources[0].available == 120 and stats.sources[0].excluded == 40
    # counts apply to what is left
    assert len(mix([f"{dpo_file}:80"], "sft", exclude_ids=ids, cache_dir=tmp_path)[0]) == 80
    with pytest.raises(ValueError, match="asked for 81 records but it holds 80"):
        mix([f"{dpo_file}:81"], "sft", exclude_ids=ids, cache_dir=tmp_path)


def test_exclude_needs_ids(tmp_path) -> None:
    f = tmp_path / "noid.jsonl"
    f.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n')
    with pytest.raises(ValueError, match="have no 'id'"):
        mixed_ids([str(f)], cache_dir=tmp_path)
