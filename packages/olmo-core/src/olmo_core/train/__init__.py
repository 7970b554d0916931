"""The trainer: generic over batches and losses, with callbacks, exact resume and metrics."""
