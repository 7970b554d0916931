"""Routing analyses (OLMoE paper, section 5) from top-k routing on a probe set: router saturation
between checkpoints, expert co-activation, domain and vocabulary specialization."""
