"""``heldout_verified``: the callback's per-example verdicts, accuracies and files equal a direct
computation (a plain greedy loop over the whole sequence, no KV cache, no batching, prompt ids built
by hand, each response judged by its verifier); inside a real SFT run its metrics reach
``metrics.jsonl`` and the summary, and a rerun of the finished run does not evaluate again."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from greedy_reference import direct_greedy

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.train.callbacks.base import build_callback
from open_instruct.tasks import generate_examples
from open_instruct.verifiers import verify

MAX_NEW = 6


def heldout_set(model, tokenizer, path: Path, per_family: int = 5) -> tuple[list[dict], list[str], list[bool]]:
    """Held-out examples of two families; every other one re-keyed to accept exactly the model's own
    greedy answer, so the right accuracy is neither 0 nor 1 and each verdict hangs on the response."""
    examples = (generate_examples("sorting", "heldout", per_family, seed=3)
                + generate_examples("counting", "heldout", per_family, seed=3))
    responses = [direct_greedy(model, tokenizer, ex, MAX_NEW) for ex in examples]
    for i in range(0, len(examples), 2):
        examples[i]["verifier"] = {"name": "exact", "args": {"answer": responses[i]}}
    correct = [verify(ex["verifier"]["name"], r, **ex["verifier"]["args"]).correct for ex, r in zip(examples, responses)]
    path.write_text("".join(json.dumps(ex) + "\n" for ex in examples))
    return examples, responses, correct


def test_callback_equals_direct_greedy_and_verifiers(tiny_model, tokenizer, tmp_path) -> None:
    import open_instruct.callbacks  # noqa: F401

    examples, responses, correct = heldout_set(tiny_model, tokenizer, tmp_path / "heldout.jsonl")
    assert 0 < sum(correct) < len(correct)
    cb = build_callback("heldout_verified", path=str(tmp_path / "heldout.jsonl"), every=2, max_new_tokens=MAX_NEW,
                        batch_size=4)
    logged: dict[str, float] = {}
    state = SimpleNamespace(step=1, model=tiny_model, is_main_process=True, run_dir=tmp_path / "run",
                            cfg=SimpleNamespace(max_steps=10), log=logged.update)
    cb.on_step_end(state, {})
    assert logged == {} and not (tmp_path / "run" / "heldout").exists()  # not due at step 1
    state.step = 2
    cb.on_step_end(state, {})
    fam = {f: [c for ex, c in zip(examples, correct) if ex["family"] == f] for f in ("counting", "sorting")}
    assert logged == {"heldout/accuracy": sum(correct) / 10,
                      **{f"heldout/{f}/accuracy": sum(v) / len(v) for f, v in fam.items()}}
    rows = [json.loads(line) for line in (tmp_path / "run" / "heldout" / "step2.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [ex["id"] for ex in examples]
    assert [r["response"] for r in rows] == responses and [r["correct"] for r in rows] == [int(c) for c in correct]

    # Resume: a fresh callback given the saved state does not evaluate step 2 again, and reports its result.
    again = build_callback("heldout_verified", path=str(tmp_path / "heldout.jsonl"), every=2, max_new_tokens=MAX_NEW)
    again.load_state_dict(json.loads(json.dumps(cb.state_dict())))
    mtime = os.stat(tmp_path / "run" / "heldout" / "step2.jsonl").st_mtime_ns
    again.on_train_end(state)
    assert os.stat(tmp_path / "run" / "heldout" / "step2.jsonl").st_mtime_ns == mtime
    assert again.result == cb.result and again.result["accuracy"] == sum(correct) / 10
    state.step = 3  # the end of a run whose last step was not due: evaluated once more, at its end
    again.on_train_end(state)
    assert (tmp_path / "run" / "heldout" / "step3.jsonl").is_file() and again.last_step == 3


def test_in_an_sft_run_metrics_summary_and_rerun(tiny_model, tokenizer, tmp_path) -> None:
    from open_instruct.train.presets import compose_config
    from open_instruct.train.sft import run

    save_model_checkpoint(tiny_model, tmp_path / "init")
    heldout = tmp_path / "heldout.jsonl"
    heldout_set(tiny_model, tokenizer, heldout, per_family=2)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(ex) + "\n" for ex in generate_examples("sorting", "train", 16, seed=3)))
    overrides = [f"init_from={tmp_path / 'init'}", f"data.sources=[{train}]", "data.exclude=[]", "data.max_length=64",
                 f"data.cache_dir={tmp_path / 'cache'}", f"trainer.run_dir={tmp_path / 'run'}",
                 "batch.global_batch_size=8", "batch.micro_batch_size=8", "batch.epochs=1",
                 "~trainer.callbacks.loss_plot", "~trainer.callbacks.speed", "~trainer.callbacks.console",
                 f"+trainer.callbacks.heldout_verified={{path: {heldout}, every: 1, max_new_tokens: {MAX_NEW}}}"]
    first = run(compose_config("tiny_sft", overrides))
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert first["steps"] == 2 and [r["step"] for r in rows if "heldout/accuracy" in r] == [1, 2]

    # The final checkpoint's own greedy answers, judged directly, give the summary's and the log's figures.
    final = load_model_checkpoint(first["checkpoint"])
    examples = [json.loads(line) for line in heldout.read_text().splitlines()]
    direct = [verify(ex["verifier"]["name"], direct_greedy(final, tokenizer, ex, MAX_NEW), **ex["verifier"]["args"]).correct
              for ex in examples]
    assert first["heldout_verified"]["step"] == 2
    assert first["heldout_verified"]["accuracy"] == rows[-1]["heldout/accuracy"] == sum(direct) / len(direct)
    step2 = [json.loads(line)["correct"] for line in (tmp_path / "run" / "heldout" / "step2.jsonl").open()]
    assert step2 == [int(c) for c in direct]

    mtime = os.stat(tmp_path / "run" / "heldout" / "step2.jsonl").st_mtime_ns
    again = run(compose_config("tiny_sft", overrides))  # finished: resumes at step 2, takes no step
    assert again["heldout_verified"] == first["heldout_verified"]
    assert os.stat(tmp_path / "run" / "heldout" / "step2.jsonl").st_mtime_ns == mtime
