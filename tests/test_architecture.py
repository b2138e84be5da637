"""The layout's rules, checked on the source (docs/architecture.md draws the same graph).

Each rule reads the package's own files with :mod:`ast`; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "recokit"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

#: which rooms a room may import (besides itself and the leaf modules errors/_version)
ALLOWED = {
    "data": set(),
    "core": {"data"},
    "models": {"data", "core", "adapters"},
    "adapters": {"data"},
    "hybrid": {"data", "core"},
    "rules": {"data", "core"},
    "evaluation": {"data", "core", "rules", "adapters", "datasets"},
    "persist": {"data", "core", "models", "hybrid", "rules"},
    "datasets": {"data"},
    "customers": {"data", "adapters"},
    "testing": {"data", "core", "rules", "persist", "datasets"},
    "pipeline": {"data", "core", "models", "hybrid", "rules"},
    "report": {"adapters"},
    "spark": {"data", "core", "adapters", "persist", "customers"},
    "cli": {"data", "core", "models", "hybrid", "rules", "evaluation", "datasets", "persist", "customers", "pipeline", "report"},
    "params": set(),
    "__main__": {"cli"},
}
LEAVES = {"_errors", "errors", "_version", "params"}
THIRD_PARTY_ONLY_IN_ADAPTERS = {"implicit", "mlxtend", "sklearn", "matplotlib", "pyspark"}
#: libraries one module alone may import: sqlglot reads untrusted condition text, so the whole
#: attack surface of a condition is that one module (the grammar), not wherever a parse is handy
THIRD_PARTY_ONLY_IN = {"sqlglot": "recokit.rules.grammar"}


@functools.cache
def modules() -> list[tuple[str, Path, ast.Module]]:
    """Every module of src/recokit parsed once for the whole file (the trees are only read)."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out.append((name, path, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) of every import, relative ones resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    """room -> the rooms it imports (the package's own rooms only)."""
    g: dict[str, set[str]] = {}
    for name, path, tree in modules():
        src = room(name)
        if src is None:
            continue
        for target, _, _ in imports(tree, name, path.name == "__init__.py"):
            if target.startswith("recokit."):
                dst = room(target)
                if dst and dst != src:
                    g.setdefault(src, set()).add(dst)
    return g


def test_each_room_imports_only_the_rooms_below_it():
    bad = []
    for src, dsts in graph().items():
        allowed = ALLOWED.get(src, set()) | LEAVES
        bad += [f"{src} -> {d}" for d in sorted(dsts - allowed)]
    assert bad == [], "layer rule broken (see ALLOWED): " + ", ".join(bad)


def test_no_model_imports_another_model():
    bad = []
    for name, path, tree in modules():
        if not name.startswith("recokit.models.") or path.name == "__init__.py":
            continue
        for target, _, line in imports(tree, name, False):
            if target.startswith("recokit.models.") and target != name:
                bad.append(f"{path.name}:{line} imports {target}")
    assert bad == []


def test_only_adapters_import_implicit_mlxtend_and_sklearn():
    bad = []
    for name, path, tree in modules():
        if room(name) == "adapters":
            continue
        for target, _, line in imports(tree, name, path.name == "__init__.py"):
            if target.split(".")[0] in THIRD_PARTY_ONLY_IN_ADAPTERS:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert bad == []


def test_only_the_condition_grammar_imports_sqlglot():
    bad = []
    for name, path, tree in modules():
        for target, _, line in imports(tree, name, path.name == "__init__.py"):
            owner = THIRD_PARTY_ONLY_IN.get(target.split(".")[0])
            if owner is not None and name != owner:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert bad == []


def test_no_private_name_is_imported_across_modules():
    bad = []
    for name, path, tree in modules():
        for target, names, line in imports(tree, name, path.name == "__init__.py"):
            if not target.startswith("recokit"):
                continue
            private_module = any(p.startswith("_") and p not in ("__init__",) for p in target.split(".")[1:]) and target not in ("recokit._errors", "recokit._version")
            private_names = [n for n in names if n.startswith("_") and n != "__version__"]
            if private_names or (private_module and room(target) != room(name)):
                bad.append(f"{path.relative_to(SRC)}:{line} from {target} import {', '.join(names)}")
    assert bad == []


def test_no_function_is_longer_than_80_lines():
    long = []
    for _, path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_architecture_doc_draws_the_graph_as_built():
    """docs/architecture.md's dependency table lists exactly the imports the code has."""
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- imports -->", "<!-- /imports -->"
    if start not in text:
        pytest.fail("docs/architecture.md has no <!-- imports --> table")
    table = text.split(start, 1)[1].split(end, 1)[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = {c.strip().strip("`") for c in cells[1].split(",") if c.strip() and c.strip() != "—"}
    built = {src: dsts for src, dsts in graph().items()}
    assert rows == {k: v for k, v in built.items()} | {k: set() for k in rows if k not in built}
