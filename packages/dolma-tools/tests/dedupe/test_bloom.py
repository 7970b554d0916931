"""The Bloom filter: sizing by the closed form, no false negatives, a measured false-positive rate
near the theoretical one, and a file that is refused when corrupt or built with other parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dolma_tools.dedupe import BloomFilter, BloomFilterError, BloomParams, measure_false_positive_rate
from dolma_tools.dedupe.bloom import hash_items


def test_sizing_follows_the_closed_form() -> None:
    # n = 1000, p = 0.01: m = -1000 ln(0.01) / (ln 2)^2 = 9585.06 -> 9586 -> 9600 (whole 64-bit words),
    # k = 9600 / 1000 * ln 2 = 6.65 -> 7
    params = BloomParams.for_capacity(1000, 0.01)
    assert (params.num_bits, params.num_hashes) == (9600, 7)
    assert params.expected_false_positive_rate(1000) == pytest.approx((1 - math.exp(-7 * 1000 / 9600)) ** 7)


def test_no_false_negatives_and_measured_rate_near_theory() -> None:
    items = [f"paragraph number {i}" for i in range(20_000)]
    bf = BloomFilter.build(items, false_positive_rate=0.01)
    assert bf.contains_many(items).all()
    expected = bf.params.expected_false_positive_rate(len(items))
    measured = measure_false_positive_rate(bf, probes=100_000)
    assert 0.5 * expected < measured < 1.5 * expected
    # strings never inserted, checked directly rather than through random hashes
    others = bf.contains_many([f"another line {i}" for i in range(50_000)]).mean()
    assert others < 2 * expected


def test_save_load_read_only(tmp_path: Path) -> None:
    bf = BloomFilter.build(["alpha", "beta", "gamma"], false_positive_rate=1e-6)
    path = bf.save(tmp_path / "f.bloom")
    ro = BloomFilter.load(path, read_only=True, expect=bf.params)
    assert ro.read_only and isinstance(ro._packed, np.memmap) and ro._packed.mode == "r"
    assert ro.contains_many(["alpha", "beta", "gamma", "delta"]).tolist() == [True, True, True, False]
    with pytest.raises(BloomFilterError, match="read-only"):
        ro.add_many(["delta"])
    rw = BloomFilter.load(path, read_only=False)
    rw.add_many(["delta"])
    assert "delta" in rw and "delta" not in ro
    assert BloomFilter.read_header(path)["items_added"] == 3


def test_corrupt_or_mismatched_files_refused(tmp_path: Path) -> None:
    bf = BloomFilter.build([f"x{i}" for i in range(100)], false_positive_rate=1e-3)
    path = bf.save(tmp_path / "f.bloom")
    data = bytearray(path.read_bytes())

    flipped = tmp_path / "flipped.bloom"
    data2 = bytearray(data)
    data2[-10] ^= 0xFF
    flipped.write_bytes(bytes(data2))
    with pytest.raises(BloomFilterError, match=r"flipped.bloom: checksum mismatch"):
        BloomFilter.load(flipped)

    truncated = tmp_path / "truncated.bloom"
    truncated.write_bytes(bytes(data[:-8]))
    with pytest.raises(BloomFilterError, match=r"truncated.bloom: file is .* bytes"):
        BloomFilter.load(truncated)

    garbage = tmp_path / "garbage.bloom"
    garbage.write_bytes(b"not a filter at all" * 10)
    with pytest.raises(BloomFilterError, match="bad magic"):
        BloomFilter.load(garbage)

    other = BloomParams(num_bits=bf.params.num_bits, num_hashes=bf.params.num_hashes + 1, seed=0)
    with pytest.raises(BloomFilterError, match=r"other parameters: num_hashes="):
        BloomFilter.load(path, expect=other)


def test_command_refuses_a_corrupt_filter_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dolma_tools.cli import main

    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "hello\\nworld"}\n')
    bad = tmp_path / "eval.bloom"
    good = BloomFilter.build(["hello"], false_positive_rate=1e-3).save(bad)
    data = bytearray(good.read_bytes())
    data[-1] ^= 1
    bad.write_bytes(bytes(data))
    rc = main(["dedupe", "--documents", str(tmp_path / "docs.jsonl"), "--destination", str(tmp_path / "a"),
               "--filter", str(bad), "--read-only", "--no-progress"])
    assert rc == 2
    assert f"{bad}: checksum mismatch" in capsys.readouterr().err


def test_packed_bits_match_python_double_hashing() -> None:
    # The filter keeps its bits packed and sets them in rounds (writes to one byte collide); the
    # oracle sets each bit with Python integers from the documented formula, bit p = bit p % 8 of
    # byte p // 8, position (h1 + i * (h2 | 1)) mod 2^64 mod m. A tiny filter makes most writes collide.
    params = BloomParams(num_bits=512, num_hashes=5, seed=3)
    bf = BloomFilter.create(params)
    items = [f"line {i}" for i in range(60)]
    seen_before = bf.check_and_add(hash_items(items[:40], 3))
    bf.add_many(items[40:])
    want = bytearray(params.num_bits // 8)
    for h1, h2 in hash_items(items, 3).tolist():
        for i in range(params.num_hashes):
            p = (h1 + i * (h2 | 1)) % 2**64 % params.num_bits
            want[p // 8] |= 1 << (p % 8)
    assert bf.packed_bits().tobytes() == bytes(want)
    assert bf.fill_ratio() == sum(bin(b).count("1") for b in want) / params.num_bits
    assert seen_before.dtype == bool and len(seen_before) == 40
