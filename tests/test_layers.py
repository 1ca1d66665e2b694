"""The core's modules import downward only: no import circle, and the write side never
reaches the read side.

The graph is read from the source (``ast``), not from a running interpreter, so it
holds every import a module can run, whichever ran first:

- an import inside a function is an edge like any other: importing late to dodge a
  circle leaves the circle in place (it only moves the failure to run time);
- an import under ``if TYPE_CHECKING:`` is not (it never runs); that is how a lower
  module names a higher one's class in an annotation;
- importing ``a.b.c`` imports the packages ``a.b`` and ``a`` too: an edge to each
  (except to the importer's own packages, which Python imports first anyway);
- the root package ``lms_graph`` loads its public names lazily (``importlib``); a core
  module may not import a name from it, only its submodules (``from lms_graph import
  models as m``), or that hidden edge would close a circle.

Migration scripts (``migrations/versions``) are not modules of the package: alembic
loads them by path.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

PACKAGE = "lms_graph"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
WRITE_SIDE = ("lms_graph.services", "lms_graph.actions")
READ_SIDE = ("lms_graph.resolvers", "lms_graph.schema")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        if not (path.parent / "__init__.py").exists():
            continue  # not part of the package (alembic's versions folder)
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere, except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node.test):
            for statement in node.orelse:
                yield from runtime_imports(ast.Module(body=[statement], type_ignores=[]))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from runtime_imports(node)


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _nearest(name: str, modules: Mapping[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """For each module of the package, the package's modules its imports run."""
    modules = module_files(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = _absolute(node, name, path.name == "__init__.py")
            for alias in node.names:  # ``from a import b``: b is a module or a name in a
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
        edges: set[str] = set()
        for target in targets:
            found = _nearest(target, modules)
            while found:
                if found != name and not name.startswith(found + "."):
                    edges.add(found)
                found = found.rpartition(".")[0] or None
                found = found if found in modules else None
        graph[name] = edges
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: Mapping[str, set[str]], start: str) -> dict[str, str]:
    """Every module ``start``'s imports run, directly or not: each with the module that
    imports it on one path from ``start``."""
    via: dict[str, str] = {}
    todo = [start]
    while todo:
        node = todo.pop()
        for target in sorted(graph.get(node, ())):
            if target not in via and target != start:
                via[target] = node
                todo.append(target)
    return via


def _path(via: Mapping[str, str], start: str, end: str) -> str:
    steps = [end]
    while steps[-1] != start:
        steps.append(via[steps[-1]])
    return " -> ".join(reversed(steps))


def write_side_violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Each write-side module that reaches a read-side module, with the path."""
    problems = []
    for name in sorted(graph):
        if not name.startswith(WRITE_SIDE):
            continue
        via = reachable(graph, name)
        for target in sorted(via):
            if target.startswith(READ_SIDE):
                problems.append(_path(via, name, target))
    return problems


def root_name_imports(root: Path = ROOT) -> list[str]:
    """``from lms_graph import X`` in a core module where X is not a submodule."""
    modules = module_files(root)
    problems = []
    for name, path in modules.items():
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module == PACKAGE:
                for alias in node.names:
                    if f"{PACKAGE}.{alias.name}" not in modules:
                        problems.append(f"{name}: from {PACKAGE} import {alias.name}")
    return problems


def test_the_graph_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph()
    # core.py imports the core's own plugin at module level (no late import to hide it)
    assert "lms_graph.actions.builtin" in graph["lms_graph.core"]
    # services name LMS in annotations only, under TYPE_CHECKING
    assert "lms_graph.core" not in graph["lms_graph.services.tx"]
    # a package is imported with its submodule
    assert "lms_graph.schema" in graph["lms_graph.types"]


def test_no_import_cycle_among_core_modules() -> None:
    assert cycles(import_graph()) == []


def test_write_side_never_imports_the_read_side() -> None:
    """Nothing under services/ or actions/ runs an import of resolvers/ or schema/, even
    through another module."""
    assert write_side_violations(import_graph()) == []


def test_core_modules_import_submodules_of_the_root_package_only() -> None:
    assert root_name_imports() == []


def test_the_checks_find_a_circle_and_an_upward_import() -> None:
    graph = {
        "lms_graph.core": {"lms_graph.services.tx"},
        "lms_graph.services.tx": {"lms_graph.core", "lms_graph.resolvers.lists"},
        "lms_graph.resolvers.lists": set(),
    }
    assert cycles(graph) == [["lms_graph.core", "lms_graph.services.tx"]]
    assert write_side_violations(graph) == ["lms_graph.services.tx -> lms_graph.resolvers.lists"]
