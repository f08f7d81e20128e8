"""Imports inside ``wsactors`` go one way: down the layers of docs/architecture.md.

Every ``import`` and ``from ... import`` in ``src/wsactors`` counts, including the ones
under ``if TYPE_CHECKING:`` and inside functions: a lazy import is still a dependency.
The test reads the source with :mod:`ast`; it imports nothing, so it cannot be fooled
by what happens to be loaded already.

When it fails, the message names the importing file and line and the imported module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "wsactors"

#: Lowest first. A module may import from its own unit (the top-level package or
#: module it belongs to) and from units in lower layers, never from a higher layer
#: nor from another unit of its own layer. docs/architecture.md explains the order.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("exceptions", "groups"),
    ("codec",),
    ("connection",),
    ("transport",),
    ("types", "responses"),
    ("actors",),
    ("socket",),
    ("di",),
    ("routing",),
    ("handlers",),
    ("channels",),
    ("asyncapi", "lifespan", "metrics"),
    ("app",),
    ("server",),
    ("serving",),
    ("demo", "testing"),
    ("cli",),
    ("__init__", "__main__"),
)

LAYER_OF = {unit: index for index, units in enumerate(LAYERS) for unit in units}


@dataclass(frozen=True)
class Import:
    """One import statement's edge: who imports what, and where."""

    importer: str
    imported: str
    file: Path
    line: int

    def __str__(self) -> str:
        where = self.file.relative_to(PACKAGE.parents[1])
        return f"{where}:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _target(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every wsactors module ``path`` imports, submodules named in ``from x import y`` too."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _target(node, name, is_package)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "wsactors" and target != name:
                yield Import(name, target, path, node.lineno)


# One edge per import statement and module (``from .x import a, b`` is one).
EDGES = list(
    dict.fromkeys(edge for name, path in MODULES.items() for edge in imports_of(name, path))
)


def unit(module: str) -> str:
    """The top-level package or module of ``wsactors`` that ``module`` belongs to.

    ``__main__`` modules (``python -m wsactors``, ``python -m wsactors.demo``) are
    entry points: scripts nothing imports, on top of everything.
    """
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "__main__"
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_unit_has_a_layer() -> None:
    units = {unit(name) for name in MODULES}
    assert units - LAYER_OF.keys() == set(), "add the new package to LAYERS"
    assert LAYER_OF.keys() - units == set(), "LAYERS names a package that is gone"


def test_imports_go_down_the_layers() -> None:
    wrong = [
        f"{edge} ({unit(edge.importer)} is layer {LAYER_OF[unit(edge.importer)]}, "
        f"{unit(edge.imported)} is layer {LAYER_OF[unit(edge.imported)]})"
        for edge in EDGES
        if unit(edge.importer) != unit(edge.imported)
        and LAYER_OF[unit(edge.importer)] <= LAYER_OF[unit(edge.imported)]
    ]
    assert wrong == [], "imports that go up or sideways:\n" + "\n".join(wrong)


def test_only_testing_imports_testing() -> None:
    wrong = [
        str(edge)
        for edge in EDGES
        if unit(edge.imported) == "testing" and unit(edge.importer) != "testing"
    ]
    assert wrong == [], "production code importing wsactors.testing:\n" + "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for edge in EDGES:
        if edge.imported in MODULES:
            graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
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

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_no_import_cycle_between_modules() -> None:
    cycles = _cycles()
    details = [
        ", ".join(cycle)
        + ":\n  "
        + "\n  ".join(
            str(edge) for edge in EDGES if edge.importer in cycle and edge.imported in cycle
        )
        for cycle in cycles
    ]
    assert cycles == [], "import cycles:\n" + "\n".join(details)


@pytest.mark.parametrize(
    ("importer", "imported", "expected"),
    [
        ("wsactors.codec.codec", "wsactors.app", "up or sideways"),
        ("wsactors.actors.runtime", "wsactors.transport.base", None),
        ("wsactors.transport.base", "wsactors.actors.runtime", "up or sideways"),
        ("wsactors.demo.app", "wsactors.testing", "up or sideways"),
    ],
)
def test_the_rule_itself(importer: str, imported: str, expected: str | None) -> None:
    """The direction check is not vacuous: an upward edge would be reported."""
    goes_up = LAYER_OF[unit(importer)] <= LAYER_OF[unit(imported)]
    assert goes_up == (expected is not None)
