"""Document-aware attention (OLMo-core's intra-document masking): inside a packed instance no token
attends across an EOS boundary and RoPE positions restart in each document, whether the boundaries
come from the loader (``data.document_masking``: ``doc_ids`` + ``position_ids`` from the documents'
token ranges) or from the model itself (``model.document_masking``: cut after each EOS). Graded
against the independent computations: each document run alone through the same model, and through
OLMo-core 3.0's own model (the peer, same weights converted): its document-masked attention kernels
need flash-attention or Transformer Engine on a GPU, so the peer runs each document on its own."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from olmo_core.data.instances import InstanceSource
from olmo_core.data.tokens import TokenDataset
from olmo_core.model import get_model_preset
from olmo_core.model.attention import documents_from_eos
from olmo_core.train.loss import LanguageModelingLoss

EOS = 50279
REPO = Path(__file__).resolve().parents[4]
PEER_SCRIPT = REPO / "packages" / "olmo-core" / "tests" / "convert" / "olmo_core_peer_script.py"


def packed_real_documents(corpus_tokens: Path, lengths: tuple[int, ...]) -> list[torch.Tensor]:
    """Pieces of real documents of the given lengths, each ending with EOS (as in a token file)."""
    ds = TokenDataset(corpus_tokens)
    out = []
    for k, n in enumerate(lengths):
        doc = ds.shards[k % len(ds.shards)]
        start = int(doc.starts[k])
        ids = ds.tokens(start, start + n - 1)
        assert EOS not in ids.tolist()
        out.append(torch.from_numpy(np.append(ids, EOS)))
    return out


def test_documents_from_eos_against_a_loop() -> None:
    rows = torch.tensor([[5, EOS, 7, 8, EOS, EOS, 9, 3], [EOS, 1, 2, 3, 4, 5, 6, EOS]])
    doc_ids, positions = documents_from_eos(rows, EOS)
    for r, row in enumerate(rows.tolist()):
        doc, pos = 0, 0
        for t, tok in enumerate(row):
            assert (doc_ids[r, t].item(), positions[r, t].item()) == (doc, pos), (r, t)
            doc, pos = (doc + 1, 0) if tok == EOS else (doc, pos + 1)


@pytest.mark.parametrize("preset", ["tiny", "tiny_olmo2"])
def test_packed_instance_equals_documents_run_alone(corpus_tokens: Path, preset: str) -> None:
    docs = packed_real_documents(corpus_tokens, (9, 17, 6, 13))
    packed = torch.cat(docs)[None]
    torch.manual_seed(0)
    cfg = get_model_preset(preset).replace(n_kv_heads=2)
    plain = cfg.build().eval()
    masked = cfg.replace(document_masking=True).build().eval()
    masked.load_state_dict(plain.state_dict())
    bounds = np.cumsum([0] + [len(d) for d in docs])
    doc_ids = torch.from_numpy(np.repeat(np.arange(len(docs)), [len(d) for d in docs]))[None]
    positions = torch.cat([torch.arange(len(d)) for d in docs])[None]
    with torch.no_grad():
        alone = [plain(d[None])[0] for d in docs]
        from_model = masked(packed)[0]  # boundaries from the EOS tokens
        from_loader = plain(packed, doc_ids=doc_ids, position_ids=positions)[0]
        unmasked = plain(packed)[0]
    for k, ref in enumerate(alone):
        lo, hi = bounds[k], bounds[k + 1]
        torch.testing.assert_close(from_model[lo:hi], ref, rtol=0, atol=1e-5)
        torch.testing.assert_close(from_loader[lo:hi], ref, rtol=0, atol=1e-5)
    assert (unmasked[bounds[1]:] - torch.cat(alone[1:])).abs().max() > 1e-2  # without it, later documents see earlier ones


def test_loader_batch_trains_on_documents_alone(corpus_tokens: Path) -> None:
    """The loss of a loader micro-batch with document masking equals the summed cross-entropy of each
    document piece of its instances run alone (positions from 0), for the plain and the fused loss."""
    source = InstanceSource(TokenDataset(corpus_tokens), seq_len=128, document_ids=True)
    index = next(i for i in range(len(source)) if len(set(source.example(i)["doc_ids"].tolist())) >= 2)
    ex = source.example(index)
    batch = {k: torch.from_numpy(v)[None] for k, v in ex.items()}
    torch.manual_seed(1)
    model = get_model_preset("tiny_olmo2").build()
    expected = torch.zeros(())
    with torch.no_grad():
        for d in np.unique(ex["doc_ids"]):
            sel = torch.from_numpy(ex["doc_ids"] == d)
            logits = model(batch["input_ids"][:, sel])[0].float()
            expected += F.cross_entropy(logits, batch["labels"][0, sel], reduction="sum")
        for fused in (False, True):
            out = LanguageModelingLoss(fused=fused)(model, batch)
            torch.testing.assert_close(out.loss_sum, expected, rtol=1e-5, atol=1e-4)
            assert int(out.num_target_tokens) == 128


def test_run_with_document_masking_trains_on_documents(corpus_tokens: Path, tmp_path: Path) -> None:
    """Through the trainer: the first step's loss of a run with ``data.document_masking`` is the loss
    of its batch's documents run alone, and an unmasked run's that of its whole instances (same initial
    weights, large enough for attention to matter: a differing pair of expectations)."""
    from conftest import run_overrides

    from olmo_core.config.load import run_preset
    from olmo_core.data.order import GlobalOrder
    from olmo_core.train.callbacks.metrics_jsonl import read_metrics

    losses = {}
    for masked in (False, True):
        cfg = run_preset("tiny", [*run_overrides(corpus_tokens, tmp_path / str(masked)), "trainer.max_steps=1",
                                  f"data.document_masking={str(masked).lower()}", "data.seq_len=512",
                                  "model.init=normal", "model.init_std=0.2"])
        trainer = cfg.build()
        if masked:
            model = cfg.model.build()
            model.load_state_dict(trainer.model.state_dict())
        trainer.fit()
        losses[masked] = read_metrics(tmp_path / str(masked) / "metrics.jsonl")[0]["train/loss"]
    source = InstanceSource(TokenDataset(corpus_tokens), seq_len=512, document_ids=True)
    order = GlobalOrder(len(source), cfg.data.global_batch_size, cfg.data.seed, shuffle=cfg.data.shuffle)
    total, whole, count = torch.zeros(()), torch.zeros(()), 0
    with torch.no_grad():
        for index in order.global_batch(0).tolist():
            ex = source.example(index)
            whole += F.cross_entropy(model(torch.from_numpy(ex["input_ids"])[None])[0].float(),
                                     torch.from_numpy(ex["labels"]), reduction="sum")
            for d in np.unique(ex["doc_ids"]):
                sel = ex["doc_ids"] == d
                logits = model(torch.from_numpy(ex["input_ids"][sel])[None])[0].float()
                total += F.cross_entropy(logits, torch.from_numpy(ex["labels"][sel]), reduction="sum")
                count += int(sel.sum())
    assert losses[True] == pytest.approx(float(total / count), abs=1e-4)
    assert losses[False] == pytest.approx(float(whole / count), abs=1e-4)
    assert abs(float(total - whole) / count) > 1e-2


def test_packed_instance_equals_olmo_core_on_each_document(corpus_tokens: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from olmo_core.convert import olmo_core_converter_for_config

    sys.path.insert(0, str(REPO / "tools"))
    import peers

    try:
        peers.olmo_core_peer().ensure()
    except Exception as e:  # noqa: BLE001 - any install failure
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the OLMo-core peer is missing under CI: {e}")
        pytest.skip(f"the OLMo-core peer cannot be installed here: {e}")
    docs = packed_real_documents(corpus_tokens, (23, 41, 9, 31))
    cfg = get_model_preset("tiny_olmo2").replace(n_kv_heads=2, document_masking=True)
    model = cfg.build().eval()
    model.init_weights(seed=5)
    conv = olmo_core_converter_for_config(cfg)
    (tmp_path / "config.json").write_text(json.dumps(conv.peer_config(cfg)))
    save_file({k: v.contiguous() for k, v in conv.to_peer_state(cfg, model.state_dict()).items()},
              str(tmp_path / "weights.safetensors"))
    jobs = []
    for k, d in enumerate(docs):
        np.save(tmp_path / f"doc{k}.npy", d[None].numpy())
        jobs.append({"config": str(tmp_path / "config.json"), "weights": str(tmp_path / "weights.safetensors"),
                     "tokens": str(tmp_path / f"doc{k}.npy"), "out": str(tmp_path / f"logits{k}.npy")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    peers.run_olmo_core(PEER_SCRIPT, "logits", "--jobs", str(tmp_path / "jobs.json"), timeout=600)
    with torch.no_grad():
        packed = model(torch.cat(docs)[None])[0].numpy()  # one row, the boundaries from its EOS tokens
    bounds = np.cumsum([0] + [len(d) for d in docs])
    for k in range(len(docs)):
        theirs = np.load(tmp_path / f"logits{k}.npy")[0]
        assert theirs.std() > 0.05
        diff = float(np.abs(packed[bounds[k]:bounds[k + 1]] - theirs).max())
        assert diff <= 1e-5, f"document {k}: packed logits differ from OLMo-core's by {diff}"
