"""scripts/check_lock.py: what an environment holds against requirements.lock."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parent.parent
LOCK = ROOT / "requirements.lock"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_lock = _script()


def test_locked_reads_pins_by_canonical_name(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# header\nPyJWT==2.10.1\n    # via lms-graph\ntyping_extensions==4.12.2\n",
        encoding="utf-8",
    )
    assert check_lock.locked(lock) == {"pyjwt": "2.10.1", "typing-extensions": "4.12.2"}


def test_differences_name_what_is_off_the_lock() -> None:
    pins = {"pytest": "9.2.0", "mypy": "1.19.0"}
    have = {"pytest": "8.0.0", "ipython": "9.0.0"}
    assert check_lock.differences(pins, have, exact=False) == [
        "ipython 9.0.0 installed, locked not at all",
        "pytest 8.0.0 installed, locked 9.2.0",
    ]
    assert check_lock.differences(pins, have, exact=True)[-1] == (
        "mypy==1.19.0 locked, not installed"
    )
    assert check_lock.differences(pins, dict(pins), exact=True) == []


def test_this_environment_has_every_locked_version() -> None:
    """make install put each locked package at its locked version (packages a developer
    added beside them are theirs)."""
    pins = check_lock.locked(LOCK)
    have = check_lock.installed(frozenset({"lms-graph"}))
    assert {name: have.get(name) for name in pins} == pins
