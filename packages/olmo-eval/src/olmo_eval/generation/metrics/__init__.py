"""Answer extraction, normalisation and scoring: pure functions, one module per answer kind."""
