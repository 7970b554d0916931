"""The end-to-end pipeline: raw documents to an evaluated, adapted, exported model (``olmo-stack run``)."""

from olmo_stack.pipeline.config import StackConfig, load_stack_config
from olmo_stack.pipeline.run import run_stack

__all__ = ["StackConfig", "load_stack_config", "run_stack"]
