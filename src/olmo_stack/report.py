"""A static HTML report: sections of text, tables and PNG plots, readable offline.

Images are referenced by relative path (copied beside the page), so the folder can be zipped and
opened anywhere. On load, a small script counts the images that actually decoded and records it in
``body[data-images-loaded]``: a headless browser check reads that to prove the plots render.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.fileio import write_atomic

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5rem; vertical-align: top; }
figure img { max-width: 520px; border: 1px solid #ddd; }
figcaption { font-size: 0.85rem; color: #555; }
pre { background: #f7f7f7; padding: 0.7rem; overflow-x: auto; font-size: 0.8rem; }
"""

_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img'); var ok = 0;
  imgs.forEach(function (im) { if (im.complete && im.naturalWidth > 0) ok++; });
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-loaded', ok);
});
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Section:
    title: str
    parts: list[str] = field(default_factory=list)


class Report:
    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[Section] = []
        self._images: list[tuple[Path, str]] = []

    def section(self, title: str) -> Report:
        self.sections.append(Section(title))
        return self

    def _add(self, fragment: str) -> None:
        if not self.sections:
            self.section("Overview")
        self.sections[-1].parts.append(fragment)

    def text(self, text: str) -> Report:
        self._add(f"<p>{html.escape(text)}</p>")
        return self

    def pre(self, text: str) -> Report:
        self._add(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, rows: list[dict[str, Any]], columns: list[str] | None = None,
              caption: str | None = None) -> Report:
        if not rows:
            return self.text(f"{caption or 'table'}: no rows")
        columns = columns or list(rows[0])
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c, '')))}</td>" for c in columns) + "</tr>"
                       for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._add(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def image(self, path: str | Path, caption: str = "") -> Report:
        path = Path(path)
        if not path.is_file():
            return self.text(f"(plot missing: {path.name})")
        name = f"img/{len(self._images):03d}-{path.name}"
        self._images.append((path, name))
        self._add(f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption or path.stem)}">'
                  f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        return self

    def write(self, out: str | Path) -> Path:
        out = Path(out)
        (out.parent / "img").mkdir(parents=True, exist_ok=True)
        for src, name in self._images:
            shutil.copyfile(src, out.parent / name)
        toc = "".join(f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(self.sections))
        body = "".join(f'<h2 id="s{i}">{html.escape(s.title)}</h2>' + "".join(s.parts)
                       for i, s in enumerate(self.sections))
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
                f"<h1>{html.escape(self.title)}</h1><ul>{toc}</ul>{body}</body></html>")
        return write_atomic(out, page)
