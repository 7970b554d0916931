"""Typed config of the whole pipeline, registered as hydra structured configs with two presets:
``demo`` (the README's main job, at most 15 minutes on a 2-core CPU) and ``smoke`` (the same path,
smaller, for CI). ``--moe`` swaps the dense model for an OLMoE-style one.

The pretraining and adaptation sections *are* olmo-core's and open-instruct's typed run configs,
taken from their presets, so a value goes CLI override -> this config -> the package's config ->
the object it builds, with its default set once (in the package's dataclass or preset); the stack's
presets set only what the stack changes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from olmo_core.config.load import run_preset
from olmo_core.config.schema import RunConfig
from olmo_stack.energy import EnergyConfig
from olmo_stack.pipeline.learning_curve import LearningCurveConfig
from olmo_stack.pipeline.trace import TraceConfig
from open_instruct.onpolicy import OnPolicyConfig
from open_instruct.train.dpo import DPOConfig
from open_instruct.train.grpo import GRPOConfig
from open_instruct.train.presets import RUN_PRESETS
from open_instruct.train.sft import SFTConfig


@dataclass
class DataConfig:
    """``corpus``: ``builtin`` (the sample shipped in olmo_stack/data/corpus) or folders/globs of Dolma
    documents. ``dolma_config``: a dolma-tools pipeline config (``builtin:NAME`` for one in
    olmo_stack/configs, the name of one dolma-tools ships, or a path), run
    with ``dolma_overrides``. ``heldout_every``: one document in N per source, chosen by a hash of its
    id, is kept out of training for perplexity. ``decontaminate``: eval suites whose paragraphs
    training documents must not contain."""

    corpus: list[str] = field(default_factory=lambda: ["builtin"])
    dolma_config: str = "builtin:demo_data"
    dolma_overrides: list[str] = field(default_factory=list)
    processes: int = 2
    #: ``local`` process pool, or ``ray`` for tagging and mixing on a Ray cluster (``ray_address``:
    #: e.g. ``auto`` inside a cluster started with ``ray start``; null starts a local instance)
    executor: str = "local"
    ray_address: str | None = None
    heldout_every: int = 10
    decontaminate: str = "core9"
    max_tokens_per_file: int = 50_000_000


@dataclass
class PretrainConfig(RunConfig):
    """olmo-core's run config itself (every field of :class:`olmo_core.config.schema.RunConfig`, from
    olmo-core's ``tiny`` preset: override e.g. ``pretrain.optim.lr=1e-3`` or
    ``pretrain.trainer.max_steps=500``) plus the in-loop evaluation the stack wires in. The stage sets
    ``data.paths`` and ``trainer.run_dir``; ``--moe`` swaps ``model`` for olmoe's ``olmoe_tiny``."""

    eval_every: int = 50
    inloop_tasks: str = "arc_easy,piqa"
    inloop_limit: int = 40

    @classmethod
    def from_run_config(cls, run: RunConfig, **inloop: Any) -> PretrainConfig:
        return cls(**{f.name: getattr(run, f.name) for f in dataclasses.fields(RunConfig)}, **inloop)

    def run_config(self) -> RunConfig:
        return RunConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(RunConfig)})


def _demo_pretrain() -> PretrainConfig:
    """olmo-core's ``tiny`` run with what the demo changes: 250 steps of 8 x 256 tokens."""
    cfg = PretrainConfig.from_run_config(run_preset("tiny"))
    cfg.data.seq_len, cfg.data.micro_batch_size = 256, 8
    cfg.optim.scheduler.warmup_steps = 12
    cfg.trainer.max_steps = 250
    cfg.trainer.checkpoint.every, cfg.trainer.checkpoint.permanent_every = 25, 100
    # every checkpoint a revision step{N}-tokens{M} of <pretrain>/hub: ten, for the learning curve
    cfg.trainer.callbacks["hub_revisions"] = {"every": 25}
    return cfg


@dataclass
class EvalConfig:
    tasks: str = "core9"
    limit: int = 60
    num_shots: int | None = None
    max_docs_per_subdomain: int | None = 20


@dataclass
class TaskSuiteConfig:
    """The procedural verifiable-task suite (``open_instruct.tasks.build_suite``) every adaptation
    stage trains on (``train``) and is judged on (``heldout``; disjoint by construction).
    ``families``: null for all registered ones; ``difficulty``: knobs per family, e.g.
    ``{arithmetic: {digits: 2}}``."""

    families: list[str] | None = None
    train_per_family: int = 1600
    heldout_per_family: int = 100
    seed: int = 0
    difficulty: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class VerifiedEvalConfig:
    """Held-out verified accuracy of each adapted model (greedy answers judged by the tasks'
    verifiers, ``open_instruct.evaluate_verified``), paired between stages by McNemar's test."""

    max_new_tokens: int = 32
    batch_size: int = 64


#: a task prompt and its answer fit in 64 tokens (at most ~25 with the Tulu template)
TASK_MAX_LENGTH = 64


def _task_sft() -> SFTConfig:
    """open-instruct's ``tiny_sft`` on the task suite: one epoch at lr 2e-3 (measured: 300 steps over
    9,600 examples reach 0.215 held-out verified accuracy; at 1e-3 and 75 steps the samples were still
    noise), 64-token sequences, none of the built-in instruct set's exclusions."""
    cfg = RUN_PRESETS["tiny_sft"]()
    cfg.data.exclude, cfg.data.max_length = [], TASK_MAX_LENGTH
    cfg.optim.lr, cfg.batch.epochs = 2e-3, 1
    return cfg


def _task_dpo() -> DPOConfig:
    """open-instruct's ``tiny_dpo`` on the on-policy pairs: no preference hold-out (the stack judges
    every stage on the held-out tasks instead), 64-token sequences, lr 1e-4 (at the preset's 2e-3 and
    at 5e-4 DPO on these pairs lowered held-out accuracy sharply; at 1e-4 it is neutral, see the
    open-instruct README's adaptation section)."""
    cfg = RUN_PRESETS["tiny_dpo"]()
    cfg.data.holdout, cfg.data.max_length, cfg.optim.lr = 0, TASK_MAX_LENGTH, 1e-4
    return cfg


def _task_grpo() -> GRPOConfig:
    """open-instruct's ``tiny_grpo`` on the suite's train prompts (the first ``limit``), 64-token sequences."""
    cfg = RUN_PRESETS["tiny_grpo"]()
    cfg.data.max_length, cfg.limit = TASK_MAX_LENGTH, 256
    return cfg


def _task_onpolicy() -> OnPolicyConfig:
    """k = 4 samples of 24 tokens at most for the first 1,200 train prompts, at temperature 0.7 (at 1.0
    a weak SFT model's samples over the 50k vocabulary are mostly noise)."""
    return OnPolicyConfig(samples_per_prompt=4, temperature=0.7, max_new_tokens=24, prompts=1200, batch_size=128)


@dataclass
class AdaptConfig:
    """SFT on the task suite's train split, on-policy preference pairs sampled from the SFT model and
    judged by the verifiers, DPO on them, then GRPO: open-instruct's run configs themselves (from its
    presets; override e.g. ``adapt.dpo.optim.lr=1e-3`` or ``adapt.grpo.rollout.group_size=4``), the
    on-policy settings (``open_instruct.onpolicy.OnPolicyConfig``) and the held-out evaluation. The
    stages set ``init_from``, ``trainer.run_dir``, the data sources and caches."""

    tasks: TaskSuiteConfig = field(default_factory=TaskSuiteConfig)
    sft: SFTConfig = field(default_factory=_task_sft)
    onpolicy: OnPolicyConfig = field(default_factory=_task_onpolicy)
    dpo: DPOConfig = field(default_factory=_task_dpo)
    grpo: GRPOConfig = field(default_factory=_task_grpo)
    eval: VerifiedEvalConfig = field(default_factory=VerifiedEvalConfig)


@dataclass
class StackConfig:
    name: str = "demo"
    out: str = "runs/demo"
    moe: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    pretrain: PretrainConfig = field(default_factory=_demo_pretrain)
    eval: EvalConfig = field(default_factory=EvalConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    #: how every revision pretraining published is scored for the learning curve
    learning_curve: LearningCurveConfig = field(default_factory=LearningCurveConfig)
    #: generations of the pretrained model traced to verbatim spans of its training data
    trace: TraceConfig = field(default_factory=TraceConfig)
    #: each stage's energy and CO2eq (PUE, grid intensity, power models): olmo_stack.energy
    energy: EnergyConfig = field(default_factory=EnergyConfig)


def _smoke() -> StackConfig:
    cfg = StackConfig(name="smoke", out="runs/smoke",
                      eval=EvalConfig(tasks="arc_easy,copa", limit=20, max_docs_per_subdomain=3),
)
    p = cfg.pretrain
    p.data.seq_len, p.trainer.max_steps = 128, 40
    p.trainer.checkpoint.every, p.trainer.checkpoint.permanent_every = 20, 40
    p.trainer.callbacks["hub_revisions"] = {"every": 20}
    p.eval_every, p.inloop_tasks, p.inloop_limit = 20, "arc_easy", 10
    _smoke_adapt(cfg.adapt)
    cfg.learning_curve.limit = 10
    cfg.trace.prompts = 3
    return cfg


def _smoke_adapt(a: AdaptConfig) -> None:
    """The demo's adaptation path at a size CI affords: a few examples per family and a few steps."""
    a.tasks.train_per_family, a.tasks.heldout_per_family = 40, 10
    a.onpolicy.prompts, a.onpolicy.samples_per_prompt, a.onpolicy.max_new_tokens = 48, 4, 16
    a.eval.max_new_tokens = 16
    # a few SFT steps verify next to nothing: the gold answer stands in as chosen, so DPO has pairs
    a.onpolicy.gold_when_all_fail = True
    a.grpo.limit, a.grpo.batch.global_batch_size, a.grpo.batch.micro_batch_size = 12, 4, 4  # 3 steps


PRESETS = {"demo": StackConfig, "smoke": _smoke}


def register_configs() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for name, make in PRESETS.items():
        cs.store(name=f"olmo_stack_{name}", node=make())


def load_stack_config(preset_or_path: str = "demo", overrides: list[str] | None = None,
                      *, moe: bool = False) -> StackConfig:
    """A preset name (``demo``, ``smoke``) or a YAML file, merged over the typed schema, then
    ``key=value`` overrides (``pretrain.optim.lr=1e-3``). Unknown keys are errors that name the key.
    With ``moe`` (the flag, the file or an override) the base model is olmoe's ``olmoe_tiny``, and
    the file and overrides apply on top of it."""
    if preset_or_path in PRESETS:
        base, layers = PRESETS[preset_or_path](), []
    else:
        path = Path(preset_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"config {preset_or_path!r}: neither a preset ({', '.join(PRESETS)}) nor a file")
        base, layers = StackConfig(), [_yaml_layer(path)]
    if overrides:
        layers.append(OmegaConf.from_dotlist(list(overrides)))
    where = f"{preset_or_path}{' with overrides ' + ' '.join(overrides) if overrides else ''}"
    try:
        merged = OmegaConf.merge(OmegaConf.structured(base), *layers)
        if moe or merged.moe:
            from olmo_core.model.presets import get_model_preset

            base.moe, base.pretrain.model = True, get_model_preset("olmoe_tiny")
            merged = OmegaConf.merge(OmegaConf.structured(base), *layers)
        cfg: Any = OmegaConf.to_object(merged)
    except OmegaConfBaseException as e:  # a wrong type or an unknown key: name the file and the field
        raise ValueError(f"{where}: field {e.full_key or '?'!r}: {str(e).splitlines()[0]}") from None
    return cfg


def _yaml_layer(path: Path) -> Any:
    """A YAML config file as an OmegaConf node; damage is refused naming the file and line."""
    import yaml

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: invalid UTF-8") from None
    try:
        node = OmegaConf.create(text)  # OmegaConf's YAML loader, as OmegaConf.load
    except yaml.YAMLError as e:
        mark, pos = getattr(e, "problem_mark", None), getattr(e, "position", None)  # a ReaderError has a position
        n = mark.line + 1 if mark is not None else text[:pos].count("\n") + 1 if isinstance(pos, int) else None
        line = f"line {n}: " if n is not None else ""
        raise ValueError(f"{path}: {line}not YAML ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(node, DictConfig) or not node:
        raise ValueError(f"{path}: expected a mapping of settings (the file is empty or holds a list)")
    return node
