"""The shipped task data is OLMES's sample of the shared datasets (checked against them directly)."""

from __future__ import annotations

import random
from pathlib import Path

import datasets
import pytest

from olmo_eval.tasks import expand, get_task
from olmo_eval.tasks.data import (
    eval_docs,
    heldout_fewshot_docs,
    load_dataset_file,
    olmes_fewshot,
    olmes_sample,
)

EVAL = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "eval"


def test_sampling_rule() -> None:
    assert olmes_sample(list(range(1500))) == list(range(1500))
    drawn = olmes_sample(list(range(1501)))
    assert len(drawn) == 1000 and drawn == random.Random(1234).sample(range(1501), 1000)


def test_hellaswag_is_olmes_sample_of_validation() -> None:
    source = datasets.load_from_disk(str(EVAL / "hellaswag/none/validation"))
    expected = random.Random(1234).sample(list(source), 1000)
    shipped = [doc for _, doc in eval_docs("hellaswag")]
    assert [d["ind"] for d in shipped] == [d["ind"] for d in expected]
    assert shipped[17]["endings"] == expected[17]["endings"]


def test_small_splits_are_whole_and_in_order() -> None:
    source = datasets.load_from_disk(str(EVAL / "winogrande/winogrande_xl/validation"))
    shipped = eval_docs("winogrande")
    assert len(shipped) == len(source) == 1267
    assert shipped[5][1]["sentence"] == source[5]["sentence"]


def test_heldout_fewshot_not_evaluated() -> None:
    fewshot = heldout_fewshot_docs("copa")
    evaluated = {d["idx"] for _, d in eval_docs("copa")}
    assert len(fewshot) == 5 and not evaluated & {d["idx"] for d in fewshot}
    assert len(evaluated) == 95


def test_mmlu_counts_and_fewshot_from_dev() -> None:
    header, rows = load_dataset_file("mmlu")
    assert len(header["subjects"]) == 57
    assert sum(r["role"] == "eval" for r in rows) == 14042
    assert sum(r["role"] == "fewshot" for r in rows) == 57 * 5
    dev = datasets.load_from_disk(str(EVAL / "hails/mmlu_no_train/anatomy/dev"))
    assert get_task("mmlu_anatomy")._fewshot_docs()[0]["question"] == dev[0]["question"]


def test_olmes_fewshot_has_five_per_task() -> None:
    assert {k: len(v) for k, v in olmes_fewshot().items()} == {
        k: 5 for k in ("arc_easy", "arc_challenge", "boolq", "hellaswag", "openbookqa", "piqa", "winogrande")}


def test_suites_and_unknown_names() -> None:
    assert len(expand("core9")) == 9 and len(expand("mmlu")) == 57
    assert expand("arc_easy,core9")[0] == "arc_easy" and len(expand("arc_easy,core9")) == 9
    with pytest.raises(KeyError, match="unknown task or suite 'nope'"):
        expand("nope")


def test_config_hash_changes_with_config() -> None:
    a, b = get_task("arc_easy"), get_task("arc_easy", num_shots=0)
    assert a.config_hash() != b.config_hash() and a.config_hash() == get_task("arc_easy").config_hash()
