"""Process groups and parallelism applied to a model from outside (FSDP2, DDP, activation
checkpointing, torch.compile), torchtitan style: the model code stays math only."""
