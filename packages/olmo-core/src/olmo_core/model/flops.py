"""Training FLOPs per token, the usual estimate (Kaplan et al. 2020; PaLM appendix B):

    flops_per_token = 6 * N_matmul + 12 * n_layers * d_model * seq_len

``N_matmul`` counts the parameters that take part in a matrix multiply for each token: every block
parameter (the active ones for a sparse feed-forward) plus the output head; the input embedding is a
lookup and is left out (a tied matrix is counted once, as the head). 6 = 2 (multiply-add) x 3
(forward, plus backward for activations and weights). The second term is attention's QK^T and
attention-times-V products, counted without the causal halving as in PaLM."""

from __future__ import annotations


def flops_per_token(num_matmul_params: int, n_layers: int, d_model: int, seq_len: int) -> int:
    return 6 * int(num_matmul_params) + 12 * int(n_layers) * int(d_model) * int(seq_len)
