"""The shipped Dolma v1 web recipe end to end on a slice of the real corpus, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import fasttext
import pytest

from dolma_tools.cli import main
from dolma_tools.docio import expand_inputs, iter_documents, write_documents

SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "data"
STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def test_dolma_v1_recipe_on_corpus_slice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = {}
    for source_dir in sorted(p for p in (SHARED / "corpus").iterdir() if p.is_dir()):
        docs = [d for _, d in iter_documents(sorted(source_dir.glob("*.jsonl.zst"))[0])][:25]
        write_documents(tmp_path / "corpus" / source_dir.name / "part.jsonl.gz", docs)
        inputs.update({d.id: d for d in docs})
    args = ["mix", "--recipe", "dolma_v1_web", "--documents", str(tmp_path / "corpus"), "--destination",
            str(tmp_path / "out"), "--processes", "2", "--no-progress", "--json"]
    assert main(args) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index('{\n  "ok"'):])
    assert "documents kept and removed per source" in out and "documents removed per rule" in out
    for name in ("books", "code", "kernel_docs", "manpages", "python_docs", "reference", "english"):
        assert name in out

    sources = result["sources"]
    assert set(sources) == {"books", "code", "kernel_docs", "manpages", "python_docs", "reference"}
    for st in sources.values():
        assert st["docs"] == 25 and st["kept"] + st["removed"] == 25
        assert sum(st["removed_by"].values()) == st["removed"]
    kept = [d for f in expand_inputs(tmp_path / "out") if "attributes" not in f.parts for _, d in iter_documents(f)]
    assert len(kept) == sum(st["kept"] for st in sources.values()) > 0
    assert sources["books"]["kept"] >= 20  # the King James Bible is English prose

    # independent checks of what was kept, on the original text
    lid = fasttext.load_model(str(SHARED / "models" / "lid.176.ftz"))
    for d in kept:
        original = inputs[d.id].text
        labels, probs = lid.predict(original.lower().replace("\n", " ").strip(), k=-1)
        assert dict(zip(labels, probs, strict=True)).get("__label__en", 0) >= 0.5
        words = original.split()
        assert 50 <= len(words) <= 100_000
        assert sum(w in STOP for w in words) >= 2
        if EMAIL.search(original):
            assert "|||EMAIL_ADDRESS|||" in d.text or not EMAIL.search(d.text)
        # lines kept end in punctuation (C4 rule applied as span removal)
        for line in d.text.split("\n"):
            if line.strip() and "|||" not in line:
                assert line.strip().endswith((".", "?", "!", '"')), line

    # a second run finds everything done
    assert main(args) == 0
    again = capsys.readouterr().out
    again_result = json.loads(again[again.index('{\n  "ok"'):])
    assert all(r["finished"] == 0 and r["resumed"] == 6 for r in again_result["runs"])
    assert again_result["sources"] == sources
