"""The package's shape, enforced: layers import only the layers below them, no module imports itself back
through others, and no module outgrows one sitting (500 lines).

Imports are read with ast from every module, counting top-level, deferred (inside functions) and
TYPE_CHECKING imports alike: a deferred import is still a dependency, only a cheaper one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import envr

PACKAGE = Path(envr.__file__).parent
MAX_LINES = 500

# Bottom to top. A module may import its own layer and the layers below it, never a layer above.
LAYERS: list[tuple[str, ...]] = [
    ("envr", "envr.errors", "envr.fsutil", "envr.dirs", "envr.progress"),
    ("envr.shells",),
    ("envr.store",),
    ("envr.project",),
    ("envr.trust",),
    ("envr.history",),
    ("envr.prompt",),
    ("envr.team",),
    ("envr.distribute",),
    ("envr.services",),
    ("envr.cli", "envr.__main__"),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """envr modules this module imports, resolved to module names (from envr.x import y: envr.x.y if a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "envr")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "envr":
                continue
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, name, known) for name, path in mods.items()}


def layer_of(name: str) -> int:
    best, level = -1, -1
    for i, members in enumerate(LAYERS):
        for m in members:
            if (name == m or name.startswith(m + ".")) and len(m) > best:
                best, level = len(m), i
    assert level >= 0, f"{name} is in no layer: add it to LAYERS in {__file__}"
    return level


def test_every_module_belongs_to_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_layers_import_only_downwards() -> None:
    wrong = []
    for name, deps in sorted(graph().items()):
        for dep in sorted(deps):
            if dep == "envr":
                continue
            if layer_of(dep) > layer_of(name):
                wrong.append(f"{name} (layer {layer_of(name)}) imports {dep} (layer {layer_of(dep)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    # A package's __init__ importing its own submodules is not a circle of ideas; only report real ones.
    real = [c for c in circles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert not real, "import circles:\n" + "\n".join(" <-> ".join(c) for c in real)


def test_no_module_is_over_500_lines() -> None:
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concern: {long}"
