"""A small GRPO run for the resume test, as its own process: ``python grpo_child.py INIT TASKS RUN_DIR``.

Three steps, a checkpoint after each, two iterations per rollout batch (so step 2 trains on the batch
drawn at step 1 again, at a ratio away from 1), a KL term (so the reference model is built), the toy
reward of ``tasks_fixture``."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks_fixture import toy_reward  # noqa: E402

from open_instruct.grpo.loader import RolloutConfig  # noqa: E402
from open_instruct.train.grpo import GRPOConfig, run  # noqa: E402

torch.set_num_threads(2)
init, tasks, run_dir = sys.argv[1:4]
cfg = GRPOConfig(init_from=init, tasks=tasks, beta=0.04, loss_type="grpo",
                 rollout=RolloutConfig(group_size=4, max_new_tokens=6, num_iterations=2, temperature=0.9))
cfg.batch.global_batch_size, cfg.batch.micro_batch_size = 2, 1
cfg.data.max_length = 256
cfg.optim.lr = 1e-3
cfg.trainer.run_dir = run_dir
cfg.trainer.max_steps = 3
cfg.trainer.checkpoint.every = 1
cfg.trainer.callbacks = {"metrics_jsonl": {}}
run(cfg, reward_fn=toy_reward)
