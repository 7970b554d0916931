"""On-policy preference data for DPO: sample from the model being adapted, verify, pair, cache.

``build_preferences(checkpoint, tasks, cache_dir, cfg)`` samples ``cfg.samples_per_prompt`` responses
per task prompt from the checkpoint, scores each with ``open_instruct.tasks.check_response`` (the
task's own verifier), pairs verified against failed responses (:mod:`open_instruct.onpolicy.pairing`)
and writes, under ``cache_dir/<key>/``:

* ``pairs.jsonl``: the pairs in open-instruct's format (``prompt``/``chosen``/``rejected``, ``id``,
  ``source``), ready for ``data.sources`` of a DPO run;
* ``samples.jsonl``: every sampled response with its verdict (what the pairs were drawn from);
* ``stats.json``: counts per family (prompts, samples, verified samples, pairs, ties).

``key`` is the SHA-256 of what decides the result: the weights (the checkpoint's model files and
model config), the prompts, the tokenizer and every sampling and pairing setting. The folder is
written under a temporary name and renamed when complete, so a rerun with the same inputs (a
resumed pipeline) reuses it and a killed build leaves nothing that looks finished."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from open_instruct.onpolicy.pairing import PairingConfig, outcome, pair_responses
from open_instruct.tasks import read_examples

#: bump when sampling or pairing changes what the same inputs produce
FORMAT_VERSION = 1


@dataclass
class OnPolicyConfig:
    """``samples_per_prompt``: k responses per prompt (Tulu 3 rates 4 per prompt on-policy and off);
    ``prompts``: use the first N task examples (null: all); see :mod:`open_instruct.onpolicy.pairing`
    for ``pairs_per_prompt`` and ``gold_when_all_fail``."""

    samples_per_prompt: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 32
    seed: int = 0
    batch_size: int = 64
    pairs_per_prompt: int = 1
    gold_when_all_fail: bool = False
    prompts: int | None = None
    template: str = "tulu"

    def pairing(self) -> PairingConfig:
        return PairingConfig(pairs_per_prompt=self.pairs_per_prompt, gold_when_all_fail=self.gold_when_all_fail,
                             seed=self.seed)


@dataclass
class OnPolicyResult:
    pairs: Path
    samples: Path
    key: str
    stats: dict[str, Any]
    reused: bool


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or a run folder's latest valid checkpoint."""
    from olmo_core.checkpoint.manager import latest_checkpoint

    p = Path(path)
    if (p / "manifest.json").is_file():
        try:
            if json.loads((p / "manifest.json").read_text()).get("format") == "olmo-core/checkpoint":
                return p
        except (OSError, ValueError, AttributeError):
            pass
    ckpt = latest_checkpoint(p) if p.is_dir() else None
    if ckpt is None:
        raise FileNotFoundError(f"{path}: neither an olmo-core checkpoint nor a run folder holding a valid one")
    return ckpt


def weights_digest(checkpoint: Path) -> str:
    """SHA-256 over the checkpoint's model files (as its manifest lists and verifies them) and its
    model config: the training state (``train/``) and the run config's paths do not change the model."""
    from olmo_core.checkpoint.model_io import read_model_config
    from olmo_core.interfaces import validate_checkpoint

    manifest = validate_checkpoint(checkpoint)
    files = {rel: info["sha256"] for rel, info in sorted(manifest.files.items())
             if not rel.startswith("train/") and rel != "config.json"}
    body = json.dumps({"files": files, "model": read_model_config(checkpoint).to_dict()}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def prompts_digest(examples: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of what sampling and scoring read of each example: id, prompt turns, gold, verifier."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps({k: ex.get(k) for k in ("id", "messages", "verifier", "answer")},
                            sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


def cache_key(weights: str, prompts: str, tokenizer: str, cfg: OnPolicyConfig) -> str:
    body = {"version": FORMAT_VERSION, "weights": weights, "prompts": prompts, "tokenizer": tokenizer,
            "settings": dataclasses.asdict(cfg)}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


def load_policy(checkpoint: Path):
    """The checkpoint's model, validated against its manifest, on the GPU if there is one, in eval mode."""
    import torch

    from olmo_core.checkpoint.model_io import load_model_checkpoint

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return load_model_checkpoint(checkpoint, device).eval()


Score = Callable[[dict[str, Any], str], Any]


def score_and_pair(examples: Sequence[dict[str, Any]], responses: Sequence[Sequence[str]], cfg: OnPolicyConfig,
                   score: Score) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """(pairs, sample records, stats) of sampled ``responses`` (k per example)."""
    pairing = cfg.pairing()
    pairs: list[dict] = []
    samples: list[dict] = []
    per_family: dict[str, Counter] = defaultdict(Counter)
    for ex, texts in zip(examples, responses, strict=True):
        verdicts = [score(ex, t) for t in texts]
        fam = per_family[ex.get("family", "") or "all"]
        got = pair_responses(ex, texts, verdicts, pairing)
        pairs += got
        fam["prompts"] += 1
        fam["samples"] += len(texts)
        fam["verified"] += sum(bool(v.correct) for v in verdicts)
        fam[outcome(verdicts)] += 1
        fam["pairs"] += len(got)
        samples.append({"id": ex["id"], "family": ex.get("family", ""),
                        "responses": [{"text": t, "correct": bool(v.correct), "score": float(v.score)}
                                      for t, v in zip(texts, verdicts)]})
    families = {f: {**{k: 0 for k in ("prompts", "samples", "verified", "pairs", "mixed", "all_correct",
                                      "all_failed")}, **c} for f, c in sorted(per_family.items())}
    for c in families.values():
        c["sample_accuracy"] = c["verified"] / c["samples"] if c["samples"] else 0.0
    total = {k: sum(c[k] for c in families.values()) for k in ("prompts", "samples", "verified", "pairs", "mixed",
                                                               "all_correct", "all_failed")}
    total["sample_accuracy"] = total["verified"] / total["samples"] if total["samples"] else 0.0
    return pairs, samples, {**total, "families": families}


def build_preferences(checkpoint: str | Path, tasks: str | Path | Sequence[dict[str, Any]], cache_dir: str | Path,
                      cfg: OnPolicyConfig = OnPolicyConfig(), *, score: Score | None = None,
                      log: Callable[[str], None] = print) -> OnPolicyResult:
    """Sample, score, pair and cache (see the module docstring); reuse the cache when the key matches."""
    from olmo_core.fileio import atomic_path
    from open_instruct.tokenizer import load_tokenizer

    if score is None:
        from open_instruct.tasks import check_response as score
    ckpt = resolve_checkpoint(checkpoint)
    examples = read_examples(tasks, cfg.prompts) if isinstance(tasks, str | Path) else list(tasks)[:cfg.prompts]
    tokenizer = load_tokenizer()
    key = cache_key(weights_digest(ckpt), prompts_digest(examples), tokenizer.fingerprint(), cfg)
    folder = Path(cache_dir) / key
    if (folder / "stats.json").is_file():
        stats = json.loads((folder / "stats.json").read_text())
        log(f"on-policy pairs: reusing {folder} ({stats['pairs']} pairs)")
        return OnPolicyResult(folder / "pairs.jsonl", folder / "samples.jsonl", key, stats, reused=True)

    t0 = time.perf_counter()
    model = load_policy(ckpt)
    n = len(examples) * cfg.samples_per_prompt
    log(f"on-policy sampling: {len(examples)} prompts x {cfg.samples_per_prompt} from {ckpt}")
    marks = {n * q // 4 for q in range(1, 5)}

    def progress(done: int, total: int) -> None:
        if any(done >= m > done - cfg.batch_size for m in marks):
            log(f"  sampled {done}/{total} ({time.perf_counter() - t0:.0f} s)")

    responses = sample_responses_for(model, tokenizer, examples, cfg, progress)
    pairs, samples, stats = score_and_pair(examples, responses, cfg, score)
    stats.update({"key": key, "checkpoint": str(ckpt), "seconds": round(time.perf_counter() - t0, 2),
                  "settings": dataclasses.asdict(cfg)})
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        _write_jsonl(tmp / "pairs.jsonl", pairs)
        _write_jsonl(tmp / "samples.jsonl", samples)
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1))
    log(f"on-policy pairs: {stats['pairs']} from {stats['prompts']} prompts (sampled accuracy "
        f"{stats['sample_accuracy']:.3f}; ties: {stats['all_correct']} all verified, {stats['all_failed']} all "
        f"failed) in {stats['seconds']:.0f} s -> {folder}")
    return OnPolicyResult(folder / "pairs.jsonl", folder / "samples.jsonl", key, stats, reused=False)


def sample_responses_for(model, tokenizer, examples, cfg: OnPolicyConfig, progress=None) -> list[list[str]]:
    from open_instruct.onpolicy.sampling import sample_responses

    return sample_responses(model, tokenizer, examples, cfg.samples_per_prompt, temperature=cfg.temperature,
                            top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed,
                            batch_size=cfg.batch_size, template=cfg.template, progress=progress)


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
