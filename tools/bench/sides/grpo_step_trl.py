"""TRL side of ``grpo_step.py``: ``trl.GRPOTrainer``, run in the pinned peer environment (stdlib, torch,
transformers, datasets and trl only; nothing from the workspace but the bench's own stdlib reward,
``grpo_reward.py``, loaded by path).

Setup (untimed) loads the converted HF ``OlmoForCausalLM`` (float32, SDPA) and builds one
``GRPOTrainer`` (which loads its own reference model from the same folder, since ``beta`` > 0), and
scores a fixed probe sequence with the initial weights (the logits check). A round is one short GRPO
run from the initial weights: weights reset, a fresh optimizer, then ``trainer.train()`` for ``steps``
optimizer steps; every step samples ``group`` completions of exactly ``completion_length`` tokens for
each of its ``prompts_per_step`` prompts (``min_new_tokens == max_new_tokens``: eos can never be
sampled, so every completion has the same length as ours), scores them with the bench reward, runs
the reference model over them (k3 KL), and takes one clipped-ratio policy-gradient step.

The output: the digest of the prompt token ids TRL's tokenizer made (in step order, each repeated
``group`` times, as the trainer saw them), the per-step counts of sequences, prompt tokens and
completion tokens (read from the masks the loss uses), the sequences the reference model scored, the
optimizer steps taken, and the probe's log-probs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from typing import Any


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup(config: dict[str, Any]):
    import torch

    torch.set_num_threads(int(config["threads"]))
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    from trl import GRPOConfig, GRPOTrainer

    reward = _load("grpo_reward", config["reward_module"])
    profiling = _load("grpo_profile", config["profile_module"])
    tok = PreTrainedTokenizerFast(tokenizer_file=config["tokenizer"], eos_token="<|endoftext|>",
                                  pad_token="<|padding|>")
    model = AutoModelForCausalLM.from_pretrained(config["hf_dir"], dtype=torch.float32, attn_implementation="sdpa")
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with open(config["rows"]) as f:
        rows = json.load(f)  # [{"prompt": rendered text, "answer": gold}]
    group, per_step, steps = int(config["group"]), int(config["prompts_per_step"]), int(config["steps"])
    length = int(config["completion_length"])
    if len(rows) != per_step * steps:
        raise ValueError(f"{len(rows)} prompts for {steps} steps of {per_step}")

    state: dict[str, Any] = {"prompt_ids": [], "steps": [], "ref_sequences": 0}

    def bench_reward(prompts, completions, answer, **_):
        return [reward.score(c, a) for c, a in zip(completions, answer)]

    class BenchGRPO(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            pm, cm = out["prompt_mask"], out["completion_mask"]
            state["prompt_ids"].extend([row[m.bool()].tolist() for row, m in zip(out["prompt_ids"], pm)])
            state["steps"].append({"sequences": int(pm.shape[0]), "prompt_tokens": int(pm.sum()),
                                   "completion_tokens": int(cm.sum()),
                                   "completion_lengths": sorted(set(cm.sum(1).tolist()))})
            return out

    args = GRPOConfig(
        output_dir=config["out"], per_device_train_batch_size=per_step * group, gradient_accumulation_steps=1,
        num_generations=group, max_completion_length=length, temperature=float(config["temperature"]),
        top_p=1.0, top_k=0, generation_kwargs={"min_new_tokens": length}, beta=float(config["beta"]),
        epsilon=float(config["clip"]), loss_type=config["loss_type"], scale_rewards="group", num_iterations=1,
        learning_rate=float(config["lr"]), lr_scheduler_type="constant", warmup_steps=0, max_steps=steps,
        weight_decay=0.0, adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, max_grad_norm=float(config["max_grad_norm"]),
        shuffle_dataset=False, seed=int(config["seed"]), use_cpu=True, bf16=False, fp16=False,
        gradient_checkpointing=bool(config["gradient_checkpointing"]), report_to=[], save_strategy="no", logging_steps=steps,
        disable_tqdm=True, log_completions=False, mask_truncated_completions=False,
        use_transformers_continuous_batching=bool(config["continuous_batching"]))
    trainer = BenchGRPO(model=model, reward_funcs=[bench_reward], args=args,
                        train_dataset=Dataset.from_list(rows), processing_class=tok)

    def count(_module, inputs, kwargs):
        ids = kwargs.get("input_ids", inputs[0] if inputs else None)
        state["ref_sequences"] += int(ids.shape[0])

    trainer.ref_model.register_forward_pre_hook(count, with_kwargs=True)

    phases = profiling.Phases("trl")
    if profiling.ENABLED:  # the trainer's methods that do one phase each
        trainer._generate_single_turn = phases.wrap("generate", trainer._generate_single_turn)
        trainer._calculate_rewards = phases.wrap("reward", trainer._calculate_rewards)
        trainer._get_per_token_logps_and_entropies = phases.wrap(
            "reference logprobs", trainer._get_per_token_logps_and_entropies,
            when=lambda m, *a, **k: m is trainer.ref_model)
        trainer.compute_loss = phases.wrap("policy forward + loss", trainer.compute_loss)

    probe = torch.tensor([config["probe"]], dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=probe).logits[..., :int(config["vocab"])].float()  # the real vocabulary
    probe_logps = torch.log_softmax(logits[0, :-1], -1).gather(-1, probe[0, 1:, None])[:, 0].tolist()
    print(f"trl: GRPOTrainer, gradient_checkpointing={args.gradient_checkpointing}, threads={torch.get_num_threads()}, "
          f"attn={model.config._attn_implementation}, generation="
          f"{'continuous batching' if args.use_transformers_continuous_batching else 'generate (dynamic KV cache)'}")

    def round_fn() -> dict[str, Any]:
        model.load_state_dict(initial)
        model.zero_grad(set_to_none=True)
        state["prompt_ids"], state["steps"], state["ref_sequences"] = [], [], 0
        phases.start()
        trainer.optimizer, trainer.lr_scheduler = None, None
        trainer._buffered_inputs, trainer._step = None, 0
        result = trainer.train()
        units = sum(s["prompt_tokens"] + s["completion_tokens"] for s in state["steps"])
        out = {"prompts": hashlib.sha256(json.dumps(state["prompt_ids"]).encode()).hexdigest(),
               "steps": state["steps"], "optimizer_steps": int(result.global_step),
               "ref_sequences": state["ref_sequences"], "probe_logps": probe_logps}
        if profiling.ENABLED:
            out["profile"] = phases.report()
        return {"units": float(units), "output": out}

    return round_fn
