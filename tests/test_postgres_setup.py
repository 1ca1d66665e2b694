"""The PostgreSQL test set-up on a stock server: it creates what it needs, and when it
cannot, says exactly why in one line."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import (
    POSTGRES_URL,
    PostgresUnavailable,
    _make_postgres_database,
    _postgres_admin,
    create_postgres_database,
    drop_postgres_database,
)


@pytest.fixture
def server_url() -> str:
    """The configured server, reachable (else this skips, or fails under CI's setting)."""
    drop_postgres_database(_make_postgres_database())
    return POSTGRES_URL


def _with(url: str, *, database: str | None = None, username: str | None = None) -> str:
    """``url`` with another database or another user (without a password)."""
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    if username is not None:
        parsed = parsed.set(username=username, password=None)
    return parsed.render_as_string(hide_password=False)


def test_postgresql_without_the_configured_database_uses_the_maintenance_one(
    server_url: str,
) -> None:
    missing = _with(server_url, database=f"lms_missing_{uuid.uuid4().hex[:10]}")
    created = create_postgres_database(missing)
    try:
        assert make_url(created).database != make_url(missing).database
        asyncio.run(_postgres_admin("SELECT 1", created))
    finally:
        drop_postgres_database(created)


def test_postgresql_unreachable_server_says_where() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"
    with pytest.raises(PostgresUnavailable) as raised:
        create_postgres_database(url)
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL server is unreachable at 127.0.0.1:{port} (")
    assert "LMS_TEST_POSTGRES_URL=" in message
    assert "\n" not in message


def test_postgresql_unknown_user_is_an_authentication_failure(server_url: str) -> None:
    user = f"lms_nobody_{uuid.uuid4().hex[:8]}"
    with pytest.raises(PostgresUnavailable) as raised:
        create_postgres_database(_with(server_url, username=user))
    where = f"{make_url(server_url).host}:{make_url(server_url).port or 5432}"
    assert str(raised.value).startswith(
        f"PostgreSQL at {where} refused user {user}: authentication failed ("
    )


@pytest.fixture
def user_without_createdb(server_url: str) -> Iterator[str]:
    user = f"lms_nocreate_{uuid.uuid4().hex[:8]}"
    asyncio.run(_postgres_admin(f'CREATE ROLE "{user}" LOGIN NOCREATEDB'))
    try:
        yield user
    finally:
        asyncio.run(_postgres_admin(f'DROP ROLE IF EXISTS "{user}"'))


def test_postgresql_user_without_createdb_says_so(
    server_url: str, user_without_createdb: str
) -> None:
    url = _with(server_url, username=user_without_createdb, database="postgres")
    with pytest.raises(PostgresUnavailable) as raised:
        create_postgres_database(url)
    message = str(raised.value)
    assert f"user {user_without_createdb} at " in message
    assert "has no permission to CREATE DATABASE (permission denied to create database)" in message
