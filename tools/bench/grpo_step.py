"""Benchmark: open-instruct's GRPO (rollouts plus updates) against TRL's ``GRPOTrainer``, same model,
same prompts, same group size and completion lengths, CPU.

What is compared: one short GRPO training run, start to finish after setup. Both sides get the same
weights (olmo-core's ``tiny`` preset initialised from seed 0, saved, and converted with
``olmo_core.convert.to_hf``, the function behind ``olmo-core convert to-hf``, so TRL loads the very
same weights as an HF ``OlmoForCausalLM``; a probe sequence's log-probs are compared on both sides),
the same prompts (the first GSM8K questions of ``../shared/data/eval_gen/gsm8k``, rendered as one
user turn with the Tulu template up to ``<|assistant|>\\n``; TRL gets the rendered text and tokenizes
it itself, its token ids checked against ours), the same reward (``sides/grpo_reward.py``), and the
same hyperparameters: ``group`` completions per prompt sampled at temperature 1 (no top-p/top-k),
group-normalized advantages (std + 1e-4), clipped ratio (0.2), k3 KL to the reference with beta
0.04, token-level (``dapo``) normalization, one update per rollout batch (``num_iterations`` 1),
AdamW (0.9, 0.999, eps 1e-8, no weight decay), a constant learning rate, gradient clipping at 1.0,
float32, the same torch (the peer environment pins the workspace's) and the same thread count.

Equal work is forced: every completion is exactly ``--completion-length`` tokens on both sides
(TRL: ``min_new_tokens == max_new_tokens``, so eos is masked out of sampling; ours: generation that
does not stop at eos), so both sides generate, score and train on the same number of tokens even
though their sampled tokens differ (two samplers cannot share random streams).

What is timed, the same scope on both sides (one harness round; weights reset and the optimizer
rebuilt inside it, so every round is the same work): ``steps`` GRPO steps, each = sampling the
rollouts with a KV cache, scoring them, the reference model's log-probs, and one optimizer step.

* ours (``sides/grpo_step_ours.py``): the pieces ``open_instruct.train.grpo.run`` assembles
  (``RolloutBatches``: sampling with olmo-core's KV-cache ``generate``, rewards, group advantages,
  reference log-probs, the atomic rollout log; ``GRPOLoss``; olmo-core's ``Trainer.train_step``).
* TRL (``sides/grpo_step_trl.py``, trl 1.16.0 in its own pinned environment), at its best for this
  hardware: transformers ``generate`` with its default dynamic KV cache (``use_cache``), SDPA
  attention, ``gradient_checkpointing=False`` (GRPOConfig turns it on by default to save memory, which
  recomputes the forward in the backward; memory is not short here), ``bf16=False`` (GRPOConfig's
  default is bf16; float32 is what ours runs). What TRL documents for speed ("Speeding Up Training",
  "vLLM Integration") is vLLM generation (CUDA only), Liger kernels (Triton, GPU only) and
  transformers' continuous batching (``use_transformers_continuous_batching``): that one runs on the
  CPU but is slower here (it builds and warms a paged cache at every generation call: 65 s against
  17 s for plain ``generate`` on the same 2 steps, measured under load; ``--also "trl continuous
  batching"`` reruns it). No ``torch_compile`` on either side. With one update per rollout
  batch TRL skips the separate old-policy log-prob pass (the ratio's denominator is the detached
  current log-probs), and so does ours.

Second figures (``--also``): ``1 thread`` (one torch thread per side instead of two), ``trl defaults``
(GRPOConfig's defaults: gradient checkpointing on; float32 still) and ``trl continuous batching``.

``OLMO_BENCH_PROFILE=1`` makes both sides report each round's wall and CPU seconds per phase
(sampling, reward, reference log-probs, policy forward + loss, the rest: backward, optimizer and the
trainer's loop; ``sides/grpo_profile.py``).

Work check (the harness refuses a ratio otherwise): for every round, the prompt token ids are
identical (digest, each prompt repeated ``group`` times in step order), each step trained on the same
number of sequences, prompt tokens and completion tokens on both sides (every completion exactly
``--completion-length`` tokens), the reference model scored the same number of sequences, the same
number of optimizer steps ran, and the probe's initial log-probs agree within 1e-4.

tokens/s counts every rollout's prompt + completion tokens (no padding) per second of the round; the
goal is 1.5x.

Measured (``run_all.py --quick``, 2026-12-05, the shared 2-core machine at load average ~12): 2.02x
(rounds 1.62-2.40, CPU-time ratio 2.06) with 2 threads per side, 3.23x (2.97-3.53, CPU 3.36) with 1
thread; an earlier 2-thread pass of the same work gave 1.56x (1.40-2.31): two OpenMP threads per side
on an oversubscribed machine move with the load. Where a round goes (``OLMO_BENCH_PROFILE=1``, 1
thread, CPU seconds of one quick round): ours 2.1 s = sampling 1.10 (53%), reference log-probs 0.25
(12%), policy forward + loss 0.25 (12%), backward + optimizer + loop 0.47 (23%); TRL 6.9 s = sampling
1.28 (19%), reference 1.14 (17%), policy forward + loss 1.33 (19%), backward + optimizer + loop 3.1
(45%). With 2 threads under that load sampling grows to 70-80% of ours. So the update is where ours
leads (4-7x per phase) and sampling is what limits the ratio: olmo-core's ``generate`` draws every
token with softmax + ``torch.multinomial`` over the 50k vocabulary, half its CPU time (greedy decoding
of the same rows takes 1.1 CPU s against 2.2 sampled), as does transformers'.

    uv run --frozen python tools/bench/grpo_step.py --quick   # 1-2 minutes on a quiet machine
    uv run --frozen python tools/bench/grpo_step.py           # more prompts, longer completions, more rounds
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

SIDES = harness.HERE / "sides"
DATA = harness.SHARED / "eval_gen" / "gsm8k" / "requests.jsonl.gz"
PEER = harness.PeerEnv(("trl==1.16.0", "transformers==5.24.0", harness.workspace_pin("torch"),
                        "accelerate==1.16.0", "datasets==5.2.0", harness.workspace_pin("tokenizers")))
PROBE_ATOL = 1e-4
BETA, CLIP, LOSS_TYPE, TEMPERATURE, MAX_GRAD_NORM = 0.04, 0.2, "dapo", 1.0, 1.0
# the peer's settings: name -> (GRPOConfig overrides, words for the table)
TRL_SETTINGS = {
    "best": ({"gradient_checkpointing": False, "continuous_batching": False},
             "GRPOConfig(gradient_checkpointing=False, bf16=False), generate with the dynamic KV cache, sdpa, "
             "no vLLM (CUDA only)"),
    "continuous-batching": ({"gradient_checkpointing": False, "continuous_batching": True},
                            "as best, with use_transformers_continuous_batching=True"),
    "defaults": ({"gradient_checkpointing": True, "continuous_batching": False},
                 "GRPOConfig defaults (gradient checkpointing on), float32 instead of bf16"),
}


def check_work(a: dict, b: dict) -> tuple[bool, str]:
    if a is None or b is None:
        return False, "a side returned no output"
    if a["prompts"] != b["prompts"]:
        return False, "prompt token ids differ between open-instruct's tokenization and TRL's"
    if a["steps"] != b["steps"]:
        return False, f"per-step work differs: ours {a['steps']} vs TRL {b['steps']}"
    if a["optimizer_steps"] != b["optimizer_steps"] or a["optimizer_steps"] != len(a["steps"]):
        return False, f"optimizer steps: ours {a['optimizer_steps']} vs TRL {b['optimizer_steps']}"
    if a["ref_sequences"] != b["ref_sequences"] or not a["ref_sequences"]:
        return False, f"reference model scored {a['ref_sequences']} sequences (ours) vs {b['ref_sequences']} (TRL)"
    ok, note = harness.check_close("probe log-probs", atol=PROBE_ATOL)(a["probe_logps"], b["probe_logps"])
    if not ok:
        return False, f"initial weights differ: {note}"
    seqs = sum(s["sequences"] for s in a["steps"])
    comp = sum(s["completion_tokens"] for s in a["steps"])
    lengths = sorted({n for s in a["steps"] for n in s["completion_lengths"]})
    return True, (f"prompt ids identical; {len(a['steps'])} steps, {seqs} rollouts, {comp:,} completion tokens "
                  f"(every completion {'/'.join(map(str, lengths))} tokens) and {a['ref_sequences']} reference "
                  f"scorings on both sides; {note}")


def load_prompts(n: int) -> tuple[list[list[int]], list[dict]]:
    """The first ``n`` GSM8K questions as one-turn task prompts: our token ids (the encoding our GRPO
    run uses, ``open_instruct.grpo.rollouts.encode_prompt``) and TRL's rows (the same Tulu prompt as
    text, which TRL tokenizes itself)."""
    from open_instruct.data.template import get_template
    from open_instruct.grpo.rollouts import encode_prompt
    from open_instruct.interfaces import Message
    from open_instruct.tokenizer import load_tokenizer

    tok, tulu = load_tokenizer(), get_template("tulu")
    ids, rows = [], []
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)["doc"]
            ids.append(encode_prompt(tok, {"messages": [{"role": "user", "content": doc["question"]}]}))
            rows.append({"prompt": tulu.render([Message("user", doc["question"])], tok, add_generation_prompt=True),
                         "answer": str(doc["short_answer"])})
            if len(rows) == n:
                break
    return ids, rows


def make_model(work: Path, max_length: int) -> tuple[Path, Path, str, list[int], int]:
    import torch

    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo

    cfg = get_model_preset("tiny").replace(max_sequence_length=max_length)
    torch.manual_seed(0)
    model = OLMo(cfg)
    model.init_weights(0)
    params = sum(p.numel() for p in model.parameters())
    save_model_checkpoint(model, work / "ckpt")
    to_hf(work / "ckpt", work / "hf")
    probe = torch.Generator().manual_seed(1)
    probe_ids = torch.randint(2, cfg.vocab_size - 1, (48,), generator=probe).tolist()
    size = (f"olmo-core tiny: d_model {cfg.d_model} x {cfg.n_layers} layers, {cfg.n_heads} heads, mlp "
            f"{cfg.mlp_hidden_size}, vocab {cfg.embedding_size:,} ({params / 1e6:.1f}M params)")
    return work / "ckpt", work / "hf", size, probe_ids, cfg.vocab_size


# second figures: name -> (TRL setting, thread count or None for --threads)
VARIANTS = {"trl defaults": ("defaults", None), "1 thread": ("best", 1),
            "trl continuous batching": ("continuous-batching", None)}
LIMITS = ("both run the same float32 matmuls; ours leads on the update (the LM head on completion tokens only, no "
          "entropy pass; TRL's fused chunked head scores every position and its backward recomputes tiles) and "
          "less on sampling, which is most of our step (torch.multinomial over the 50k vocabulary on both sides); "
          "two OpenMP threads per side on a loaded 2-core machine slow the many small sampling ops of both")


def main() -> list[harness.Result]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer prompts, shorter completions (1-2 minutes)")
    ap.add_argument("--prompts-per-step", type=int, default=None, help="prompts per step (default 4, quick 2)")
    ap.add_argument("--group", type=int, default=None, help="completions per prompt (default 8, quick 4)")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per round (default 4, quick 2)")
    ap.add_argument("--completion-length", type=int, default=None, help="tokens per completion (default 64, quick 32)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 5, quick 3)")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads per side (default 2: the machine's cores)")
    ap.add_argument("--also", default=None,
                    help=f"comma-separated second figures, of: {', '.join(VARIANTS)} (default: '1 thread' with --quick, "
                         "'1 thread,trl defaults' otherwise)")
    args = ap.parse_args()
    per_step = args.prompts_per_step or (2 if args.quick else 4)
    group = args.group or (4 if args.quick else 8)
    steps = args.steps or (2 if args.quick else 4)
    length = args.completion_length or (32 if args.quick else 64)
    rounds = args.rounds or (3 if args.quick else 5)
    also = [v for v in (args.also.split(",") if args.also is not None else
                        (["1 thread"] if args.quick else ["1 thread", "trl defaults"])) if v]
    for v in also:
        if v not in VARIANTS:
            ap.error(f"--also: unknown second figure {v!r}; known: {', '.join(VARIANTS)}")

    from olmo_core.tokenizer import default_tokenizer_path

    peer_python = PEER.python
    work = Path(tempfile.mkdtemp(prefix="bench-grpo-"))
    ckpt, hf_dir, size, probe, vocab = make_model(work, 2048)
    prompt_ids, rows = load_prompts(per_step * steps)
    (work / "prompts.json").write_text(json.dumps(prompt_ids))
    (work / "rows.json").write_text(json.dumps(rows))
    common = {"group": group, "prompts_per_step": per_step, "steps": steps, "completion_length": length,
              "lr": args.lr, "beta": BETA, "clip": CLIP, "loss_type": LOSS_TYPE, "temperature": TEMPERATURE,
              "max_grad_norm": MAX_GRAD_NORM, "seed": 0, "probe": probe, "vocab": vocab,
              "reward_module": str(SIDES / "grpo_reward.py"), "profile_module": str(SIDES / "grpo_profile.py")}
    results = []
    for variant, (setting, threads) in [("", ("best", None)), *((v, VARIANTS[v]) for v in also)]:
        threads = threads or args.threads
        overrides, words = TRL_SETTINGS[setting]
        tag = (variant or "main").replace(" ", "_")
        ours = harness.Worker("open-instruct", SIDES / "grpo_step_ours.py", threads=threads,
                              config={**common, "threads": threads, "ckpt": str(ckpt),
                                      "prompts": str(work / "prompts.json"), "answers": [r["answer"] for r in rows],
                                      "run_dir": str(work / f"{tag}-run")})
        theirs = harness.Worker(f"trl {setting}", SIDES / "grpo_step_trl.py", python=peer_python, threads=threads,
                                config={**common, **overrides, "threads": threads, "hf_dir": str(hf_dir),
                                        "tokenizer": str(default_tokenizer_path()), "rows": str(work / "rows.json"),
                                        "out": str(work / f"{tag}-trl")})
        results.append(harness.compare(
            "grpo_step", ours, theirs, peer=PEER.label, unit="tokens/s", primary=not variant, variant=variant,
            work=(f"{size}; {steps} GRPO steps of {per_step} GSM8K prompts x {group} completions of {length} "
                  f"tokens ({per_step * group} rollouts a step): sampling (KV cache), reward, reference log-probs, "
                  f"one update each, {threads} thread{'s' if threads > 1 else ''} per side"),
            check=check_work, rounds=rounds, goal=1.5, peer_setting=words, limits=LIMITS,
            extra={"prompts_per_step": per_step, "group": group, "steps": steps, "completion_length": length,
                   "beta": BETA, "loss_type": LOSS_TYPE, "trl_setting": setting, "threads": threads}))
    return results


if __name__ == "__main__":
    harness.run(main)
