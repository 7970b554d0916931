"""GRPO (RL with verifiable rewards) on olmo-core's Trainer.

* ``open_instruct.grpo.loss``: ``group_advantages``, ``grpo_loss`` (pure functions, sum/count form).
* ``open_instruct.grpo.objective``: ``GRPOLoss``, the Trainer's loss object (registered as ``grpo``).
* ``open_instruct.grpo.rollouts``: sampling, scoring, collation and the rollout log.
* ``open_instruct.grpo.loader``: ``RolloutBatches`` (the Trainer's batch source) and ``RolloutMetrics``.
"""

from open_instruct.grpo.loss import LOSS_TYPES, group_advantages, grpo_loss

__all__ = ["LOSS_TYPES", "group_advantages", "grpo_loss"]
