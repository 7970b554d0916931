"""The import graph stays layered: no circle inside a package (between modules or between first-level
subpackages), and no arrow between the ground-floor packages except olmo-eval's optional olmo-core
loader. The checker itself is tested on a small workspace with planted faults, so a pass means
something."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import import_graph  # noqa: E402


def _package(root: Path, dist: str, imp: str, deps: list[str], extras: dict[str, list[str]],
             modules: dict[str, str]) -> None:
    where = root / "packages" / dist
    (where / "src" / imp).mkdir(parents=True)
    extra = "".join(f"{k} = {v!r}\n" for k, v in extras.items())
    (where / "pyproject.toml").write_text(
        f'[project]\nname = "{dist}"\nversion = "0"\ndependencies = {deps!r}\n'
        + (f"[project.optional-dependencies]\n{extra}" if extras else ""))
    (where / "src" / imp / "__init__.py").write_text("")
    for rel, body in modules.items():
        path = where / "src" / imp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))


def test_checker_finds_planted_faults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "root"\nversion = "0"\ndependencies = []\n')
    (tmp_path / "src" / "root_pkg").mkdir(parents=True)
    (tmp_path / "src" / "root_pkg" / "__init__.py").write_text("")
    _package(tmp_path, "olmo-core", "olmo_core", [], {}, {
        "config/__init__.py": "",
        "config/a.py": "from olmo_core.train import b\n",
        "train/__init__.py": "",
        "train/b.py": "def f():\n    from olmo_core.config import a\n",   # lazy import still counts
    })
    _package(tmp_path, "dolma-tools", "dolma_tools", [], {}, {"x.py": "import olmo_core\n"})
    _package(tmp_path, "olmo-eval", "olmo_eval", [], {"olmo-core": ["olmo-core"]}, {
        "m.py": "from olmo_core.config import a\n",      # allowed: optional extra
        "n.py": "import dolma_tools.x\n",                # forbidden: ground floor, undeclared
        "p.py": "from . import q\n",
        "q.py": "from .p import thing\n",
    })
    circles, forbidden, optional = import_graph.check(tmp_path)
    assert ["olmo_core.config.a", "olmo_core.train.b"] in circles
    assert ["olmo_eval.p", "olmo_eval.q"] in circles
    assert any(f.startswith("dolma_tools.x -> olmo_core") for f in forbidden)
    assert any(f.startswith("olmo_eval.n -> dolma_tools.x") for f in forbidden)
    assert optional == ["olmo_eval.m -> olmo_core.config.a (optional extra)"]
    assert ["olmo_core.config", "olmo_core.train"] in import_graph.subpackage_circles(tmp_path)


def test_repository_is_layered() -> None:
    circles, forbidden, optional = import_graph.check()
    sub = import_graph.subpackage_circles()
    assert not circles, f"import circles inside a package: {circles}"
    assert not sub, f"circles between subpackages: {sub}"
    assert not forbidden, f"forbidden arrows: {forbidden}"
    ground = import_graph.GROUND_FLOOR
    between_ground = [o for o in optional if o.split(".")[0] in ground and o.split(" -> ")[1].split(".")[0] in ground]
    assert all(o.startswith("olmo_eval.") and " -> olmo_core." in o for o in between_ground), between_ground
