"""Run as an unprivileged user by test_adversarial.py: ``python user_harness.py SRC_DIR`` reads
``{"programs": [...], "config": {...}}`` on stdin and prints the results as JSON. Imports only the
sandbox (stdlib only), so any Python >= 3.11 the user can run will do."""

import json
import sys

sys.path.insert(0, sys.argv[1])

from olmo_eval.sandbox import SandboxConfig, SandboxError, run_programs  # noqa: E402

job = json.load(sys.stdin)
try:
    results = run_programs(job["programs"], SandboxConfig(**job["config"]))
except SandboxError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(0)
print(json.dumps({"results": [{"outcome": r.outcome.value, "returncode": r.returncode, "seconds": r.seconds,
                               "stdout": r.stdout, "stderr": r.stderr} for r in results]}))
