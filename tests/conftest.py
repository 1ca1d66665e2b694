"""Fixtures: every test runs on SQLite and on PostgreSQL, against the real app.

PostgreSQL is found at ``LMS_TEST_POSTGRES_URL`` (default: the local server,
user postgres, database test; when that database does not exist, the server's
``postgres`` database is used). Each session creates and drops its own databases.
When the server is unreachable, refuses the user, or the user may not CREATE
DATABASE, its tests skip saying which, unless ``LMS_TEST_REQUIRE_POSTGRES=1`` (CI)
makes that an error.
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
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
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


MAINTENANCE_DATABASE = "postgres"
"""Every stock PostgreSQL server has it: throwaway databases are created from there when
the configured one (``test`` by default) does not exist."""
_SQLSTATE_NO_DATABASE = "3D000"
_SQLSTATE_AUTHENTICATION = ("28000", "28P01")
_SQLSTATE_NO_PRIVILEGE = "42501"


class PostgresUnavailable(Exception):
    """Why the PostgreSQL leg cannot run, in one line, with how to enable it."""


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error, looked for through SQLAlchemy's wrapping."""
    seen: BaseException | None = error
    while seen is not None:
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _reason(error: BaseException) -> str:
    detail = getattr(error, "orig", None) or error
    return " ".join(str(detail).split()) or type(detail).__name__


def _unavailable(url: str, error: BaseException) -> PostgresUnavailable:
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    user = parsed.username or "(default user)"
    code = _sqlstate(error)
    enable = "set LMS_TEST_POSTGRES_URL=postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
    if code in _SQLSTATE_AUTHENTICATION:
        problem = f"PostgreSQL at {where} refused user {user}: authentication failed"
    elif code == _SQLSTATE_NO_PRIVILEGE:
        problem = f"PostgreSQL user {user} at {where} has no permission to CREATE DATABASE"
    elif code is None and isinstance(error, OSError):
        problem = f"PostgreSQL server is unreachable at {where}"
        enable = f"start a server there, or {enable}"
    else:
        problem = f"PostgreSQL at {where} cannot create a test database"
    return PostgresUnavailable(
        f"{problem} ({_reason(error)}). To run the PostgreSQL leg, {enable} "
        "(a user allowed to CREATE DATABASE)."
    )


async def _postgres_admin(sql: str, url: str = POSTGRES_URL) -> None:
    """Run ``sql`` outside a transaction on ``url``'s server, through its configured database,
    or the ``postgres`` maintenance database when that one does not exist."""
    try:
        await _execute(url, sql)
    except DBAPIError as error:
        if _sqlstate(error) != _SQLSTATE_NO_DATABASE:
            raise
        maintenance = make_url(url).set(database=MAINTENANCE_DATABASE)
        await _execute(maintenance.render_as_string(hide_password=False), sql)


async def _execute(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def create_postgres_database(url: str = POSTGRES_URL) -> str:
    """A new, empty database on ``url``'s server; its URL. Raises ``PostgresUnavailable``."""
    name = f"lms_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"', url))
    except (OSError, SQLAlchemyError) as error:
        raise _unavailable(url, error) from error
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(database_url: str) -> None:
    name = make_url(database_url).database
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _make_postgres_database() -> str:
    try:
        return create_postgres_database()
    except PostgresUnavailable as unavailable:
        if REQUIRE_POSTGRES:
            pytest.fail(str(unavailable))
        pytest.skip(str(unavailable))


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
        drop_postgres_database(url)


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
