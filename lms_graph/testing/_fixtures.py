"""The fixtures of the ``lms_graph.testing`` pytest plugin (documented in its package)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient
from starlette.applications import Starlette

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.settings import Settings
from lms_graph.testing._command import Command
from lms_graph.testing._databases import (
    BACKENDS,
    empty_database,
    migrate,
    new_database,
    settings_for,
)
from lms_graph.testing._http import GraphQLClient
from lms_graph.testing._postgres import configured_server
from lms_graph.testing._sql import SQLStatements
from lms_graph.testing._users import Users


@pytest.fixture(scope="session", params=BACKENDS)
def lms_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"``, then ``"postgresql"``: every test using the database runs on both."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def lms_postgres_url() -> str:
    """The PostgreSQL server of ``LMS_TEST_POSTGRES_URL``; unset, PostgreSQL tests skip."""
    return configured_server()


@pytest.fixture(scope="session")
def lms_plugins() -> tuple[str, ...] | None:
    """The plugin allow-list (``LMS_PLUGINS``); ``None``: every installed plugin."""
    return None


@pytest.fixture(scope="module")
def lms_database_url(
    request: pytest.FixtureRequest, lms_backend: str, lms_plugins: tuple[str, ...] | None
) -> Iterator[str]:
    """A migrated database per test module and backend (``lms`` empties it for each test)."""
    with new_database(request, lms_backend) as url:
        migrate(url, lms_plugins)
        yield url


@pytest.fixture
def lms_settings(lms_database_url: str, lms_plugins: tuple[str, ...] | None) -> Settings:
    return settings_for(lms_database_url, lms_plugins)


@pytest_asyncio.fixture
async def lms(lms_settings: Settings) -> AsyncIterator[LMS]:
    """The service on the test's database, every table emptied first."""
    service = LMS(lms_settings)
    try:
        await empty_database(service)
        yield service
    finally:
        await service.close()


@pytest.fixture
def lms_app(lms: LMS) -> Starlette:
    """The real ASGI app serving ``lms``."""
    return create_app(lms=lms)


@pytest_asyncio.fixture
async def lms_client(lms_app: Starlette) -> AsyncIterator[AsyncClient]:
    """An httpx client calling the app in process (``http://lms.test``)."""
    transport = ASGITransport(app=lms_app)
    async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
        yield http


@pytest.fixture
def lms_graphql(lms_client: AsyncClient) -> GraphQLClient:
    return GraphQLClient(lms_client)


@pytest.fixture
def lms_users(lms: LMS) -> Users:
    return Users(lms)


@pytest.fixture
def lms_sql(lms: LMS) -> SQLStatements:
    return SQLStatements(lms)


@pytest.fixture
def lms_cli(lms_settings: Settings) -> Command:
    return Command(lms_settings)
