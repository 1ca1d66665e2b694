"""Every Python example of the plugin author's guide works, and uses only the plugin API.

Each ```python block of docs/plugins.md is, after an HTML comment just before it:

- ``<!-- file: PATH -->``: a file of an example package, written to a temporary folder
  at PATH (``lms_challenges/__init__.py``); a ``tests/...`` file is run by pytest;
- ``<!-- same code as: PATH -->``: a copy of the repository's file PATH (its code, the
  docstrings and ``from __future__`` aside);
- ``<!-- excerpt of: PATH -->``: definitions shown again from the guide's file PATH: each
  must be there as it is (and is checked there);
- ``<!-- fragment -->``: an excerpt that cannot stand alone: it is compiled, and a hook
  implementation in it must name a hook and only its arguments (a signature alone, with
  ``...`` for a body, must be the specification's exactly);
- nothing: a module on its own, written to the temporary folder like a file.

Every module and file is type-checked by one strict mypy run and imported; a plugin
among them must load (pluggy checks every hook name and argument) and build its schema.
Every block, fragments included, may import from lms-graph only the plugin API: the
names in ``__all__`` of ``lms_graph``, ``lms_graph.fields``, ``lms_graph.types`` and
``lms_graph.testing`` (docs/plugins.md, "Plugin API policy").
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from mypy import api as mypy_api

from lms_graph import LMS, hookspecs
from lms_graph.schema import build_schema
from lms_graph.settings import Settings

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
PUBLIC_MODULES = ("lms_graph", "lms_graph.fields", "lms_graph.types", "lms_graph.testing")
MYPY_CONFIG = """\
[mypy]
python_version = 3.11
strict = True
plugins = strawberry.ext.mypy_plugin
cache_dir = {cache}
# strawberry.field(description=...) is untyped for mypy (so for the example package too).
disable_error_code = untyped-decorator
"""
PYTEST_CONFIG = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = -p no:cacheprovider
"""

_FENCE = re.compile(r"^(?P<indent> *)```(?P<language>\w+)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<text>.*?)\s*-->\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced block of the guide."""

    line: int
    language: str
    code: str
    marker: str

    @property
    def where(self) -> str:
        return f"docs/plugins.md:{self.line}"

    @property
    def path(self) -> str | None:
        """Where the block goes in the temporary folder; None for fragments and copies."""
        if self.marker.startswith("file:"):
            return self.marker.removeprefix("file:").strip()
        if self.marker:
            return None
        return f"guide_block_{self.line}.py"


def guide_blocks(language: str = "python") -> list[Block]:
    """Every block of ``language``, dedented, with the HTML comment on the line before it."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        index += 1
        while lines[index].strip() != "```":
            index += 1
        if fence["language"] == language:
            code = textwrap.dedent("\n".join(lines[start + 1 : index])) + "\n"
            before = next((line for line in reversed(lines[:start]) if line.strip()), "")
            marker = _MARKER.match(before)
            blocks.append(Block(start + 1, language, code, marker["text"] if marker else ""))
        index += 1
    return blocks


BLOCKS = guide_blocks()
FILES = [block for block in BLOCKS if block.path is not None]


def _public_names(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


def lms_imports(tree: ast.AST) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) of every import of lms-graph's code: name None for ``import m``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None


def private_imports(code: str) -> list[str]:
    """The imports of lms-graph's code that are not the plugin API, as ``line: what``
    (``strawberry.lazy("lms_graph...")`` included: a type named there is imported too)."""
    found = []
    tree = ast.parse(code)
    for line, module, name in [*lms_imports(tree), *_lazy_imports(tree)]:
        if module.split(".")[0] not in {"lms_graph", "lms_graph_plugins"}:
            continue
        if module not in PUBLIC_MODULES:
            found.append(f"{line}: {module} is not public")
        elif name is not None and name not in _public_names(module):
            found.append(f"{line}: {module}.{name} is not in {module}.__all__")
    return found


def _lazy_imports(tree: ast.AST) -> Iterator[tuple[int, str, None]]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "lazy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value, None


def hook_mismatches(code: str) -> list[str]:
    """Hook implementations that name no hook or an argument their hook does not have."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(_is_hookimpl(decorator) for decorator in node.decorator_list):
            continue
        spec = getattr(hookspecs, node.name, None)
        if node.name not in hookspecs.spec_names() or spec is None:
            found.append(f"{node.lineno}: {node.name} is no hook")
            continue
        wanted = _spec_arguments(spec)
        unknown = [arg.arg for arg in node.args.args if arg.arg not in wanted]
        if unknown:
            found.append(f"{node.lineno}: {node.name} has no argument {', '.join(unknown)}")
        elif _only_ellipsis(node) and _signature(node) != _spec_signature(spec):
            found.append(
                f"{node.lineno}: {node.name}{_signature(node)}, "
                f"the specification says {node.name}{_spec_signature(spec)}"
            )
        found += [
            f"{node.lineno}: {node.name} takes {arg.arg}: {ast.unparse(arg.annotation)}, "
            f"the specification {arg.arg}: {wanted[arg.arg]}"
            for arg in node.args.args
            if arg.annotation
            and ast.unparse(arg.annotation) != wanted.get(arg.arg)
            and arg.arg in wanted
        ]
    return found


def _is_hookimpl(decorator: ast.expr) -> bool:
    """``@hookimpl`` or ``@hookimpl(...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "hookimpl"


def _only_ellipsis(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    (first, *rest) = node.body
    return (
        not rest
        and isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and first.value.value is Ellipsis
    )


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = ", ".join(
        f"{arg.arg}: {ast.unparse(arg.annotation)}" if arg.annotation else arg.arg
        for arg in node.args.args
    )
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"({args}){returns}"


def _spec_definition(spec: object) -> ast.FunctionDef:
    """The specification as written in hookspecs.py (its annotations are text there)."""
    assert callable(spec)
    definition = ast.parse(textwrap.dedent(inspect.getsource(spec))).body[0]
    assert isinstance(definition, ast.FunctionDef)
    return definition


def _spec_signature(spec: object) -> str:
    return _signature(_spec_definition(spec))


def _spec_arguments(spec: object) -> dict[str, str]:
    """Each argument of a hook, with its annotation as written."""
    return {
        arg.arg: ast.unparse(arg.annotation) if arg.annotation else ""
        for arg in _spec_definition(spec).args.args
    }


def _without_docstrings(code: str) -> str:
    """The code's syntax tree, less its docstrings and ``from __future__`` imports."""
    tree = ast.parse(code)
    tree.body = [
        node
        for node in tree.body
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    ]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            del body[0]
    return ast.dump(tree)


# --- the blocks as a package: written once, type-checked once ---------------------------


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The guide's files and modules in a temporary folder, importable while the tests run."""
    root = tmp_path_factory.mktemp("guide")
    for block in FILES:
        assert block.path is not None
        target = root / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
    _install(root)
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            if str(root) in str(getattr(sys.modules[name], "__file__", "")):
                del sys.modules[name]


def _install(root: Path) -> None:
    """Have the guide's package look installed to the guide's tests, as ``pip install``
    leaves it: its name and entry points (from the guide's ``pyproject.toml``) in a
    ``.dist-info`` folder of ``site``, on their path only."""
    (project,) = [
        data["project"]
        for block in guide_blocks("toml")
        if "name" in (data := tomllib.loads(block.code)).get("project", {})
    ]
    info = root / "site" / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    info.joinpath("METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    points = [
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
        for group, entries in project["entry-points"].items()
    ]
    info.joinpath("entry_points.txt").write_text("\n".join(points), encoding="utf-8")


def _importable(block: Block) -> str | None:
    """The module name a file is imported as; None for tests and migration revisions."""
    assert block.path is not None
    path = Path(block.path)
    if path.parts[0] == "tests" or "migrations" in path.parts:
        return None
    parts = path.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def mypy_report(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    cache = tmp_path_factory.mktemp("mypy-cache")
    config = examples / "mypy.ini"
    config.write_text(MYPY_CONFIG.format(cache=cache), encoding="utf-8")
    files = [str(examples / block.path) for block in FILES if block.path is not None]
    out, err, status = mypy_api.run(["--config-file", str(config), *files])
    return out + err, status


# --- the tests ------------------------------------------------------------------------


def test_guide_has_python_blocks_of_each_kind() -> None:
    markers = {block.marker.split(":")[0] for block in BLOCKS}
    assert {"", "file", "fragment"} <= markers, markers
    assert {block.path for block in FILES} >= {"lms_challenges/__init__.py"}


DRIFT = """\
from lms_graph import LMS, batched
from lms_graph.values import MenuLearner
from lms_graph.sql import ids_in
import lms_graph.services.tx
from lms_graph.fields import ids_param
from lms_graph.types import Enrollment
Certificate = strawberry.lazy("lms_graph_plugins.certificates.graphql")
@hookimpl
def lms_graphql() -> GraphQLExtension: ...

@hookimpl
def lms_veto_action(action: str, learner: MenuLearner) -> None:
    return None

@hookimpl
def lms_mass_actions(lms: LMS, course: CourseRecord) -> list[str]: ...

@hookimpl
def lms_learner_facts(db: Any, learners: Sequence[LearnerRef]) -> None:
    return None

def lms_helper(lms: LMS) -> None: ...
"""


def test_the_checks_find_drift() -> None:
    assert private_imports(DRIFT) == [
        "1: lms_graph.batched is not in lms_graph.__all__",
        "2: lms_graph.values is not public",
        "3: lms_graph.sql is not public",
        "4: lms_graph.services.tx is not public",
        "7: lms_graph_plugins.certificates.graphql is not public",
    ]
    assert hook_mismatches(DRIFT) == [
        "9: lms_graphql is no hook",
        "12: lms_veto_action has no argument learner",
        "16: lms_mass_actions(lms: LMS, course: CourseRecord) -> list[str], "
        "the specification says lms_mass_actions(lms: LMS, course: CourseRecord) "
        "-> Sequence[str] | None",
        "19: lms_learner_facts takes db: Any, the specification db: SQLExecutor",
    ]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"line{block.line}")
def test_block_imports_only_the_plugin_api(block: Block) -> None:
    assert private_imports(block.code) == [], block.where


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"line{block.line}")
def test_block_compiles_and_its_hooks_match_the_specifications(block: Block) -> None:
    compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert hook_mismatches(block.code) == [], block.where


def test_guide_files_and_modules_pass_strict_mypy(mypy_report: tuple[str, int]) -> None:
    report, status = mypy_report
    assert status == 0, report


@pytest.mark.parametrize(
    "block", [b for b in FILES if _importable(b)], ids=lambda block: str(block.path)
)
def test_guide_module_imports_and_its_plugin_loads(block: Block, examples: Path) -> None:
    name = _importable(block)
    assert name is not None
    module = importlib.import_module(name)
    if any(getattr(module, hook, None) for hook in hookspecs.spec_names()):
        _load(module)


def _load(module: ModuleType) -> None:
    """Register the plugin as the service does (pluggy checks hook names and arguments)."""
    lms = LMS(Settings(database_url="sqlite+aiosqlite://", plugins=()), plugins=[module])
    build_schema(lms)


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.marker.startswith("same code as:")],
    ids=lambda block: f"line{block.line}",
)
def test_copy_is_the_code_of_its_file(block: Block) -> None:
    source = ROOT / block.marker.removeprefix("same code as:").strip()
    assert _without_docstrings(block.code) == _without_docstrings(
        source.read_text(encoding="utf-8")
    ), f"{block.where} differs from {source.relative_to(ROOT)}"


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.marker.startswith("excerpt of:")],
    ids=lambda block: f"line{block.line}",
)
def test_excerpt_is_in_its_file(block: Block) -> None:
    path = block.marker.removeprefix("excerpt of:").strip()
    (whole,) = [b for b in FILES if b.path == path]
    definitions = {ast.dump(node) for node in ast.parse(whole.code).body}
    missing = [
        f"{node.lineno}: {ast.unparse(node).splitlines()[0]}"
        for node in ast.parse(block.code).body
        if ast.dump(node) not in definitions
    ]
    assert missing == [], f"{block.where}: not as in {whole.where} ({path})"


def test_guide_tests_pass(examples: Path) -> None:
    """The guide's test files, run by pytest against its example package (SQLite)."""
    assert any(block.path and block.path.startswith("tests/test_") for block in FILES)
    (examples / "pytest.ini").write_text(PYTEST_CONFIG, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LMS_", "PYTEST_ADDOPTS", "COV_"))
    }
    env["PYTHONPATH"] = os.pathsep.join([str(examples), str(examples / "site")])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests"],
        cwd=examples,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
