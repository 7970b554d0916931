"""The command line's error boundary for a full disk: one line naming the file, exit status 1."""

from __future__ import annotations

import errno

import pytest

import dolma_tools.tokens
from dolma_tools.cli import main


def test_a_full_disk_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out/part-00002.npy")

    monkeypatch.setattr(dolma_tools.tokens, "tokenize_files", full)
    assert main(["tokens", "--documents", "d", "--destination", "/data/out"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("dolma-tools tokens: error: No space left on device writing /data/out/part-00002.npy;")


def test_other_os_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/data/out")

    monkeypatch.setattr(dolma_tools.tokens, "tokenize_files", denied)
    with pytest.raises(PermissionError):
        main(["tokens", "--documents", "d", "--destination", "/data/out"])
