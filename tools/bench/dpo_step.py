"""Benchmark: open-instruct's DPO against TRL's ``DPOTrainer`` on the CPU, same model, same pairs.

One tiny OLMo (olmo-core init, converted with ``olmo_core.convert.to_hf`` so TRL loads the very same
weights as an HF ``OlmoForCausalLM``), the first pairs of ``../shared/data/instruct/dpo.jsonl.zst``
rendered with the Tulu template (TRL gets the rendered prompt text and the completions; its token
ids are checked against ours), sigmoid DPO with beta 0.1, AdamW (0.9, 0.999, eps 1e-8, no weight
decay), a constant learning rate, no clipping, the pairs in file order, float32.

* ours: olmo-core ``Trainer`` + ``DPOLoss`` on packed rows, reference log-probs from the cache.
  Its time includes computing that cache for the pairs it trains on (one reference forward each);
  the train-steps-only figure is printed too.
* TRL (own venv, ``/tmp/bench-peer-trl``, made by this script with ``uv``): default DPOTrainer
  (padded batches, reference forward every step), timed from the first to the last step.

tokens/s counts real tokens (prompt + completion, both sides, no padding) per second for both.
Prints the first steps' losses side by side and ends with ``RESULT dpo_step ratio=R`` (R > 1: ours
is faster).

    uv run python tools/bench/dpo_step.py [--quick] [--pairs 256] [--batch 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "instruct" / "dpo.jsonl.zst"
PEER = Path(os.environ.get("BENCH_PEER_TRL", "/tmp/bench-peer-trl"))

PEER_SCRIPT = r'''
import json, sys, time
import torch
cfg = json.load(open(sys.argv[1]))
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
from datasets import Dataset
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, TrainerCallback
from torch.utils.data import SequentialSampler
from trl import DPOConfig, DPOTrainer
import trl
tok = PreTrainedTokenizerFast(tokenizer_file=cfg["tokenizer"], eos_token="<|endoftext|>", pad_token="<|padding|>")
model = AutoModelForCausalLM.from_pretrained(cfg["hf_dir"], dtype=torch.float32)
ref = AutoModelForCausalLM.from_pretrained(cfg["hf_dir"], dtype=torch.float32)
ds = Dataset.from_list(cfg["pairs"])

class InOrder(DPOTrainer):
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)

times, losses = [], []
class Clock(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        times.append(time.perf_counter() - self.t)
    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            losses.append(float(logs["loss"]))

args = DPOConfig(output_dir=cfg["out"], per_device_train_batch_size=cfg["batch"], gradient_accumulation_steps=1,
                 learning_rate=cfg["lr"], lr_scheduler_type="constant", warmup_steps=0, max_steps=cfg["steps"],
                 beta=cfg["beta"], loss_type=["sigmoid"], logging_steps=1, report_to=[], save_strategy="no",
                 max_length=cfg["max_length"], use_cpu=True, bf16=False, fp16=False, weight_decay=0.0,
                 adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, max_grad_norm=0.0, seed=0,
                 dataloader_drop_last=True, disable_tqdm=True, logging_first_step=True)
trainer = InOrder(model=model, ref_model=ref, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
row = trainer.train_dataset[0]
ids = {k: list(row[k]) for k in ("prompt_ids", "chosen_ids", "rejected_ids") if k in row}
trainer.train()
print("PEER_JSON " + json.dumps({"trl": trl.__version__, "times": times, "losses": losses, "first_ids": ids}))
'''


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_peer() -> Path:
    """A venv with TRL that reuses the workspace's torch/transformers/datasets (a .pth file), so
    nothing large is downloaded and the workspace lock is untouched."""
    py = PEER / "bin" / "python"
    check = [str(py), "-c", "import trl, accelerate, psutil; from trl import DPOTrainer"]
    if py.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return py
    log(f"creating the TRL venv at {PEER} ...")
    subprocess.run(["uv", "venv", "-q", str(PEER), "--python", sys.executable], check=True)
    site = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (PEER / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" /
     "workspace.pth").write_text(site + "\n")
    subprocess.run(["uv", "pip", "install", "-q", "--python", str(py), "--no-deps", "trl", "accelerate", "psutil"],
                   check=True)
    subprocess.run(check, check=True)
    return py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer pairs and steps (about a minute)")
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show-steps", type=int, default=5)
    args = ap.parse_args()
    if args.quick:
        args.pairs, args.batch = 64, 8

    import torch

    torch.set_num_threads(args.threads)
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig, build_optimizer
    from olmo_core.tokenizer import default_tokenizer_path
    from olmo_core.train.trainer import Trainer, TrainerConfig
    from open_instruct.data.sources import parse_records
    from open_instruct.data.template import get_template
    from open_instruct.data.tokenize import tokenize_dpo
    from open_instruct.ref_cache import compute_reference_logps
    from open_instruct.tokenizer import load_tokenizer
    from open_instruct.train.batches import PackedBatches
    from open_instruct.train.objectives import DPOLoss

    peer_py = ensure_peer()
    work = Path(tempfile.mkdtemp(prefix="bench-dpo-"))
    cfg = get_model_preset("tiny").replace(max_sequence_length=1024)
    model = OLMo(cfg)
    model.init_weights(0)
    save_model_checkpoint(model, work / "ckpt")
    to_hf(work / "ckpt", work / "hf")

    import io

    import zstandard

    rows = []
    with open(DATA, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        for line in text:
            rows.append(json.loads(line))
            if len(rows) >= args.pairs * 2:
                break
    tok = load_tokenizer()
    tulu = get_template("tulu")
    pairs = parse_records(rows, "dpo", where=str(DATA))
    data = tokenize_dpo(pairs, tok, tulu, args.max_length)
    kept = [p for p in pairs if max(len(tulu.encode(p.prompt + s, tok, train_from=len(p.prompt)))
                                    for s in (p.chosen, p.rejected)) <= args.max_length]
    kept, n = kept[: args.pairs], min(args.pairs, len(kept))
    steps = n // args.batch
    n = steps * args.batch
    real_tokens = int(data.lengths[: 2 * n].sum())
    log(f"{n} pairs, {steps} steps of {args.batch}, {real_tokens:,} real tokens, {args.threads} threads")

    # -- ours ---------------------------------------------------------------------------------------
    from open_instruct.data.tokenize import TokenizedData

    sub = TokenizedData("dpo", data.input_ids[: int(data.offsets[2 * n])], data.labels[: int(data.offsets[2 * n])],
                        data.offsets[: 2 * n + 1], data.source[: 2 * n])
    t0 = time.perf_counter()
    ref = compute_reference_logps(model, sub, max_length=args.max_length, rows_per_batch=4)
    t_ref = time.perf_counter() - t0
    loader = PackedBatches(sub, global_batch_size=args.batch, micro_batch_size=args.batch, max_length=args.max_length,
                           shuffle=False, epochs=1, reference=ref)
    ocfg = OptimConfig(lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0,
                       scheduler="constant", max_grad_norm=None)
    trainer = Trainer(model=model, optimizer=build_optimizer(model, ocfg), loss_fn=DPOLoss("dpo", beta=0.1),
                      loader=loader, cfg=TrainerConfig(run_dir=str(work / "run"), max_steps=steps, resume="none",
                                                       digest_batches=False, callbacks={}), optim_cfg=ocfg)
    ours_losses = []
    t0 = time.perf_counter()
    for mbs in loader:
        ours_losses.append(trainer.train_step(mbs)["train/loss"])
        trainer.step += 1
        if trainer.step >= steps:
            break
    t_train = time.perf_counter() - t0
    log(f"ours: reference {t_ref:.1f}s, {steps} steps {t_train:.1f}s; losses {[round(x, 5) for x in ours_losses]}")

    # -- TRL ----------------------------------------------------------------------------------------
    peer_cfg = {"hf_dir": str(work / "hf"), "tokenizer": str(default_tokenizer_path()), "out": str(work / "trl"),
                "batch": args.batch, "steps": steps, "lr": args.lr, "beta": 0.1, "threads": args.threads,
                "max_length": 2 * args.max_length,
                "pairs": [{"prompt": tulu.render(p.prompt, tok, add_generation_prompt=True),
                           "chosen": p.chosen[-1].content, "rejected": p.rejected[-1].content} for p in kept[:n]]}
    (work / "peer.json").write_text(json.dumps(peer_cfg))
    (work / "peer.py").write_text(PEER_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": str(args.threads)}
    log(f"TRL run: log in {work / 'peer.log'}")
    with open(work / "peer.log", "w") as peer_log:
        proc = subprocess.run([str(peer_py), str(work / "peer.py"), str(work / "peer.json")], stdout=subprocess.PIPE,
                              stderr=peer_log, text=True, env=env)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("PEER_JSON ")), None)
    if proc.returncode != 0 or line is None:
        log(proc.stdout[-3000:] + (work / "peer.log").read_text()[-6000:])
        raise SystemExit("TRL run failed")
    peer = json.loads(line[len("PEER_JSON "):])

    # the same token ids on both sides
    c_ids, c_lab = sub.sequence(0)
    ours_prompt = c_ids[: int(c_lab.argmax())].tolist()
    ours_chosen = c_ids[int(c_lab.argmax()):].tolist()
    fi = peer["first_ids"]
    same_ids = fi.get("prompt_ids") == ours_prompt and fi.get("chosen_ids") == ours_chosen
    t_peer = sum(peer["times"])
    peer_losses = peer["losses"]
    if len(peer_losses) > steps:  # logging_first_step logs step 1 twice in some versions
        peer_losses = peer_losses[-steps:]

    print(f"TRL {peer['trl']} vs open-instruct, {n} pairs, batch {args.batch}, {steps} steps, CPU "
          f"{args.threads} threads; token ids identical: {same_ids}")
    print(f"{'step':>4} {'ours':>10} {'TRL':>10} {'|diff|':>9}")
    for i in range(min(args.show_steps, steps, len(peer_losses))):
        print(f"{i + 1:>4} {ours_losses[i]:>10.6f} {peer_losses[i]:>10.6f} {abs(ours_losses[i] - peer_losses[i]):>9.2e}")
    ours_tps = real_tokens / (t_ref + t_train)
    ours_train_tps = real_tokens / t_train
    peer_tps = real_tokens / t_peer
    print(f"ours: {ours_tps:,.0f} tok/s incl. reference cache ({t_ref:.1f}s ref + {t_train:.1f}s train); "
          f"train steps only {ours_train_tps:,.0f} tok/s")
    print(f"TRL:  {peer_tps:,.0f} tok/s ({t_peer:.1f}s)")
    ratio = ours_tps / peer_tps
    diff0 = abs(ours_losses[0] - peer_losses[0]) if peer_losses else float("nan")
    print(f"RESULT dpo_step ratio={ratio:.2f} ours_tok_s={ours_tps:.0f} trl_tok_s={peer_tps:.0f} "
          f"train_only_ratio={ours_train_tps / peer_tps:.2f} step1_loss_diff={diff0:.2e} same_ids={same_ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
