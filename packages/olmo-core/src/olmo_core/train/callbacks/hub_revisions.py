"""Every K-th checkpoint published as a revision ``step{N}-tokens{M}`` of a local Hugging Face hub repo
(:mod:`olmo_core.convert.hub_revisions`), with a model card naming its step, tokens seen, the data
digest range it trained on and its lineage.

Configured like any callback: ``trainer.callbacks.hub_revisions={every: 25}``. A revision is made at
each checkpoint whose step is a multiple of ``every`` and at the final one, from the checkpoint
folder itself (so it equals the checkpoint, whatever the parallelism), on the main process.

It runs at the default priority, before the checkpointer, so a checkpoint's saved state already holds
its own step's digest and a resumed run continues the chain exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback


@register_callback("hub_revisions")
class HubRevisions(TrainerCallback):
    """``every``: steps between revisions (a multiple of ``checkpoint.every`` makes it every K-th
    checkpoint); ``repo_id``: ``ORG/NAME`` (default ``olmo-stack/<run folder name>``); ``hub_dir``:
    the cache's ``hub`` folder (default ``<run_dir>/hub``, i.e. ``HF_HOME=<run_dir>``)."""

    def __init__(self, every: int = 100, repo_id: str | None = None, hub_dir: str | None = None,
                 tokenizer: str | None = "auto") -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.repo_id, self.hub_dir, self.tokenizer = every, repo_id, hub_dir, tokenizer
        # The data-order record of the steps so far: first and last batch digest, and a chain
        # (sha256(chain + digest) per step) that pins every step's digest in order.
        self.first: tuple[int, str] | None = None
        self.last: tuple[int, str] | None = None
        self.chain = ""
        self.n_digests = 0

    def on_train_start(self, state: TrainerState) -> None:
        # A run killed after a checkpoint but before its revision's ref resumes from that checkpoint
        # and would never pass the step again: publish it now (the write is idempotent).
        if state.step > 0 and state.step % self.every == 0:
            from olmo_core.checkpoint.manager import latest_checkpoint

            ckpt = latest_checkpoint(Path(state.run_dir)) if state.is_main_process else None
            if ckpt is not None and json.loads((ckpt / "manifest.json").read_text()).get("step") == state.step:
                self._export(state, ckpt)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, Any]) -> None:
        digest = metrics.get("data/batch_digest")
        if isinstance(digest, str):
            self.first = self.first or (state.step, digest)
            self.last = (state.step, digest)
            self.chain = hashlib.sha256((self.chain + digest).encode()).hexdigest()
            self.n_digests += 1

    def on_checkpoint(self, state: TrainerState, path: Path) -> None:
        max_steps = getattr(getattr(state, "cfg", None), "max_steps", None)
        if state.step % self.every == 0 or (max_steps is not None and state.step >= max_steps):
            self._export(state, Path(path))

    def _export(self, state: TrainerState, checkpoint: Path) -> None:
        from olmo_core.convert.hub_revisions import RevisionCard, list_revisions, repo_folder, write_revision

        if not state.is_main_process:
            return
        run_dir = Path(state.run_dir)
        hub = Path(self.hub_dir) if self.hub_dir else run_dir / "hub"
        repo_id = self.repo_id or f"olmo-stack/{run_dir.resolve().name}"
        card = RevisionCard(repo_id=repo_id, step=state.step, tokens=state.tokens_seen)
        if (repo_folder(hub, repo_id) / "refs" / card.revision).is_file():
            return  # a resumed run passing a step it already published
        earlier = [r for r in list_revisions(hub, repo_id) if r.step < state.step] if hub.is_dir() else []
        run_config = getattr(state, "run_config", None) or {}
        manifest = checkpoint / "manifest.json"
        card.data = {"first_step": self.first[0] if self.first else None,
                     "first_digest": self.first[1] if self.first else None,
                     "last_step": self.last[0] if self.last else None,
                     "last_digest": self.last[1] if self.last else None,
                     "chain": self.chain or None, "steps_digested": self.n_digests}
        card.lineage = {"checkpoint": str(checkpoint.resolve()),
                        "checkpoint_manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
                        "run_dir": str(run_dir.resolve()),
                        "run_config_sha256": hashlib.sha256(json.dumps(run_config, sort_keys=True, default=str)
                                                            .encode()).hexdigest(),
                        "data_paths": list((run_config.get("data") or {}).get("paths") or []),
                        "previous_revision": earlier[-1].name if earlier else None}
        card.model = {k: v for k, v in (run_config.get("model") or {}).items() if isinstance(v, int | float | str)}
        snapshot = write_revision(hub, card, checkpoint, tokenizer=self.tokenizer)
        print(f"revision {card.revision}: {snapshot}", flush=True)

    def state_dict(self) -> dict[str, Any]:
        return {"first": list(self.first) if self.first else None, "last": list(self.last) if self.last else None,
                "chain": self.chain, "n_digests": self.n_digests}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.first = tuple(state["first"]) if state.get("first") else None  # type: ignore[assignment]
        self.last = tuple(state["last"]) if state.get("last") else None  # type: ignore[assignment]
        self.chain, self.n_digests = str(state.get("chain", "")), int(state.get("n_digests", 0))
