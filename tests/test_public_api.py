"""The public surface (``lms_graph``, ``lms_graph.fields``, ``lms_graph.types``), what
plugins import of the core, and what importing the package costs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import lms_graph
import lms_graph.fields
import lms_graph.types

REPO = Path(__file__).resolve().parent.parent
PUBLIC = {
    "lms_graph": lms_graph,
    "lms_graph.fields": lms_graph.fields,
    "lms_graph.types": lms_graph.types,
}
TESTING = "lms_graph.testing"
"""Public for tests only (a plugin's tests, never its code)."""
LAZY_TARGET = "lms_graph.types"
PLUGIN_FOLDERS = sorted(
    [path for path in (REPO / "plugins").iterdir() if (path / "__init__.py").exists()]
    + [REPO / "examples" / "partner-course-type" / "lms_attendance"]
)
HEAVY = ("strawberry", "starlette", "uvicorn", "graphql", "sqlalchemy.ext.asyncio")
"""What the server stack brings; neither ``import lms_graph`` nor ``--help`` needs it."""


def _plugin_modules() -> Iterator[Path]:
    for folder in PLUGIN_FOLDERS:
        yield from sorted(folder.rglob("*.py"))


def _is_lazy(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "lazy") or (
        isinstance(func, ast.Name) and func.id == "lazy"
    )


def core_imports(source: str, filename: str) -> list[str]:
    """What a plugin module imports of the core that is not public, one line each:
    a non-public module, a name a public module does not export (or exports only as
    deprecated), ``lms_graph.testing`` outside tests, a ``strawberry.lazy`` into the
    core other than ``lms_graph.types``. Every import counts (``TYPE_CHECKING`` ones
    too: they name the same internals)."""
    in_tests = "tests" in Path(filename).parts
    problems: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name
                internal = module.split(".")[0] == "lms_graph" and module not in PUBLIC
                if internal and not (in_tests and module == TESTING):
                    problems.append(f"{where}: import {module}")
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            module = node.module
            if module.split(".")[0] != "lms_graph":
                continue
            if in_tests and module == TESTING:
                continue
            if module not in PUBLIC:
                problems.append(f"{where}: from {module} import ...")
                continue
            exported = set(getattr(PUBLIC[module], "__all__", ()))
            for alias in node.names:
                if alias.name not in exported:
                    problems.append(f"{where}: {alias.name} is not exported by {module}")
        elif isinstance(node, ast.Call) and _is_lazy(node) and node.args:
            target = node.args[0]
            if (
                isinstance(target, ast.Constant)
                and isinstance(target.value, str)
                and target.value.split(".")[0] == "lms_graph"
                and target.value != LAZY_TARGET
            ):
                problems.append(f"{where}: strawberry.lazy({target.value!r})")
    return problems


def test_plugins_import_only_the_public_api() -> None:
    problems = [
        problem
        for path in _plugin_modules()
        for problem in core_imports(path.read_text(), str(path.relative_to(REPO)))
    ]
    assert problems == []


def test_the_check_finds_internal_imports() -> None:
    source = """
from typing import TYPE_CHECKING
import strawberry
from lms_graph import LMS, batched, models
from lms_graph.fields import batched as fine
from lms_graph.errors import StartupError
import lms_graph.metrics
if TYPE_CHECKING:
    from lms_graph.schema.users import User
UserType = strawberry.lazy("lms_graph.schema.users")
Fine = strawberry.lazy("lms_graph.types")
"""
    assert core_imports(source, "plugins/x/graphql.py") == [
        "plugins/x/graphql.py:4: batched is not exported by lms_graph",
        "plugins/x/graphql.py:4: models is not exported by lms_graph",
        "plugins/x/graphql.py:6: from lms_graph.errors import ...",
        "plugins/x/graphql.py:7: import lms_graph.metrics",
        "plugins/x/graphql.py:9: from lms_graph.schema.users import ...",
        "plugins/x/graphql.py:10: strawberry.lazy('lms_graph.schema.users')",
    ]
    assert core_imports("from lms_graph.testing import World\n", "plugins/x/tests/t.py") == []
    assert core_imports("from lms_graph.testing import World\n", "plugins/x/graphql.py") != []


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_exported_name_resolves(module: str) -> None:
    exported = PUBLIC[module].__all__
    for name in exported:
        assert getattr(PUBLIC[module], name) is not None, name
    assert set(exported) <= set(dir(PUBLIC[module]))


def test_names_that_moved_still_work_with_a_warning() -> None:
    for name in ("RESOLVE", "batched", "from_parent"):
        with pytest.warns(DeprecationWarning, match=f"lms_graph.{name} .*lms_graph.fields"):
            value = getattr(lms_graph, name)
        assert value is getattr(lms_graph.fields, name)
        assert name not in lms_graph.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lms_graph.ids_param is lms_graph.fields.ids_param


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = lms_graph.nothing_here


def test_version_is_the_installed_distribution() -> None:
    from importlib.metadata import version

    assert lms_graph.__version__ == version("lms-graph")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules loaded in a fresh interpreter once ``code`` has run."""
    report = f"sorted(m for m in {HEAVY!r} if m in sys.modules)"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({report}), file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return loaded


def test_import_lms_graph_loads_no_server_stack() -> None:
    assert _loaded_after("import lms_graph") == []
    # and reading a value type stays light too
    assert _loaded_after("from lms_graph import CourseKind, LearnerStatus, hookimpl") == []


def test_cli_help_loads_no_server_stack() -> None:
    code = "from lms_graph.cli import main\nassert main(['--help']) == 0"
    assert _loaded_after(code) == []


def test_the_probe_sees_the_server_stack() -> None:
    assert "strawberry" in _loaded_after("import lms_graph.types")
