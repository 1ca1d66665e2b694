"""An lms-graph with this plugin installed: loaded through its entry point, migrated with
the ``lms-graph`` command, served by the real ASGI app.

Every test runs on SQLite (a temporary file) and on PostgreSQL at
``LMS_TEST_POSTGRES_URL`` (default: the local server, user postgres, database
test). When PostgreSQL is unreachable its tests skip with a message, unless
``LMS_TEST_REQUIRE_POSTGRES=1`` makes that an error.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from lms_graph import LMS
from lms_graph.app import create_app
from lms_graph.auth import issue_token
from lms_graph.cli import main as lms_graph_command
from lms_graph.settings import Settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get(
    "LMS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LMS_TEST_REQUIRE_POSTGRES") == "1"
SECRET = "attendance-test-secret-key-long-enough-for-hs256"
PLUGINS = "self_paced,attendance"
"""The allow-list: the built-in course type the tests compare with, and this plugin."""
ADMIN_EMAIL = "admin@example.com"


async def _postgres_admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database per test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'lms.db'}"
        return
    name = f"lms_attendance_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}); "
            "set LMS_TEST_POSTGRES_URL to run the PostgreSQL leg."
        )
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def environment(database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The service's environment, as an operator would set it."""
    env = {"LMS_DATABASE_URL": database_url, "LMS_SECRET_KEY": SECRET, "LMS_PLUGINS": PLUGINS}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run_command(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``lms-graph ARGS`` in this process; its stdout, or the test fails."""
    code = lms_graph_command(list(args))
    out, err = capsys.readouterr()
    assert code == 0, f"lms-graph {' '.join(args)} exited {code}: {err}"
    return out


@pytest.fixture
def admin_token(environment: dict[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    """Migrated (core and plugin branches) with an administrator, as the README does it."""
    run_command(capsys, "db", "upgrade")
    run_command(capsys, "create-admin", ADMIN_EMAIL)
    return run_command(capsys, "token", ADMIN_EMAIL).strip()


@pytest.fixture
async def lms(environment: dict[str, str], admin_token: str) -> AsyncIterator[LMS]:
    service = LMS(Settings.from_env())
    yield service
    await service.close()


class GraphQL:
    """POST /graphql over the real ASGI app."""

    def __init__(self, http: AsyncClient, lms: LMS) -> None:
        self.http = http
        self.lms = lms

    async def __call__(
        self, query: str, token: str | None = None, **variables: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, token: str | None = None, **variables: Any) -> Any:
        body = await self(query, token, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def token_for(self, user_id: int) -> str:
        return issue_token(self.lms.settings, user_id)


@pytest.fixture
async def gql(lms: LMS) -> AsyncIterator[GraphQL]:
    transport = ASGITransport(app=create_app(lms=lms))
    async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
        yield GraphQL(http, lms)
