"""The HTML report renders in a real headless browser with its plots decoded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from olmo_stack.report import Report  # noqa: E402


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise RuntimeError("no headless Chromium: .ci/run installs the Debian package 'chromium'")


def test_report_plots_render_in_chromium(tmp_path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [3.0, 2.0, 1.5])
    fig.savefig(tmp_path / "loss.png")
    plt.close(fig)
    report = Report("demo <run>").section("Training").image(tmp_path / "loss.png", "loss")
    report.table([{"source": "books", "kept": 10}], caption="funnel").image(tmp_path / "missing.png")
    page = report.write(tmp_path / "out" / "report.html")
    dom = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "demo &lt;run&gt;" in dom and "books" in dom
    m = re.search(r'data-images="(\d+)" data-images-loaded="(\d+)"', dom)
    assert m, dom[:500]
    assert m.groups() == ("1", "1"), "the one existing plot decodes; the missing one is reported as text"
    assert "plot missing: missing.png" in dom
