"""Fixtures: every test runs on SQLite and on PostgreSQL, against the real app.

PostgreSQL is found at ``LMS_TEST_POSTGRES_URL`` (default: the local server,
user postgres, database test). When it is unreachable its tests skip, unless
``LMS_TEST_REQUIRE_POSTGRES=1`` (CI) makes that an error.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import MetaData, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.models import metadata
from lms_graph.plugin_manager import installed_plugins
from lms_graph.settings import Settings
from tests.helpers import GraphQLClient, StatementCounter, World

POSTGRES_URL = os.environ.get(
    "LMS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LMS_TEST_REQUIRE_POSTGRES") == "1"
BUILTIN_PLUGINS = tuple(
    sorted(
        name
        for name, entry_point in installed_plugins().items()
        if entry_point.dist is not None and entry_point.dist.name == "lms-graph"
    )
)
"""This distribution's own plugins: tests never load stray installed ones."""
SECRET = "test-secret-key-that-is-long-enough-for-hs256"


async def _postgres_admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _make_postgres_database() -> str:
    name = f"lms_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}). "
            "Start a server there, or set LMS_TEST_POSTGRES_URL, to run the PostgreSQL leg."
        )
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for the session, per backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "lms.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = _make_postgres_database()

    async def migrate() -> None:
        lms = LMS(make_settings(url))
        try:
            await upgrade(lms)
        finally:
            await lms.close()

    asyncio.run(migrate())
    yield url
    if request.param == "postgresql":
        name = make_url(url).database
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(url: str, **changes: object) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, plugins=BUILTIN_PLUGINS).replace(**changes)


async def _empty(lms: LMS) -> None:
    """Delete every row (core and plugin tables), children first."""
    tables = [table for table in reversed(_all_tables(lms)) if table.name != "alembic_version"]
    async with lms.db.transaction() as conn:
        if lms.db.is_sqlite:
            for table in tables:
                await conn.execute(table.delete())
        else:
            names = ", ".join(f'"{table.name}"' for table in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


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


def _all_tables(lms: LMS) -> list[Table]:
    return list(merged_metadata(lms).sorted_tables)


@pytest.fixture
async def lms(database_url: str) -> AsyncIterator[LMS]:
    service = LMS(make_settings(database_url))
    await _empty(service)
    yield service
    await service.close()


@pytest.fixture
async def client(lms: LMS) -> AsyncIterator[AsyncClient]:
    from lms_graph.app import create_app

    app = create_app(lms=lms)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield http


@pytest.fixture
def gql(client: AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
def world(lms: LMS) -> World:
    return World(lms)


@pytest.fixture
def statements(lms: LMS) -> Iterator[StatementCounter]:
    counter = StatementCounter(*lms.db.engines)
    yield counter
    counter.close()
