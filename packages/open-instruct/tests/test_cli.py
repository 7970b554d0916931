"""The console script answers --help and lists its commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from open_instruct.cli import COMMANDS, main


def test_help_exits_zero_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: open-instruct" in out and "example" in out
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "open_instruct.cli", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert f"open-instruct {name}" in proc.stdout


def test_preset_names_in_help_are_the_registered_ones() -> None:
    from open_instruct.commands.sft import PRESET_NAMES
    from open_instruct.train.presets import RUN_PRESETS

    assert set(PRESET_NAMES) == set(RUN_PRESETS)


def test_bad_input_is_one_message_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sft", "--preset", "no_such_preset", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert "open-instruct sft: error:" in err and "no_such_preset" in err and "Traceback" not in err


def test_tasks_writes_a_suite_and_refuses_bad_knobs(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out = tmp_path / "suite"
    assert main(["tasks", str(out), "--families", "sorting", "counting", "--train-per-family", "6",
                 "--heldout-per-family", "3", "--difficulty", 'sorting={"length": 4}']) == 0
    train = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    heldout = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    assert len(train) == 12 and len(heldout) == 6 and not {r["id"] for r in train} & {r["id"] for r in heldout}
    assert all(len(r["answer"].split()) == 4 for r in train + heldout if r["family"] == "sorting")
    assert "train: 12 examples" in capsys.readouterr().out
    assert main(["tasks", str(out), "--difficulty", "sorting=length 4"]) == 2
    assert main(["tasks", str(out), "--families", "no_such_family"]) == 2
    err = capsys.readouterr().err
    assert "not JSON" in err and "no_such_family" in err and "Traceback" not in err


def test_verify_acc_equals_a_direct_greedy_computation(tiny_model, tokenizer, tmp_path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from greedy_reference import direct_greedy

    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from open_instruct.tasks import generate_examples
    from open_instruct.verifiers import verify

    save_model_checkpoint(tiny_model, tmp_path / "ckpt")
    examples = generate_examples("reversal", "heldout", 3, seed=5) + generate_examples("sorting", "heldout", 3, seed=5)
    responses = [direct_greedy(tiny_model, tokenizer, ex, 5) for ex in examples]
    for i in (1, 3, 4):  # these accept exactly the model's own answer: the right accuracy is 1/2
        examples[i]["verifier"] = {"name": "exact", "args": {"answer": responses[i]}}
    data = tmp_path / "heldout.jsonl"
    data.write_text("".join(json.dumps(ex) + "\n" for ex in examples))
    correct = [verify(ex["verifier"]["name"], r, **ex["verifier"]["args"]).correct for ex, r in zip(examples, responses)]
    assert main(["verify-acc", str(tmp_path / "ckpt"), "--data", str(data), "--max-new-tokens", "5",
                 "--batch-size", "4", "--out", str(tmp_path / "rows.jsonl")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["accuracy"] == sum(correct) / 6 and result["examples"] == 6
    assert result["families"]["sorting"]["accuracy"] == sum(correct[3:]) / 3
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [r["response"] for r in rows] == responses and [r["correct"] for r in rows] == [int(c) for c in correct]
