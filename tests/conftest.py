"""Fixtures: every test runs on SQLite and on PostgreSQL, against the real app.

They come from ``lms_graph.testing``, the pytest plugin partners use, under the names
this suite knows (``database_url``, ``lms``, ``client``, ``gql``, ``world``,
``statements``), with two choices of this suite's own:

- PostgreSQL is found at ``LMS_TEST_POSTGRES_URL``, by default the local server, user
  postgres, database test (when that database does not exist, the server's ``postgres``
  database is used). When the server is unreachable, refuses the user, or the user may
  not CREATE DATABASE, its tests skip saying which, unless ``LMS_TEST_REQUIRE_POSTGRES=1``
  (CI) makes that an error.
- One migrated database per backend for the whole session (each test empties it), with
  this distribution's own plugins only: tests never load stray installed ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from httpx import AsyncClient

from lms_graph.core import LMS
from lms_graph.plugin_manager import installed_plugins
from lms_graph.settings import Settings
from lms_graph.testing import (
    SECRET_KEY,
    GraphQLClient,
    PostgresUnavailable,
    StatementCounter,
    create_postgres_database,
    drop_postgres_database,
    merged_metadata,
    migrate,
    new_database,
    postgres_admin,
    skip_or_fail,
)
from lms_graph.testing import empty_database as _empty
from tests.helpers import World

pytest_plugins = ["lms_graph.testing"]

POSTGRES_URL = os.environ.get(
    "LMS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BUILTIN_PLUGINS = tuple(
    sorted(
        name
        for name, entry_point in installed_plugins().items()
        if entry_point.dist is not None and entry_point.dist.name == "lms-graph"
    )
)
"""This distribution's own plugins: tests never load stray installed ones."""
SECRET = SECRET_KEY

__all__ = [  # imported by test modules from here
    "PostgresUnavailable",
    "_empty",
    "create_postgres_database",
    "drop_postgres_database",
    "merged_metadata",
]


async def _postgres_admin(sql: str, url: str = POSTGRES_URL) -> None:
    await postgres_admin(sql, url)


def _make_postgres_database() -> str:
    """A new database on the configured server; skips (or fails, in CI) when it cannot."""
    try:
        return create_postgres_database(POSTGRES_URL)
    except PostgresUnavailable as unavailable:
        skip_or_fail(str(unavailable))


@pytest.fixture(scope="session")
def lms_postgres_url() -> str:
    """The local server unless ``LMS_TEST_POSTGRES_URL`` says otherwise."""
    return POSTGRES_URL


@pytest.fixture(scope="session")
def lms_plugins() -> tuple[str, ...]:
    return BUILTIN_PLUGINS


@pytest.fixture(scope="session")
def lms_database_url(
    request: pytest.FixtureRequest, lms_backend: str, lms_plugins: tuple[str, ...]
) -> Iterator[str]:
    """One migrated, empty database per backend for the whole session."""
    with new_database(request, lms_backend) as url:
        migrate(url, lms_plugins)
        yield url


@pytest.fixture(scope="session")
def database_url(lms_database_url: str) -> str:
    return lms_database_url


def make_settings(url: str, **changes: object) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, plugins=BUILTIN_PLUGINS).replace(**changes)


@pytest.fixture
def client(lms_client: AsyncClient) -> AsyncClient:
    return lms_client


@pytest.fixture
def gql(lms_graphql: GraphQLClient) -> GraphQLClient:
    return lms_graphql


@pytest.fixture
def world(lms: LMS) -> World:
    return World(lms)


@pytest.fixture
def statements(lms: LMS) -> Iterator[StatementCounter]:
    with StatementCounter(*lms.db.engines) as counter:
        yield counter
