"""The plugin author's guide documents every hook and every name a plugin imports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lms_graph
from lms_graph.actions import builtin
from lms_graph.hookspecs import spec_names
from lms_graph.plugin_manager import build_plugin_manager

GUIDE = Path(__file__).parent.parent / "docs" / "plugins.md"


def _guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _hook_headings() -> list[str]:
    """The hook names of the guide's ``### `name` `` headings, in order."""
    return re.findall(r"^### `(\w+)`\s*$", _guide(), flags=re.MULTILINE)


def _manager_hooks() -> set[str]:
    """Every hook the plugin manager knows (no installed plugin loaded)."""
    pm = build_plugin_manager(allow=(), core=builtin)
    return {name for name in vars(pm.hook) if name.startswith("lms_")}


def test_spec_names_lists_every_hook_of_the_plugin_manager() -> None:
    assert set(spec_names()) == _manager_hooks()


@pytest.mark.parametrize("hook", spec_names())
def test_hook_is_documented_in_plugin_guide(hook: str) -> None:
    assert hook in _hook_headings(), f"docs/plugins.md needs a section headed ### `{hook}`"


def test_plugin_guide_documents_no_hook_that_does_not_exist() -> None:
    unknown = [name for name in _hook_headings() if name.startswith("lms_")]
    assert sorted(set(unknown) - set(spec_names())) == []


@pytest.mark.parametrize("name", lms_graph.__all__)
def test_public_name_is_mentioned_in_plugin_guide(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", _guide()), (
        f"docs/plugins.md does not mention `{name}`, exported by lms_graph"
    )
