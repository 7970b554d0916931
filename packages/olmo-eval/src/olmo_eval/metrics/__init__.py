"""Metrics, all pure functions: ranked classification and perplexity from log-likelihoods
(:mod:`.loglikelihood`), and the answer extraction and matching of the generation tasks
(:mod:`.gsm8k_answer`, :mod:`.math_answer`, :mod:`.squad`, :mod:`.lambada_answer`, :mod:`.pass_at_k`)."""

from olmo_eval.metrics.loglikelihood import (
    NORMALIZATIONS,
    bootstrap_ci,
    choice_scores,
    instance_metrics,
    mean_metrics,
    perplexity_summary,
)

__all__ = ["NORMALIZATIONS", "bootstrap_ci", "choice_scores", "instance_metrics", "mean_metrics",
           "perplexity_summary"]
