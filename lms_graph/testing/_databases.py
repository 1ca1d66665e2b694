"""Migrated databases for tests: a temporary SQLite file or a throwaway PostgreSQL one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import MetaData, Table, text

from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.models import metadata
from lms_graph.settings import Settings
from lms_graph.testing._postgres import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail,
)

BACKENDS = ("sqlite", "postgresql")
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
"""The tests' signing key (HS256 wants 32 bytes or more)."""


def settings_for(database_url: str, plugins: Sequence[str] | None) -> Settings:
    """The service's settings in a test: ``plugins`` is the allow-list (None: installed ones)."""
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        plugins=None if plugins is None else tuple(plugins),
    )


@contextmanager
def new_database(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """An empty database of ``backend`` for the fixture asking, removed afterwards.

    SQLite: a file in a temporary directory. PostgreSQL: a new database on the server
    of the ``lms_postgres_url`` fixture, dropped afterwards; when it cannot be created
    the test skips saying why (fails under ``LMS_TEST_REQUIRE_POSTGRES=1``).
    """
    if backend == "sqlite":
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        yield f"sqlite+aiosqlite:///{factory.mktemp('lms') / 'lms.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    server: str = request.getfixturevalue("lms_postgres_url")
    try:
        url = create_postgres_database(server)
    except PostgresUnavailable as unavailable:
        skip_or_fail(str(unavailable))
    try:
        yield url
    finally:
        drop_postgres_database(url, server)


def migrate(database_url: str, plugins: Sequence[str] | None) -> None:
    """Upgrade the database (the core's branch and every loaded plugin's), as
    ``lms-graph db upgrade`` does. Call it outside a running event loop."""

    async def run() -> None:
        lms = LMS(settings_for(database_url, plugins))
        try:
            await upgrade(lms)
        finally:
            await lms.close()

    asyncio.run(run())


def merged_metadata(lms: LMS) -> MetaData:
    """The core's tables and every loaded plugin's, in one MetaData.

    A plugin's own MetaData cannot sort (or compare) tables whose foreign keys point
    at core tables (``attempts.id``), as the plugin guide recommends: merged, they
    resolve.
    """
    merged = MetaData()
    for source in [metadata, *(s.metadata for s in lms.migration_sources())]:
        for table in source.tables.values():
            table.to_metadata(merged)
    return merged


async def empty_database(lms: LMS) -> None:
    """Delete every row (core and plugin tables), children first."""
    tables: list[Table] = [
        table
        for table in reversed(merged_metadata(lms).sorted_tables)
        if table.name != "alembic_version"
    ]
    async with lms.db.transaction() as conn:
        if lms.db.is_sqlite:
            for table in tables:
                await conn.execute(table.delete())
        else:
            names = ", ".join(f'"{table.name}"' for table in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
