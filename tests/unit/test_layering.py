"""The house's shape, kept true: labkit's modules import each other without a circle (every
import counts, also one made inside a function or only for type checking), and the chapters
use labkit's public, documented names only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "labkit"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The labkit modules that ``path`` imports, wherever the import statement stands."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            stem = f"{base}.{node.module}" if node.level and node.module else \
                (base if node.level else node.module or "")
            # `from . import images` imports the module images; `from .x import y` imports x
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name:
                found.add(target)
    return found


def _is_face(path: Path) -> bool:
    """A package's __init__ that only hands names on (defines no function or class)."""
    tree = ast.parse(path.read_text())
    return path.name == "__init__.py" and not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)


def _graph() -> dict[str, set[str]]:
    """Module -> the modules it imports. Importing a package whose __init__ only hands
    names on means importing what that __init__ imports (the face is not a room)."""
    paths = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {_module(p) for p in paths}
    graph = {_module(p): _imports(p, modules) for p in paths}
    faces = {_module(p) for p in paths if _is_face(p)}
    for imported in graph.values():
        for face in imported & faces:
            imported |= {m for m in graph[face] if m.startswith(face + ".")}
        imported -= faces
    return {m: imported for m, imported in graph.items() if m not in faces}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_labkit_has_no_import_circle():
    assert _circles(_graph()) == []


def test_a_circle_would_be_seen(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


# What chapters must not reach into: labkit's internals (docs/architecture.md lists the public
# names; each has a docstring).
INTERNAL = (r"labkit\.cleanup", r"labkit\.runtimes", r"\.node\.layout", r"\.state\.path",
            r"\bLab\(chapter=", r"\._[a-z]")


def test_chapters_use_public_names_only():
    found = []
    for script in sorted((REPO / "notebook-scripts").glob("*.py")):
        for number, line in enumerate(script.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            found += [f"{script.name}:{number}: {line.strip()}" for pattern in INTERNAL
                      if re.search(pattern, line)]
    assert found == []
