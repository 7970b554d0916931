"""Training losses as pure functions of log-probabilities."""

from open_instruct.losses.dpo import DPO_LOSSES, PreferenceLogps, dpo_loss, register_dpo_loss
from open_instruct.losses.sft import sft_loss_sum

__all__ = ["DPO_LOSSES", "PreferenceLogps", "dpo_loss", "register_dpo_loss", "sft_loss_sum"]
