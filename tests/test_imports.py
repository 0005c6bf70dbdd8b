"""Imports point one way: dashboard → briefing → layers → geo ← etl; only the dashboard imports
Streamlit.

Every module of ours is parsed (``ast``, nothing is imported) and every import in
it, at the top or inside a function, relative or absolute, or by
``importlib.import_module("...")``, is checked against the rules of the house:

- ``geo`` imports nothing of ours above it;
- ``layers`` and ``etl`` never import each other, nor ``dashboard``;
- ``briefing`` (the meeting's document) builds on ``layers`` and ``geo``, never on ``etl``,
  ``dashboard`` or the command line, so both the dashboard and ``propmap`` can call it;
- nothing below the command line imports ``propmap`` or ``bench``;
- only ``dashboard`` imports ``streamlit`` (or ``streamlit_folium``);
- no two modules import each other at module level (``propmap.cli`` and
  ``propmap.cli_intake`` once did, and importing the second first failed).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "etl", "layers", "briefing", "dashboard", "propmap", "bench")
#: For each package, the packages of ours it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "geo": frozenset({"etl", "layers", "briefing", "dashboard", "propmap", "bench"}),
    "etl": frozenset({"layers", "briefing", "dashboard", "propmap", "bench"}),
    "layers": frozenset({"etl", "briefing", "dashboard", "propmap", "bench"}),
    "briefing": frozenset({"etl", "dashboard", "propmap", "bench"}),
    "dashboard": frozenset({"propmap", "bench"}),
    "propmap": frozenset(),
    "bench": frozenset({"propmap"}),
}
STREAMLIT = ("streamlit", "streamlit_folium")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "geo.db"
    target: str  # the imported module, absolute, e.g. "layers.facts"
    line: int
    top_level: bool  # executed when the module is imported (not inside a function)


def module_name(path: Path, root: Path | None = None) -> str:
    parts = list(path.relative_to(root or ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``source`` (the text of ``module``), with relative ones resolved."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        top = id(node) not in nested
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield Import(module, target, node.lineno, top)
            for alias in node.names:  # `from geo import db` imports the module geo.db
                yield Import(module, f"{target}.{alias.name}", node.lineno, top)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and (node.func.attr if isinstance(node.func, ast.Attribute)
                   else node.func.id) in ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield Import(module, node.args[0].value, node.lineno, top)


def violations(imports: list[Import]) -> list[str]:
    """The rules of the house that ``imports`` break, one line each."""
    out = []
    for imp in imports:
        mine = imp.module.split(".")[0]
        theirs = imp.target.split(".")[0]
        if theirs in FORBIDDEN.get(mine, frozenset()):
            out.append(f"{imp.module}:{imp.line} imports {imp.target} ({mine} → {theirs})")
        if theirs in STREAMLIT and mine != "dashboard":
            out.append(f"{imp.module}:{imp.line} imports {imp.target} (only dashboard may)")
    return out


def cycles(imports: list[Import], modules: set[str]) -> list[list[str]]:
    """Cycles among ``modules`` through imports run at module import time."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        if imp.top_level and imp.target in modules and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def _all_imports() -> tuple[list[Import], set[str]]:
    imports: list[Import] = []
    modules: set[str] = set()
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            name = module_name(path)
            modules.add(name)
            imports += imports_of(path.read_text(encoding="utf-8"), name,
                                  is_package=path.name == "__init__.py")
    return imports, modules


def test_every_package_is_checked() -> None:
    imports, modules = _all_imports()
    assert {m.split(".")[0] for m in modules} == set(PACKAGES)
    assert len(modules) > 50 and len(imports) > 300


def test_imports_point_one_way() -> None:
    imports, _ = _all_imports()
    assert violations(imports) == []


def test_no_module_level_import_cycle() -> None:
    imports, modules = _all_imports()
    assert cycles(imports, modules) == []


def test_the_checker_catches_each_kind_of_wrong_import() -> None:
    """The rules above fail on planted imports: the checks can fail."""
    planted = {
        ("geo.assign", False): "def f():\n    from layers import facts\n",
        ("etl.intake.cases", False): "from ...layers import facts\n",
        ("layers", True): "import importlib\nimportlib.import_module('etl.demo')\n",
        ("layers.heat", False): "from dashboard import common\n",
        ("etl.export", False): "import streamlit as st\n",
        ("geo.crs", False): "from propmap.cli import main\n",
        ("briefing.sections", False): "from dashboard import data\n",
        ("layers.stats", False): "from briefing import build\n",
    }
    imports = [i for (m, pkg), src in planted.items() for i in imports_of(src, m, is_package=pkg)]
    found = violations(imports)
    assert len(found) >= len(planted), found
    for (m, _pkg) in planted:
        assert any(v.startswith(f"{m}:") for v in found), (m, found)
    loop = list(imports_of("import a.b\n", "a.c")) + list(imports_of("from a import c\n", "a.b"))
    assert cycles(loop, {"a.b", "a.c"})
    inner = list(imports_of("def f():\n    import a.b\n", "a.c")) + list(
        imports_of("from a import c\n", "a.b"))
    assert not cycles(inner, {"a.b", "a.c"})


@pytest.mark.parametrize("module", ["propmap.cli_intake", "propmap.cli", "propmap._command"])
def test_each_command_module_imports_first(module: str) -> None:
    """In a fresh interpreter, each command module imports on its own."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
