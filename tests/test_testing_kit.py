"""``lms_graph.testing``, the pytest plugin partners enable: its statement counter counts
exactly, its databases migrate on both backends, and its PostgreSQL variant skips, saying
how to enable it, when no server is configured."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from lms_graph.core import LMS
from lms_graph.testing import (
    NOT_CONFIGURED,
    SQLStatements,
    StatementCounter,
    merged_metadata,
)
from tests.conftest import POSTGRES_URL


async def test_counter_counts_exactly_the_statements_sent(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'count.db'}")
    try:
        async with engine.connect() as conn:  # the first connection's set-up is not counted
            await conn.execute(text("SELECT 0"))
        with StatementCounter(engine) as counter:
            async with engine.connect() as conn:
                for n in (1, 2, 3):
                    await conn.execute(text(f"SELECT {n}"))
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 4"))  # after the block: not counted
    finally:
        await engine.dispose()
    assert counter.statements == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert counter.count == 3
    assert str(counter) == "3 SQL statements:\n  1. SELECT 1\n  2. SELECT 2\n  3. SELECT 3"
    counter.reset()
    assert counter.count == 0


async def test_lms_sql_counts_both_engines_of_the_service(lms: LMS, lms_sql: SQLStatements) -> None:
    """A write (the writer engine) and a read (the reader engine) are both seen, and the
    same block costs the same statements each time."""
    runs: list[list[str]] = []
    for _ in range(2):
        with lms_sql.count() as counter:
            async with lms.db.transaction() as conn:
                await conn.execute(text("SELECT 41"))
            async with lms.db.reader() as conn:
                await conn.execute(text("SELECT 42"))
        runs.append(counter.statements)
    first, second = runs
    assert "SELECT 41" in first
    assert "SELECT 42" in first
    assert first == second
    async with lms.db.reader() as conn:
        await conn.execute(text("SELECT 43"))
    assert "SELECT 43" not in second


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_every_backend_is_migrated(lms: LMS, lms_backend: str) -> None:
    """The core's tables and every loaded plugin's exist, at their heads, on each backend."""
    assert lms.db.url.get_backend_name() == lms_backend
    async with lms.db.reader() as conn:
        tables = await conn.run_sync(_tables)
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert set(merged_metadata(lms).tables) <= tables
    assert len(versions) == 1 + len(lms.migration_sources())  # the core's head, one per branch


CONFTEST = 'pytest_plugins = ["lms_graph.testing"]\n'
PARTNER_TEST = """
from pathlib import Path

def test_database(lms_database_url: str, lms_backend: str) -> None:
    Path("urls.txt").open("a").write(lms_database_url + "\\n")
    assert lms_database_url.startswith(lms_backend)
"""


def _partner_run(
    directory: Path, *args: str, postgres_url: str | None = None, required: bool = False
) -> subprocess.CompletedProcess[str]:
    """pytest in a new process on a partner's test module, in ``directory``."""
    (directory / "test_partner.py").write_text(PARTNER_TEST)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("LMS_TEST_")
    }
    if postgres_url is not None:
        environment["LMS_TEST_POSTGRES_URL"] = postgres_url
    if required:
        environment["LMS_TEST_REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q", *args],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_a_server_the_postgresql_variant_skips_saying_how_to_enable_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    run = _partner_run(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout, run.stdout
    assert NOT_CONFIGURED in " ".join(run.stdout.split()), run.stdout
    assert "LMS_TEST_POSTGRES_URL=postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB" in NOT_CONFIGURED


def test_required_postgresql_without_a_server_fails(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    run = _partner_run(tmp_path, required=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 passed, 1 error" in run.stdout, run.stdout


def test_enabled_by_option_and_never_loaded_unasked(tmp_path: Path) -> None:
    """``-p lms_graph.testing`` enables it as the conftest line does; without either, a
    pytest run in an environment where lms-graph is installed does not know its fixtures."""
    run = _partner_run(tmp_path, "-p", "lms_graph.testing")
    assert "1 passed, 1 skipped" in run.stdout, run.stdout
    run = _partner_run(tmp_path)
    assert "fixture 'lms_database_url' not found" in run.stdout, run.stdout


def test_postgresql_databases_are_made_migrated_and_dropped(tmp_path: Path) -> None:
    """With a server configured, each backend gets its database; PostgreSQL's is dropped
    after the module."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    run = _partner_run(tmp_path, postgres_url=POSTGRES_URL)
    if "PostgreSQL" in run.stdout and "skipped" in run.stdout:
        pytest.skip(f"no PostgreSQL server for this test: {run.stdout}")
    assert "2 passed" in run.stdout, run.stdout + run.stderr
    sqlite_url, postgres_url = (tmp_path / "urls.txt").read_text().split()
    assert sqlite_url.startswith("sqlite+aiosqlite:///")
    name = make_url(postgres_url).database
    assert name is not None
    assert name.startswith("lms_test_")
    assert not asyncio.run(_database_exists(name))


async def _database_exists(name: str) -> bool:
    server = make_url(POSTGRES_URL).set(database="postgres")  # the maintenance database
    engine = create_async_engine(server)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return found.first() is not None
    finally:
        await engine.dispose()
