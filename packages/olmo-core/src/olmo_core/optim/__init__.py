"""AdamW with OLMo's parameter groups, learning-rate schedules and gradient clipping."""
