"""Damaged and malicious checkpoints are refused by name, and nothing in them runs.

A real training checkpoint (a tiny OLMo after one AdamW step, written by olmo-core's CheckpointManager,
sharded DCP and unsharded safetensors) has each of its files truncated, bit-flipped or emptied. Two
readers must refuse it naming the damaged file: the manifest check (the damage came after the
checkpoint was finished), and, with the manifest rewritten to match (damage before it was written,
or a crafted checkpoint), the loaders themselves: resume (``CheckpointManager.load``), the model
loader and ``olmo-core convert to-hf``. A bit flip inside tensor bytes is benign to a reader (the
weights change, the structure does not), so a flip may also load; nothing may escape as another error.

The malicious cases are pickles that would create a marker file when unpickled: as ``trainer.pt``,
as a DCP ``.metadata`` and as a non-tensor DCP item; and a config naming a feed-forward module that
would create the marker when imported. Each is refused naming the file and the marker never appears."""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint.dcp_safe import dcp_load
from olmo_core.checkpoint.manager import CheckpointConfig, CheckpointManager
from olmo_core.checkpoint.manifest import write_manifest
from olmo_core.checkpoint.model_io import load_model_checkpoint
from olmo_core.cli import main as olmo_core_main
from olmo_core.interfaces import validate_checkpoint
from olmo_core.model import get_model_preset
from olmo_core.model.config import ModelConfig

from .conftest import SEED
from .harness import Tally, finish, invoke
from .mutate import MUTATIONS

SHARDED_FILES = ["model/__0_0.distcp", "model/.metadata", "train/optim/__0_0.distcp", "train/optim/.metadata",
                 "train/trainer.pt", "train/rank0.pt", "config.json", "manifest.json"]
UNSHARDED_FILES = ["model.safetensors"]
KINDS = ("truncate", "bit_flip", "empty")


def _config() -> ModelConfig:
    cfg = get_model_preset("tiny")
    cfg.d_model, cfg.n_heads, cfg.mlp_hidden_size, cfg.vocab_size = 32, 2, 64, 512
    cfg.embedding_size, cfg.eos_token_id, cfg.pad_token_id = 512, 511, 1
    return cfg


def _model_and_optim() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = _config().build()
    model.init_weights(seed=0)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """One AdamW step on real token ids, then a checkpoint of each layout."""
    model, optim = _model_and_optim()
    ids = torch.randint(0, 512, (2, 17), generator=torch.Generator().manual_seed(SEED))
    logits = model(ids[:, :-1])
    torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)).backward()
    optim.step()
    out = {}
    for sharded in (True, False):
        run = tmp_path_factory.mktemp(f"run_sharded{sharded}")
        out[sharded] = CheckpointManager(run, CheckpointConfig(sharded=sharded)).save(
            1, model=model, optimizer=optim, trainer_state={"step": 1, "data": None, "callbacks": {}},
            config={"model": _config().to_dict()})
    return out


def _resume(path: Path) -> None:
    model, optim = _model_and_optim()
    CheckpointManager.load(path, model=model, optimizer=optim)


def _judge(tally: Tally, label: str, call, name: str, *, may_load: bool) -> None:  # noqa: ANN001
    tally.tried += 1
    try:
        call()
    except ValueError as e:  # InterfaceError and ConfigError are ValueErrors: the refusals
        tally.refused += 1
        if name not in str(e):
            tally.problems.append(f"{label}: refusal does not name {name}: {e}")
    except Exception as e:  # noqa: BLE001 - anything else would reach the user as a traceback
        tally.problems.append(f"{label}: {type(e).__name__} escaped: {str(e)[:500]}")
    else:
        tally.accepted += 1
        if not may_load:
            tally.problems.append(f"{label}: damaged checkpoint loaded")


@pytest.mark.parametrize("sharded", [True, False], ids=["dcp", "safetensors"])
def test_damaged_checkpoint_files_are_refused_by_name(checkpoints: dict[bool, Path], sharded: bool,
                                                       tmp_path: Path) -> None:
    files = SHARDED_FILES if sharded else UNSHARDED_FILES + ["config.json", "train/trainer.pt"]
    seed = SEED + 100 + sharded
    rng = random.Random(seed)
    tally = Tally(f"checkpoint ({'dcp' if sharded else 'safetensors'})", seed)
    i = 0
    for rel in files:
        for kind in KINDS:
            ckpt = tmp_path / f"{i:03d}" / "step1"
            i += 1
            shutil.copytree(checkpoints[sharded], ckpt)
            target = ckpt / rel
            target.write_bytes(MUTATIONS[kind](target.read_bytes(), rng))
            name = Path(rel).name
            label = f"{rel} {kind} #{i - 1}"
            if rel != "manifest.json":
                # finished, then damaged: the manifest check names the file
                _judge(tally, f"{label} (manifest)", lambda c=ckpt: validate_checkpoint(c), name, may_load=False)
                write_manifest(ckpt, 1, sharded)  # damaged before the manifest: only the loaders can tell
            benign = kind == "bit_flip" and rel not in ("config.json", "manifest.json")
            # resuming reads weights and train state; the run's own config builds the model
            _judge(tally, f"{label} (resume)", lambda c=ckpt: _resume(c), name,
                   may_load=benign or rel == "config.json")
            _judge(tally, f"{label} (model)", lambda c=ckpt: load_model_checkpoint(c), name,
                   may_load=benign or rel.startswith("train/"))
    finish(tally)


def test_convert_cli_refuses_damaged_model_checkpoint(checkpoints: dict[bool, Path], tmp_path: Path) -> None:
    """``olmo-core convert to-hf`` on a damaged model: exit 2, the file named, no traceback, no output."""
    seed = SEED + 102
    rng = random.Random(seed)
    tally = Tally("olmo-core convert", seed)
    for i, (rel, kind) in enumerate([(r, k) for r in ("model.safetensors", "config.json", "manifest.json")
                                     for k in ("truncate", "bit_flip", "empty")]):
        ckpt = tmp_path / f"{i:03d}" / "step1"
        shutil.copytree(checkpoints[False], ckpt)
        target = ckpt / rel
        target.write_bytes(MUTATIONS[kind](target.read_bytes(), rng))
        if rel != "manifest.json" and i % 2:
            write_manifest(ckpt, 1, False)
        out = tmp_path / f"{i:03d}" / "hf"
        r = invoke(olmo_core_main, ["convert", "to-hf", str(ckpt), str(out), "--tokenizer", "none"])
        tally.tried += 1
        if r.traceback or "Traceback" in r.stderr:
            tally.problems.append(f"{rel} {kind}: traceback {(r.traceback or r.stderr)[-1500:]}")
        elif r.rc == 0:
            tally.accepted += 1
            if kind != "bit_flip" or rel != "model.safetensors":
                tally.problems.append(f"{rel} {kind}: converted")
        else:
            tally.refused += 1
            if Path(rel).name not in r.stderr:
                tally.problems.append(f"{rel} {kind}: refusal does not name it: {r.stderr[-400:]}")
            if out.exists() and any(out.iterdir()):
                tally.problems.append(f"{rel} {kind}: refused, but left {sorted(p.name for p in out.iterdir())}")
    finish(tally)


# ---- malicious checkpoints: nothing in them runs ------------------------------------------------


class Payload:
    """What an attacker pickles: unpickling it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_trainer_state_that_would_run_code_is_refused(checkpoints: dict[bool, Path], tmp_path: Path) -> None:
    ckpt = tmp_path / "step1"
    shutil.copytree(checkpoints[True], ckpt)
    marker = tmp_path / "ran"
    torch.save({"step": 1, "data": None, "callbacks": {"x": Payload(marker)}}, ckpt / "train" / "trainer.pt")
    write_manifest(ckpt, 1, True)
    with pytest.raises(ValueError, match="trainer.pt"):
        _resume(ckpt)
    assert not marker.exists(), "resuming ran the checkpoint's code"


@pytest.mark.parametrize("folder", ["model", "train/optim"])
def test_dcp_metadata_that_would_run_code_is_refused(checkpoints: dict[bool, Path], tmp_path: Path,
                                                     folder: str) -> None:
    import pickle

    ckpt = tmp_path / "step1"
    shutil.copytree(checkpoints[True], ckpt)
    marker = tmp_path / "ran"
    (ckpt / folder / ".metadata").write_bytes(pickle.dumps(Payload(marker)))
    write_manifest(ckpt, 1, True)
    with pytest.raises(ValueError, match=r"\.metadata"):
        _resume(ckpt)
    if folder == "model":
        with pytest.raises(ValueError, match=r"\.metadata"):
            load_model_checkpoint(ckpt)
    assert not marker.exists(), "reading the DCP metadata ran the checkpoint's code"
    from olmo_core.convert.dcp_files import read_dcp  # the converters' reader (OLMo-core peer checkpoints)

    with pytest.raises(ValueError, match=r"\.metadata"):
        read_dcp(ckpt / folder)
    assert not marker.exists()


def test_dcp_item_that_would_run_code_is_refused(tmp_path: Path) -> None:
    """A non-tensor DCP item is read with ``weights_only=True`` (torch's planner uses False)."""
    import torch.distributed.checkpoint as dcp

    marker = tmp_path / "ran"
    with pytest.warns(UserWarning):  # one process, no process group
        dcp.save({"w": torch.ones(2), "extra": Payload(marker)}, checkpoint_id=str(tmp_path / "dcp"), no_dist=True)
    with pytest.raises(ValueError, match="extra"):
        dcp_load({"w": torch.zeros(2), "extra": None}, tmp_path / "dcp",
                 load=lambda sd, **kw: dcp.load(sd, no_dist=True, **kw))
    assert not marker.exists(), "loading a DCP item ran the checkpoint's code"


def test_config_naming_a_module_is_refused_and_nothing_imports(checkpoints: dict[bool, Path], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint's config.json whose feed-forward names an importable module (one that would create
    a marker on import, on sys.path): refused naming config.json and the field; never imported."""
    marker = tmp_path / "imported"
    (tmp_path / "evil_ff.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n"
                                         "class FF:\n    def __init__(self, **kw): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ckpt = tmp_path / "step1"
    shutil.copytree(checkpoints[False], ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    for target in ("evil_ff:FF", "evil_ff.FF", "evil_ff"):
        config["model"]["feed_forward"] = {"target": target, "options": {}}
        (ckpt / "config.json").write_text(json.dumps(config))
        write_manifest(ckpt, 1, False)
        with pytest.raises(ValueError, match="feed_forward") as e:
            load_model_checkpoint(ckpt)
        assert "config.json" in str(e.value)
        r = invoke(olmo_core_main, ["convert", "to-hf", str(ckpt), str(tmp_path / "hf"), "--tokenizer", "none"])
        assert r.rc == 2 and r.traceback is None and "config.json" in r.stderr, r.traceback or r.stderr
        assert not marker.exists() and "evil_ff" not in sys.modules, f"{target}: the module was imported"
