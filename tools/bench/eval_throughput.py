"""Ranked-classification scoring throughput: olmo-eval's scoring path against lm-evaluation-harness.

What is compared: both sides score the same log-likelihood requests, OLMES ARC-Easy and HellaSwag
(RC formulation, compiled by olmo-eval from its shipped data, 5-shot, the PMI ``"Answer:"`` requests
included), with the same random ``OlmoForCausalLM`` saved once as a HF folder that each side loads
itself, in float32 on the CPU, with the same torch thread count.

What is timed (same scope on both sides, model loading excluded): turning every (context,
continuation) string pair into token ids, and scoring all of them.

* ours (``sides/eval_throughput_ours.py``): ``olmo_eval.tokenizer.encode_pairs`` then
  ``olmo_eval.scoring.score_requests`` (its default CPU token budget) on ``load_hf_model``.
* theirs (``sides/eval_throughput_lmeval.py``): ``HFLM.loglikelihood`` (lm-eval's HF backend; it
  tokenizes each pair, sorts by length, batches, runs the model and log-softmaxes every position).

The peer, pinned in its own cached environment: ``lm-eval[hf]==0.4.13`` on exactly the workspace's
torch and ``transformers==5.24.0``. Its setting, and why it is its best on this hardware:
``HFLM(device="cpu", dtype="float32", batch_size=8)``. lm-eval's default is ``batch_size=1``; on 2 CPU
cores a sweep on these requests (48 requests, d_model 1024, 5-shot, CPU seconds of one pass: bs 1: 33-37,
4: 22.9, 8: 21.9-23.7, 16: 28.9, 32: 41.6) found 4 and 8 the fastest: one request per forward wastes
the batching, while larger batches pad more (HellaSwag's lengths vary) and push more 50k-wide
log-softmax rows through memory at once (``--batch-size`` repeats it). ``batch_size="auto"`` is no
help on a CPU: it probes by running five forward passes at ``max_batch_size`` (64) and backs off only
on a CUDA out-of-memory error, so it settles on 64 (gigabytes of logits per batch at this width). Its float32 softmax (the
default, ``softmax_dtype=None``) is what is timed. Its documented ``logits_cache=True`` default (one
forward for one-token continuations sharing a context) is kept. ``--peer-defaults`` adds lm-eval at
``batch_size=1`` as a further figure.

Work check: every request's summed log-likelihood must agree within ``1e-3 + 1e-5 * |ll|`` nats.
lm-eval sums its float32 token log-probs in float32 (ours sums in float64); over a long continuation
of a random model (about -10.8 nats a token) that rounding alone reaches ~1e-4, and different batch
shapes move float32 matrix products by a few ulp; the relative term covers the longest HellaSwag
endings (hundreds of nats). Also, under each normalization (raw, per token, per character, PMI) the
chosen answer of every instance must be identical, except where the peer's best two choices are
themselves within the tolerance (a tie at the precision checked; counted and reported).

Sizes: the primary figure at d_model 1024, 2 layers, 16 heads, the full 50,304 vocabulary (where the
50k-row head is about 60% of a token's FLOPs, so our skipping it at context positions is worth far
less than at toy size); the toy model (d_model 128, 2 layers, where the head is about 90% of the FLOPs)
as the second figure. Unit: instances per second (an instance is one question with all its choices and
PMI requests).

    uv run --frozen python tools/bench/eval_throughput.py --quick  # ~2 min: 1+1 instances at d 1024, 2+2 at d 128
    uv run --frozen python tools/bench/eval_throughput.py          # 4+4 at d 1024, 10+10 at d 128, 5 rounds
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

HERE = Path(__file__).resolve().parent
TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
PEER = harness.PeerEnv(("lm-eval[hf]==0.4.13", harness.workspace_pin("torch"), "transformers==5.24.0"))
BEST_BATCH = 8
TASKS = ("arc_easy", "hellaswag")
ATOL, RTOL = 1e-3, 1e-5


def make_model(path: Path, hidden: int, layers: int) -> None:
    """A random OLMo (transformers' OlmoForCausalLM) with the OLMo tokenizer, saved as a HF folder."""
    import torch
    from transformers import OlmoConfig, OlmoForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    cfg = OlmoConfig(vocab_size=50304, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                     num_attention_heads=max(1, hidden // 64), max_position_embeddings=2048, eos_token_id=50279,
                     pad_token_id=1, bos_token_id=None, tie_word_embeddings=False)
    OlmoForCausalLM(cfg).save_pretrained(path)
    tok = PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), eos_token="<|endoftext|>", pad_token="<|padding|>")
    tok.save_pretrained(path)
    shutil.copy(TOKENIZER, path / "tokenizer.json")


def compile_requests(limit: int, shots: int):
    from olmo_eval.requests import compile_task
    from olmo_eval.tasks import get_task

    return [compile_task(get_task(name, limit=limit, num_shots=shots)) for name in TASKS]


def choice_check(tasks) -> harness.Check:
    """Per-request log-likelihoods within ATOL + RTOL * |ll|, and the same answer for every instance under
    every normalization (unless the peer's top two are within the tolerance of each other)."""
    import numpy as np

    from olmo_eval.metrics import NORMALIZATIONS, choice_scores
    from olmo_eval.tokenizer import encode_pairs, load_tokenizer

    tok = load_tokenizer(TOKENIZER)
    pairs = [(r.context, r.continuation) for t in tasks for r in t.requests]
    n_tokens = [len(k) for _, k in encode_pairs(tok, pairs, tok.eos_token_id)]
    layout = []  # per instance: (conditional request ids by choice, PMI request ids by choice or None, chars)
    offset = 0
    for t in tasks:
        cond: dict[int, dict[int, int]] = {}
        unc: dict[int, dict[int, int]] = {}
        chars: dict[int, dict[int, int]] = {}
        for j, r in enumerate(t.requests):
            (unc if r.uncond else cond).setdefault(r.instance, {})[r.choice] = offset + j
            if not r.uncond:
                chars.setdefault(r.instance, {})[r.choice] = len(r.continuation)
        for inst in t.instances:
            cs = range(inst.num_choices)
            layout.append(([cond[inst.index][c] for c in cs],
                           [unc[inst.index][c] for c in cs] if inst.index in unc else None,
                           [chars[inst.index][c] for c in cs]))
        offset += len(t.requests)
    close = harness.check_close("per-request log-likelihoods", ATOL, RTOL)

    def check(ours, theirs) -> tuple[bool, str]:
        ok, note = close(ours, theirs)
        if not ok:
            return ok, note
        a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        tol = ATOL + RTOL * np.abs(b)  # the per-request tolerance, in nats
        flips, ties, decisions = 0, 0, 0
        for cond, unc, chars in layout:
            nt = [n_tokens[i] for i in cond]
            for norm in NORMALIZATIONS:
                if norm == "acc_uncond" and unc is None:
                    continue
                sa = choice_scores(norm, a[cond], nt, chars, a[unc] if unc else None)
                sb = choice_scores(norm, b[cond], nt, chars, b[unc] if unc else None)
                decisions += 1
                pa, pb = int(np.argmax(sa)), int(np.argmax(sb))
                if pa == pb:
                    continue
                # how far each choice's score may move within the tolerance, under this normalization
                err = choice_scores(norm, tol[cond], nt, chars, -tol[unc] if unc else None)
                if abs(sb[pa] - sb[pb]) <= abs(err[pa]) + abs(err[pb]):
                    ties += 1  # the two answers are tied at the precision checked
                else:
                    flips += 1
        if flips:
            return False, f"{note}; {flips} of {decisions} answers differ beyond a tie"
        return True, (f"{note}; the chosen answer is identical in all {decisions - ties} of {decisions} "
                      f"(instance, normalization) decisions" + (f", {ties} exact ties" if ties else ""))
    return check


def main() -> list[harness.Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few instances, 3 rounds (about 1-2 minutes)")
    parser.add_argument("--limit", type=int, default=None, help="instances per task at d 1024 (default 4, quick 1)")
    parser.add_argument("--toy-limit", type=int, default=None, help="instances per task at toy size "
                        "(default 10, quick 2)")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=BEST_BATCH, help="lm-eval's batch size")
    parser.add_argument("--peer-defaults", action="store_true", help="also lm-eval at its default batch_size=1")
    parser.add_argument("--no-toy", action="store_true", help="skip the toy-size figure")
    args = parser.parse_args()
    limit = args.limit or (1 if args.quick else 4)
    toy_limit = args.toy_limit or (2 if args.quick else 10)
    rounds = args.rounds or (3 if args.quick else 5)

    python = PEER.python
    sizes = [("", 1024, limit, True)]
    if not args.no_toy:
        sizes.append(("toy d128", 128, toy_limit, False))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        for variant, hidden, n, primary in sizes:
            tasks = compile_requests(n, args.shots)
            requests = [(r.context, r.continuation) for t in tasks for r in t.requests]
            n_inst = sum(len(t.instances) for t in tasks)
            req_file = work / f"requests-{n}.json"
            req_file.write_text(json.dumps(requests))
            model_dir = work / f"olmo-d{hidden}"
            make_model(model_dir, hidden, 2)
            harness.log(f"{n_inst} instances ({', '.join(f'{t.name}: {len(t.instances)}' for t in tasks)}), "
                        f"{len(requests)} requests, {args.shots}-shot, OlmoForCausalLM d={hidden} L=2 V=50304")
            base = {"model": str(model_dir), "requests": str(req_file), "instances": n_inst,
                    "threads": args.threads}
            check = choice_check(tasks)
            work_text = (f"score {len(requests)} requests ({n_inst} OLMES ARC-Easy + HellaSwag instances, "
                         f"{args.shots}-shot, PMI included), tokenization included, OlmoForCausalLM d={hidden} "
                         f"L=2 V=50304 fp32 CPU, {args.threads} threads")
            peers = [(variant, args.batch_size, primary)]
            if args.peer_defaults:
                peers.append(((f"{variant}, " if variant else "") + "lm-eval defaults (batch_size=1)", 1, False))
            for label, batch, prim in peers:
                ours = harness.Worker("olmo-eval score_requests", HERE / "sides" / "eval_throughput_ours.py", base,
                                      threads=args.threads)
                theirs = harness.Worker(f"lm-eval HFLM bs={batch}", HERE / "sides" / "eval_throughput_lmeval.py",
                                        {**base, "batch_size": batch}, python=python, threads=args.threads)
                results.append(harness.compare(
                    "eval_throughput", ours, theirs, peer=PEER.label, unit="instances/s", work=work_text,
                    check=check, rounds=rounds, variant=label, primary=prim, goal=2.0,
                    peer_setting=f"HFLM device=cpu dtype=float32 batch_size={batch}, float32 log-softmax, "
                                 "logits_cache=True",
                    limits=("both run the same transformer layers; ours skips the 50k-row head and its "
                            "log-softmax at context positions, which is most of lm-eval's work only when the "
                            "head dominates (toy) and about 60% at d 1024"),
                    extra={"d_model": hidden, "layers": 2, "vocab": 50304, "instances": n_inst,
                           "requests": len(requests), "shots": args.shots, "peer_batch_size": batch}))
            shutil.rmtree(model_dir, ignore_errors=True)
    return results


if __name__ == "__main__":
    harness.run(main)
