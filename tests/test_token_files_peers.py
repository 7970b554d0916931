"""Token files against the originals, each run in its own cached environment:

* the real ``dolma tokens`` (dolma 1.2.1) tokenizes a slice of the shared corpus; olmo-core's reader
  takes its headerless memmaps + ``.csv.gz`` as they are, and reads, document by document, the ids
  that ``dolma-tools tokens`` writes for the same files (whose ``.csv.gz`` rows also match Dolma's);
* OLMo-core 3.0's ``NumpyFSLDataset`` reads our files and builds the same instances ours does (with a
  single file, instance for instance; with several, it chunks each file apart, ours the stream), its
  ``doc_lens`` are the run lengths of our loader's ``doc_ids``, and its intra-document RoPE
  (``cu_doc_lens``) rotates like ours with our loader's ``position_ids``.

The peers are built on first use (``harness.PeerEnv``); where one cannot be installed the test fails
under CI (``CI=true``) and is skipped elsewhere, saying why. OLMo-core's document-masked attention
itself runs only in its flash-attention/Transformer-Engine backends (its SDPA backend refuses
``cu_doc_lens``), which need a GPU and packages not installable here; the masked attention is graded
against documents run alone (through our model and OLMo-core's) in
``packages/olmo-core/tests/model/test_document_masking.py``."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import zstandard

from dolma_tools.tokens import tokenize_files
from olmo_core.data.instances import InstanceSource
from olmo_core.data.tokens import TokenDataset
from olmo_core.model.rope import apply_rope, rope_cos_sin

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tools"), str(REPO / "tools" / "bench")]
import harness  # noqa: E402
import peers  # noqa: E402

EOS, PAD, SEQ_LEN = 50279, 1, 64
DOLMA = harness.PeerEnv(("dolma==1.2.1",))


def ensure_peer(env: harness.PeerEnv) -> None:
    try:
        env.ensure()
    except (subprocess.CalledProcessError, OSError) as e:
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"peer {env.label} is missing and could not be installed under CI: {e}") from e
        pytest.skip(f"peer {env.label} could not be installed here ({e}); CI installs it")


@pytest.fixture(scope="module")
def documents(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The first documents of three sources as ``documents/<source>/<name>.jsonl.gz``, texts stripped
    and empty ones left out (Dolma strips and skips them; ours tokenizes what it is given)."""
    root = tmp_path_factory.mktemp("docs") / "documents"
    files = []
    for source, n in (("books", 6), ("code", 40), ("python_docs", 30)):
        src = sorted((shared_data / "corpus" / source).glob("*.jsonl.zst"))[0]
        out = root / source / src.name.replace(".zst", ".gz")
        out.parent.mkdir(parents=True)
        with open(src, "rb") as f, gzip.open(out, "wt", encoding="utf-8") as g:
            kept = 0
            for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"):
                row = json.loads(line)
                row["text"] = row["text"][:20_000].strip()  # cut, then stripped as Dolma strips
                if row["text"]:
                    g.write(json.dumps(row, ensure_ascii=False) + "\n")
                    kept += 1
                if kept == n:
                    break
        files.append(out)
    return files


def _dolma_rows(dest: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """``(src, id) -> (tokens, loc)`` from every ``.csv.gz`` under ``dest``, read with csv + gzip."""
    out = {}
    for meta in sorted(dest.glob("*.csv.gz")):
        with gzip.open(meta, "rt", newline="") as f:
            for start, end, doc_id, src, loc in csv.reader(f):
                out[(src, doc_id)] = (int(end) - int(start), int(loc))
    return out


def test_olmo_core_reads_dolma_tokens_output(documents: list[Path], shared_data: Path, tmp_path: Path) -> None:
    ensure_peer(DOLMA)
    tokenizer = shared_data / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
    theirs_dir, ours_dir = tmp_path / "dolma", tmp_path / "ours"
    subprocess.run([str(DOLMA.exe("dolma")), "tokens", "--documents", *map(str, documents), "--destination",
                    str(theirs_dir), "--tokenizer.name_or_path", str(tokenizer), "--tokenizer.eos_token_id",
                    str(EOS), "--tokenizer.pad_token_id", str(PAD), "--processes", "1", "--dtype", "uint16",
                    "--seed", "3920"], check=True, capture_output=True, cwd=tmp_path,
                   env={**os.environ, **harness.OFFLINE_ENV})
    tokenize_files(documents, ours_dir, tokenizer=tokenizer, max_tokens_per_file=40_000)

    theirs = TokenDataset(theirs_dir, expect_eos_id=EOS)  # no sidecar: Dolma's files as they are
    ours = TokenDataset(ours_dir, expect_eos_id=EOS)
    assert all(s.header["format"] == "dolma" for s in theirs.shards)
    assert theirs.num_documents == ours.num_documents == sum(
        1 for f in documents for _ in gzip.open(f, "rt")) and theirs.num_tokens == ours.num_tokens
    # the loader's stream is the raw memmaps, concatenated in path order
    raw = np.concatenate([np.fromfile(p, dtype="<u2") for p in sorted(theirs_dir.rglob("*.npy"))])
    np.testing.assert_array_equal(theirs.tokens(0, theirs.num_tokens), raw)

    def by_document(ds: TokenDataset) -> dict[tuple[str, str], list[int]]:
        out = {}
        for shard, base in zip(ds.shards, ds.offsets[:-1], strict=True):
            for s, e, doc_id, src in zip(shard.starts, shard.ends, shard.ids, shard.source_files, strict=True):
                out[(Path(src).name, doc_id)] = ds.tokens(int(base + s), int(base + e)).tolist()
        return out

    mine, dolma = by_document(ours), by_document(theirs)
    assert mine.keys() == dolma.keys()
    differ = [k for k in mine if mine[k] != dolma[k]]
    assert not differ, f"{len(differ)} documents differ, e.g. {differ[:3]}"
    # Dolma shuffles documents (seeded) across its memmaps; the same documents, another order
    assert [k for k in dolma] != [k for k in mine]
    # our .csv.gz says what Dolma's says for each document: its length and its 1-based input line
    assert _dolma_rows(ours_dir) == _dolma_rows(theirs_dir)

    instances = InstanceSource(theirs, SEQ_LEN, document_ids=True)  # and trains from them as they are
    ex = instances.example(len(instances) - 1)
    assert ex["input_ids"].shape == (SEQ_LEN,) and ex["position_ids"].max() < SEQ_LEN


PEER_SCRIPT = r"""
import json, sys
import numpy as np, torch
from olmo_core.data import NumpyFSLDataset
from olmo_core.data.utils import get_cumulative_document_lengths
from olmo_core.nn.rope import RotaryEmbedding

req = json.loads(open(sys.argv[1]).read())
out, datasets = {}, {}
for name, paths in req["datasets"].items():
    ds = NumpyFSLDataset(*paths, sequence_length=req["seq_len"], pad_token_id=req["pad"], eos_token_id=req["eos"],
                         vocab_size=req["vocab"], dtype=np.uint16, generate_doc_lengths=True)
    items = [ds[i] for i in range(len(ds))]
    np.save(f"{req['out']}/{name}-input_ids.npy", torch.stack([x["input_ids"] for x in items]).numpy())
    np.save(f"{req['out']}/{name}-doc_lens.npy", torch.cat([x["doc_lens"] for x in items]).numpy())
    np.save(f"{req['out']}/{name}-doc_counts.npy", np.array([len(x["doc_lens"]) for x in items]))
    out[name] = {"offsets": [list(o) for o in ds.offsets]}
    datasets[name] = ds
# intra-document RoPE over a batch of instances, as OLMo-core's attention applies it with cu_doc_lens
rope_req = req["rope"]
q, k = torch.from_numpy(np.load(rope_req["q"])), torch.from_numpy(np.load(rope_req["k"]))
doc_lens = torch.cat([datasets["single"][i]["doc_lens"] for i in rope_req["indices"]])
cu = get_cumulative_document_lengths(doc_lens)
rope = RotaryEmbedding(head_size=q.shape[-1], theta=rope_req["theta"])
q_out, k_out = rope(q, k, head_first=False, cu_doc_lens=cu)
np.save(f"{req['out']}/rope-q.npy", q_out.numpy())
np.save(f"{req['out']}/rope-k.npy", k_out.numpy())
json.dump(out, open(f"{req['out']}/result.json", "w"))
"""


def run_length(doc_ids: np.ndarray) -> list[int]:
    cuts = np.flatnonzero(np.diff(doc_ids)) + 1
    return np.diff(np.concatenate([[0], cuts, [len(doc_ids)]])).tolist()


def test_olmo_core_fsl_dataset_builds_our_instances(documents: list[Path], shared_data: Path,
                                                     tmp_path: Path) -> None:
    ensure_peer(peers.olmo_core_peer())
    tokenizer = shared_data / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
    single = tokenize_files(documents, tmp_path / "single", tokenizer=tokenizer)
    multi = tokenize_files(documents, tmp_path / "multi", tokenizer=tokenizer, max_tokens_per_file=30_000)
    assert len(single["shards"]) == 1 and len(multi["shards"]) > 2
    ours = InstanceSource(TokenDataset(tmp_path / "single"), SEQ_LEN, document_ids=True)
    # two instances with a document boundary inside, for the RoPE check
    rope_indices = [i for i in range(len(ours)) if len(set(ours.doc_ids(i).tolist())) > 1][:2]
    heads, dim, theta = 2, 16, 10_000.0
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, SEQ_LEN, heads, dim, generator=gen), torch.randn(2, SEQ_LEN, heads, dim, generator=gen)
    out = tmp_path / "peer"
    out.mkdir()
    np.save(out / "q.npy", q.numpy())
    np.save(out / "k.npy", k.numpy())
    request = {"datasets": {"single": single["shards"], "multi": multi["shards"]}, "seq_len": SEQ_LEN,
               "pad": PAD, "eos": EOS, "vocab": 50280, "out": str(out),
               "rope": {"q": str(out / "q.npy"), "k": str(out / "k.npy"), "theta": theta, "indices": rope_indices}}
    (out / "request.json").write_text(json.dumps(request))
    peers.run_olmo_core(PEER_SCRIPT, str(out / "request.json"), timeout=600)
    result = json.loads((out / "result.json").read_text())

    # one file: OLMo-core's instance i is our instance i (ours needs one token more, for the last label)
    theirs = np.load(out / "single-input_ids.npy")
    n = ours.dataset.num_tokens
    assert len(theirs) == n // SEQ_LEN and len(ours) == (n - 1) // SEQ_LEN and len(theirs) > 100
    doc_lens, counts = np.load(out / "single-doc_lens.npy"), np.load(out / "single-doc_counts.npy")
    splits = np.split(doc_lens, np.cumsum(counts)[:-1])
    crossings = 0
    for i in range(len(ours)):
        ex = ours.example(i)
        np.testing.assert_array_equal(ex["input_ids"], theirs[i])
        # the same document boundaries: OLMo-core cuts after each EOS, ours reads the documents' ranges
        assert run_length(ex["doc_ids"]) == splits[i].tolist(), i
        crossings += len(splits[i]) > 1
    assert crossings > 20

    # several files: OLMo-core chunks each file apart (its tail dropped), ours cuts the whole stream;
    # every OLMo-core instance is still exactly our tokens at that place, and the first file's agree
    stream = TokenDataset(tmp_path / "multi")
    theirs_multi = np.load(out / "multi-input_ids.npy")
    offsets = result["multi"]["offsets"]
    assert len(offsets) == len(stream.shards) and len(theirs_multi) == offsets[-1][1]
    for f, (lo, hi) in enumerate(offsets):
        assert hi - lo == stream.shards[f].num_tokens // SEQ_LEN
        for j in range(hi - lo):
            start = int(stream.offsets[f]) + j * SEQ_LEN
            np.testing.assert_array_equal(theirs_multi[lo + j], stream.tokens(start, start + SEQ_LEN))
    ours_multi = InstanceSource(stream, SEQ_LEN)
    for i in range(offsets[0][1]):
        np.testing.assert_array_equal(ours_multi.example(i)["input_ids"], theirs_multi[i])

    # intra-document RoPE: OLMo-core's rotation with cu_doc_lens == ours with the loader's position_ids
    positions = torch.from_numpy(np.stack([ours.example(i)["position_ids"] for i in rope_indices]))
    cos, sin = rope_cos_sin(positions, dim, theta)
    for name, x in (("q", q), ("k", k)):
        mine = apply_rope(x.transpose(1, 2), cos, sin).transpose(1, 2)
        torch.testing.assert_close(mine, torch.from_numpy(np.load(out / f"rope-{name}.npy")), rtol=0, atol=1e-5)
        plain = apply_rope(x.transpose(1, 2), *rope_cos_sin(torch.arange(SEQ_LEN), dim, theta)).transpose(1, 2)
        assert not torch.allclose(plain, mine, atol=1e-3)  # the restart is what both sides did
