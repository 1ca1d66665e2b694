"""A serving process keeps the cyclic garbage collector off the request path."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from lms_graph import app as app_module
from lms_graph.app import GC_YOUNG_THRESHOLD, create_app_from_env, tune_gc


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector as the test found it, afterwards."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen_and_collections_wait(collector: None) -> None:
    gc.unfreeze()
    older = gc.get_threshold()[1:]
    tune_gc()
    assert gc.get_freeze_count() > 10_000  # the modules, the schema machinery
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *older)
    assert GC_YOUNG_THRESHOLD > 700  # Python's default, which ran mid-request


def test_the_server_factory_tunes_the_collector(
    collector: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(app_module, "tune_gc", lambda: calls.append(None))
    monkeypatch.setenv("LMS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'lms.db'}")
    monkeypatch.setenv("LMS_SECRET_KEY", "test-secret-key-test-secret-key-0123456789")
    create_app_from_env()
    assert calls == [None]
