"""Running model-written programs in isolation (see :mod:`olmo_eval.sandbox.programs`)."""

from olmo_eval.sandbox.programs import (
    Outcome,
    ProgramResult,
    SandboxConfig,
    SandboxError,
    check_sandbox,
    run_program,
    run_programs,
)

__all__ = ["Outcome", "ProgramResult", "SandboxConfig", "SandboxError", "check_sandbox", "run_program",
           "run_programs"]
