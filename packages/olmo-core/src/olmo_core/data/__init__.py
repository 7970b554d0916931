"""Data: reading tokenized datasets and building training instances."""
