"""The generation-based suite for adapted models (GSM8K, MATH-500, HumanEval, MBPP, Natural
Questions, LAMBADA): ``generate_until`` requests, answer extraction, a sandbox for model-written
code, and a resumable runner."""

from olmo_eval.generation.chat import tulu_chat_prompt, user_prompt
from olmo_eval.generation.models import (
           HFGenerator,
           NaiveGenerator,
           OlmoCoreGenerator,
           TextCodec,
           load_generator,
)
from olmo_eval.generation.requests import GenerateUntil, generate_until
from olmo_eval.generation.runner import run_generation_suite, run_generation_task
from olmo_eval.generation.sandbox import Outcome, SandboxConfig, run_program, run_programs
from olmo_eval.generation.tasks import GEN6, GENERATION_TASKS, get_generation_task

__all__ = ["GEN6", "GENERATION_TASKS", "GenerateUntil", "HFGenerator", "NaiveGenerator", "OlmoCoreGenerator",
           "Outcome", "SandboxConfig", "TextCodec", "generate_until", "get_generation_task", "load_generator",
           "run_generation_suite", "run_generation_task", "run_program", "run_programs", "tulu_chat_prompt",
           "user_prompt"]
