"""Ranked-classification scoring throughput: olmo-eval's kernel against lm-evaluation-harness.

Both sides score the same requests (OLMES ARC-Easy and HellaSwag, compiled by olmo-eval from its
shipped data, 5-shot, PMI requests included) with the same small random HF-format OLMo, in fp32 on the
same device, in one run. lm-eval (``lm-eval[hf]``, its HF backend ``HFLM.loglikelihood``) is installed
by this script into its own venv (``uv venv`` + ``uv pip install``), never into the workspace. Reported:
instances per second for both, their ratio, and the largest difference between the two per-request
log-likelihoods.

    uv run python tools/bench/eval_throughput.py           # 100 instances per task, 5-shot
    uv run python tools/bench/eval_throughput.py --quick   # about a minute: 40 per task, 1-shot
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT.parent / "shared" / "data" / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
PEER_VENV = Path(os.environ.get("OLMO_EVAL_BENCH_VENV", "/tmp/bench-peer-lmeval"))
PEER_PACKAGES = ["lm-eval[hf]==0.4.13", "torch==2.15.0", "transformers==5.24.0"]

PEER_SCRIPT = r'''
import json, sys, time
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

args = json.load(open(sys.argv[1]))
torch.manual_seed(0)
lm = HFLM(pretrained=args["model"], device=args["device"], dtype="float32", batch_size=args["batch_size"],
          softmax_dtype=args["softmax_dtype"])
reqs = [Instance("loglikelihood", {}, (c, k), i) for i, (c, k) in enumerate(args["requests"])]
lm.loglikelihood(reqs[:args["warmup"]])
start = time.perf_counter()
out = lm.loglikelihood(reqs)
seconds = time.perf_counter() - start
json.dump({"seconds": seconds, "loglikelihoods": [float(r[0]) for r in out]}, open(sys.argv[2], "w"))
'''


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


def ensure_peer() -> Path:
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import lm_eval.models.huggingface"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing lm-eval into {PEER_VENV} ...", flush=True)
    subprocess.run(["uv", "venv", "-q", str(PEER_VENV), "--python", "3.11"], check=True)
    subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), *PEER_PACKAGES], check=True)
    return python


def compile_requests(limit: int, shots: int) -> list[tuple[str, list]]:
    from olmo_eval.requests_file import compile_task
    from olmo_eval.tasks import get_task

    return [(name, compile_task(get_task(name, limit=limit, num_shots=shots))) for name in ("arc_easy", "hellaswag")]


def run_ours(model_dir: Path, requests: list[tuple[str, str]], device: str, warmup: int) -> tuple[float, list[float]]:
    import torch
    from transformers import AutoModelForCausalLM

    from olmo_eval.models import HFCausalLM
    from olmo_eval.scoring import TokenRequest, score_requests
    from olmo_eval.tokenizer import encode_pairs, load_tokenizer

    model = HFCausalLM(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device).eval())
    tok = load_tokenizer(model_dir)

    def score(reqs: list[tuple[str, str]]) -> list[float]:
        pairs = encode_pairs(tok, reqs, model.eos_token_id)  # tokenizing is timed, as lm-eval's is
        return score_requests(model, [TokenRequest(c, k) for c, k in pairs]).logprob.tolist()

    score(requests[:warmup])
    start = time.perf_counter()
    lls = score(requests)
    return time.perf_counter() - start, lls


def run_peer(python: Path, model_dir: Path, requests: list[tuple[str, str]], device: str, batch_size: int,
             warmup: int, work: Path, softmax_dtype: str | None = None) -> tuple[float, list[float]]:
    script, args_file, out_file = work / "peer.py", work / "peer_args.json", work / "peer_out.json"
    script.write_text(PEER_SCRIPT)
    args_file.write_text(json.dumps({"model": str(model_dir), "device": device, "batch_size": batch_size,
                                     "warmup": warmup, "requests": requests,
                                     "softmax_dtype": softmax_dtype}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run([str(python), str(script), str(args_file), str(out_file)], check=True, env=env)
    out = json.loads(out_file.read_text())
    return out["seconds"], out["loglikelihoods"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 instances per task, 1-shot (about a minute)")
    parser.add_argument("--limit", type=int, default=None, help="instances per task (default 100, quick 40)")
    parser.add_argument("--shots", type=int, default=None, help="few-shot examples (default 5, quick 1)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16, help="lm-eval's batch size")
    args = parser.parse_args()
    limit = args.limit or (40 if args.quick else 100)
    shots = args.shots if args.shots is not None else (1 if args.quick else 5)

    python = ensure_peer()
    tasks = compile_requests(limit, shots)
    requests = [(r.context, r.continuation) for _, t in tasks for r in t.requests]
    n_instances = sum(len(t.instances) for _, t in tasks)
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        model_dir = work / "tiny-olmo-hf"
        make_model(model_dir, args.hidden, args.layers)
        print(f"{n_instances} instances ({', '.join(f'{n}: {len(t.instances)}' for n, t in tasks)}), "
              f"{len(requests)} requests, {shots}-shot, OlmoForCausalLM d={args.hidden} L={args.layers}, "
              f"{args.device}", flush=True)
        peer_s, peer_ll = run_peer(python, model_dir, requests, args.device, args.batch_size, 16, work)
        print(f"lm-eval {PEER_PACKAGES[0]} HFLM: {peer_s:.2f} s, {n_instances / peer_s:.2f} instances/s", flush=True)
        ours_s, ours_ll = run_ours(model_dir, requests, args.device, 16)
        print(f"olmo-eval scoring kernel:       {ours_s:.2f} s, {n_instances / ours_s:.2f} instances/s", flush=True)
        # lm-eval sums float32 token log-probs; over a long continuation (-10.8 nats a token for a random
        # model) that alone moves a request's sum by ~1e-4. Its softmax_dtype=float64 option removes that
        # rounding (untimed pass), which is what the 1e-4 agreement is checked against.
        _, peer_ll64 = run_peer(python, model_dir, requests, args.device, args.batch_size, 1, work, "float64")
    diff = max(abs(a - b) for a, b in zip(ours_ll, peer_ll64))
    diff32 = max(abs(a - b) for a, b in zip(ours_ll, peer_ll))
    ratio = peer_s / ours_s
    print(f"largest per-request log-likelihood difference over {len(requests)} requests: {diff:.2e} "
          f"(lm-eval with float64 softmax), {diff32:.2e} (lm-eval default float32)")
    print(f"RESULT eval_throughput ratio={ratio:.2f} ours_inst_s={n_instances / ours_s:.2f} "
          f"peer_inst_s={n_instances / peer_s:.2f} max_ll_diff={diff:.2e} max_ll_diff_fp32_peer={diff32:.2e} "
          f"instances={n_instances}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
