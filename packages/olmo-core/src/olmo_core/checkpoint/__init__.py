"""Checkpoints: model-only (``model_io``) and full training state (sharded DCP or unsharded
safetensors), written atomically with a manifest (``docs/interfaces.md``)."""
