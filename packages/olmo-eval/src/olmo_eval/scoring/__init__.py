"""The one scoring kernel shared by the offline runner, the in-loop evaluator and perplexity."""

from olmo_eval.scoring.kernel import Scores, TokenRequest, score_requests

__all__ = ["Scores", "TokenRequest", "score_requests"]
