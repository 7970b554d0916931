"""Ray as the engine: the same tagging on a local Ray instance gives the same attributes."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray

from dolma_tools.docio import iter_documents, write_documents
from dolma_tools.mixer.config import MixConfig
from dolma_tools.mixer.run import aggregate, mix
from dolma_tools.taggers.run import tag


def test_tag_and_mix_on_ray_match_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # under ``uv run`` Ray would otherwise package the working tree and ``uv run`` each worker
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    corpus = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "corpus"
    for source in ("books", "kernel_docs"):
        docs = [d for _, d in iter_documents(sorted((corpus / source).glob("*.jsonl.zst"))[0])][:40]
        for i in range(2):
            write_documents(tmp_path / "documents" / source / f"{i}.jsonl.gz", docs[i * 20:(i + 1) * 20])
    local = tag(str(tmp_path / "documents"), ["gopher_v1", "pii_regex_v1"], experiment="q",
                attributes_root=tmp_path / "local", processes=1, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = tag(str(tmp_path / "documents"), ["gopher_v1", "pii_regex_v1"], experiment="q",
                     attributes_root=tmp_path / "ray", executor="ray", progress=False)
        assert remote.ok and remote.engine == "ray" and remote.finished == 4
        for f in sorted((tmp_path / "local" / "q").rglob("*.jsonl.gz")):
            twin = tmp_path / "ray" / f.relative_to(tmp_path / "local")
            assert twin.read_bytes() == f.read_bytes()
        cfg = MixConfig(documents=[str(tmp_path / "documents")], attributes=["q"],
                        attributes_root=str(tmp_path / "ray"), destination=str(tmp_path / "mixed"),
                        exclude={"short": "gopher_v1__word_count < 50"})
        m = mix(cfg, executor="ray", progress=False)
        assert m.ok and local.docs == 80
        sources, _ = aggregate(m)
        assert sum(s["docs"] for s in sources.values()) == 80
        again = mix(cfg, executor="ray", progress=False)
        assert again.resumed == 4 and again.finished == 0
    finally:
        ray.shutdown()
