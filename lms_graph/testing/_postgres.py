"""Throwaway PostgreSQL databases: created on the configured server, dropped after.

When a database cannot be created, ``PostgresUnavailable`` says why in one line
(unreachable server, refused user, no permission to CREATE DATABASE) and how to
run the PostgreSQL tests anyway.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import NoReturn

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

URL_VARIABLE = "LMS_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "LMS_TEST_REQUIRE_POSTGRES"
MAINTENANCE_DATABASE = "postgres"
"""Every stock PostgreSQL server has it: throwaway databases are created from there when
the configured one does not exist."""
DATABASE_PREFIX = "lms_test_"
_ENABLE = f"set {URL_VARIABLE}=postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
_SQLSTATE_NO_DATABASE = "3D000"
_SQLSTATE_AUTHENTICATION = ("28000", "28P01")
_SQLSTATE_NO_PRIVILEGE = "42501"

NOT_CONFIGURED = (
    f"PostgreSQL tests are off: {URL_VARIABLE} is not set. To run them, {_ENABLE} "
    "(a user allowed to CREATE DATABASE)."
)


class PostgresUnavailable(Exception):
    """Why the PostgreSQL tests cannot run, in one line, with how to enable them."""


def postgres_required() -> bool:
    """``LMS_TEST_REQUIRE_POSTGRES=1`` (CI): PostgreSQL tests fail instead of skipping."""
    return os.environ.get(REQUIRE_VARIABLE) == "1"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the PostgreSQL test saying ``reason``; fail it when PostgreSQL is required."""
    if postgres_required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def configured_server() -> str:
    """The server URL of ``LMS_TEST_POSTGRES_URL``; skips (or fails) when it is not set."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if not url:
        skip_or_fail(NOT_CONFIGURED)
    return url


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
    enable = _ENABLE
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
        f"{problem} ({_reason(error)}). To run the PostgreSQL tests, {enable} "
        "(a user allowed to CREATE DATABASE)."
    )


async def postgres_admin(sql: str, url: str) -> None:
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


def create_postgres_database(server_url: str) -> str:
    """A new, empty database on ``server_url``'s server; its URL.

    Raises ``PostgresUnavailable`` when the server does not let us create it.
    """
    name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"', server_url))
    except (OSError, SQLAlchemyError) as error:
        raise _unavailable(server_url, error) from error
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(database_url: str, server_url: str | None = None) -> None:
    """Drop the database of ``database_url`` (its connections are closed first), through
    ``server_url`` (default: the server's ``postgres`` maintenance database)."""
    parsed = make_url(database_url)
    admin = server_url or parsed.set(database=MAINTENANCE_DATABASE).render_as_string(
        hide_password=False
    )
    asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)', admin))
