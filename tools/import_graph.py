"""The repository's import graph: circles inside a package and arrows between packages.

    uv run python tools/import_graph.py            # report; exit 1 on any circle or forbidden arrow
                                                   # (between modules or first-level subpackages)
    uv run python tools/import_graph.py --cycles   # print every circle's modules

Reads the source with ``ast`` (nothing is imported). Module-level and function-level imports both
count: a lazy import is still an arrow. An arrow from one workspace package to another is allowed
only where the importing package's ``pyproject.toml`` declares the other as a dependency (optional
extras included, and listed as such), so the layers of ``docs/interfaces.md`` hold.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: packages that depend on no sibling (they meet through file formats and Protocols); the one arrow
#: allowed between them is olmo-eval's optional checkpoint loading through its ``olmo-core`` extra
GROUND_FLOOR = {"dolma_tools", "olmo_core", "olmo_eval"}
GROUND_FLOOR_OPTIONAL = {("olmo_eval", "olmo_core")}


def packages(repo: Path = REPO) -> dict[str, tuple[Path, set[str], set[str]]]:
    """import name -> (source root, required sibling imports, optional sibling imports)."""
    dists: dict[str, tuple[str, Path, dict]] = {}
    for pyproject in sorted([*repo.glob("packages/*/pyproject.toml"), repo / "pyproject.toml"]):
        meta = tomllib.loads(pyproject.read_text())["project"]
        src = pyproject.parent / "src"
        (pkg,) = [p for p in src.iterdir() if (p / "__init__.py").exists()]
        dists[meta["name"]] = (pkg.name, pkg, meta)
    out = {}
    for imp, path, meta in dists.values():
        def names(reqs: list[str]) -> set[str]:
            found = set()
            for r in reqs:
                dist = r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].split(";")[0].strip()
                if dist in dists:
                    found.add(dists[dist][0])
            return found
        optional = {n for reqs in meta.get("optional-dependencies", {}).values() for n in names(reqs)}
        out[imp] = (path, names(meta.get("dependencies", [])), optional - names(meta.get("dependencies", [])))
    return out


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(file: Path, module: str, is_package: bool) -> set[str]:
    tree = ast.parse(file.read_text(), str(file))
    base = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from pkg import submodule` is an arrow to the submodule, not to pkg/__init__; `from pkg
            # import name` is one to pkg (resolved against the known modules in graph())
            found.update(f"{target}.{a.name}\0{target}" for a in node.names)
    return found


def graph(repo: Path = REPO) -> tuple[dict[str, set[str]], dict[str, str]]:
    """module -> modules it imports (workspace modules only); module -> its package."""
    pkgs = packages(repo)
    files: dict[str, tuple[Path, bool]] = {}
    owner: dict[str, str] = {}
    for imp, (root, _, _) in pkgs.items():
        for f in root.rglob("*.py"):
            name = module_name(root, f)
            files[name] = (f, f.name == "__init__.py")
            owner[name] = imp
    edges: dict[str, set[str]] = defaultdict(set)
    for name, (f, is_pkg) in files.items():
        for target in imports_of(f, name, is_pkg):
            if "\0" in target:
                sub, _, parent = target.partition("\0")
                target = sub if sub in files else parent
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges, owner


def strongly_connected(edges: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module are circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def check(repo: Path = REPO) -> tuple[list[list[str]], list[str], list[str]]:
    """(circles within a package, forbidden cross-package arrows, allowed optional arrows)."""
    pkgs = packages(repo)
    edges, owner = graph(repo)
    circles = []
    for imp in pkgs:
        mods = sorted(m for m in owner if owner[m] == imp)
        inner = {m: {t for t in edges.get(m, ()) if owner.get(t) == imp} for m in mods}
        circles += strongly_connected(inner, mods)
    forbidden, optional = [], []
    for m, targets in sorted(edges.items()):
        for t in sorted(targets):
            a, b = owner[m], owner[t]
            if a == b:
                continue
            _, required, opt = pkgs[a]
            if a in GROUND_FLOOR and b in GROUND_FLOOR and not ((a, b) in GROUND_FLOOR_OPTIONAL and b in opt):
                forbidden.append(f"{m} -> {t} (ground-floor {a} may not import {b})")
            elif b in opt:
                optional.append(f"{m} -> {t} (optional extra)")
            elif b not in required:
                forbidden.append(f"{m} -> {t} ({a} does not declare {b})")
    return circles, forbidden, optional


def subpackage_circles(repo: Path = REPO) -> list[list[str]]:
    """Circles between the first-level subpackages of one package (``olmo_core.config`` and
    ``olmo_core.train`` importing each other), a coarser layering than module circles. A package's
    top-level modules count as their own nodes; its ``__init__`` is left out, since re-exporting
    is not layering."""
    pkgs = packages(repo)
    edges, owner = graph(repo)

    def unit(mod: str) -> str:
        return ".".join(mod.split(".")[:2])

    circles = []
    for imp in pkgs:
        inner: dict[str, set[str]] = defaultdict(set)
        for m, targets in edges.items():
            if owner[m] != imp or m == imp:
                continue
            for t in targets:
                if owner.get(t) == imp and t != imp and unit(t) != unit(m):
                    inner[unit(m)].add(unit(t))
        nodes = sorted({unit(m) for m in owner if owner[m] == imp and m != imp})
        circles += strongly_connected(inner, nodes)
    return circles


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", action="store_true", help="print the modules of every circle")
    args = ap.parse_args()
    circles, forbidden, optional = check()
    for c in subpackage_circles():
        print("subpackage circle: " + " <-> ".join(c))
    circles += subpackage_circles()
    for c in circles:
        print(f"circle ({len(c)} modules): " + (", ".join(c) if args.cycles or len(c) <= 6 else
                                                 ", ".join(c[:6]) + ", ..."))
    for f in forbidden:
        print(f"forbidden arrow: {f}")
    for o in optional:
        print(f"allowed: {o}")
    print(f"{len(circles)} circles, {len(forbidden)} forbidden arrows, {len(optional)} optional-extra arrows")
    return 1 if circles or forbidden else 0


if __name__ == "__main__":
    sys.exit(main())
