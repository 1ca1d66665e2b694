"""Engines and transactions, one code path for SQLite and PostgreSQL.

Reads run in autocommit mode on one connection per request (no BEGIN/ROLLBACK
round trips, and each statement sees what earlier mutations in the same request
committed). Writes run in an explicit transaction; on SQLite that transaction
starts with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead
of deadlocking when a reader upgrades to a writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Result, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("lms_write") else "BEGIN")


READ_POOL = (10, 10)
"""PostgreSQL read connections per worker: kept open, and more under load."""
WRITE_POOL = (5, 5)
"""PostgreSQL write connections per worker (transactions are short and fewer)."""


class Database:
    """The engines of one database URL, with read and write entry points.

    On PostgreSQL, reads have a pool of their own whose connections are in
    autocommit for good and are not pinged on checkout: a read costs no round trip
    besides its statements (no BEGIN/ROLLBACK, no ping).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            self.engine = create_async_engine(self.url, **options)
            _install_sqlite_pragmas(self.engine)
            self.read_engine = self.engine
        else:
            self.engine = create_async_engine(
                self.url,
                pool_size=WRITE_POOL[0],
                max_overflow=WRITE_POOL[1],
                pool_pre_ping=True,  # a connection a restart broke is replaced
                **options,
            )
            # Reads are not pinged: a request whose first statement meets a connection
            # the server closed opens another and runs it again (``RequestConnection``).
            self.read_engine = create_async_engine(
                self.url,
                pool_size=READ_POOL[0],
                max_overflow=READ_POOL[1],
                isolation_level="AUTOCOMMIT",
                **options,
            )

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (
            (self.engine,) if self.read_engine is self.engine else (self.engine, self.read_engine)
        )

    async def read_connection(self) -> AsyncConnection:
        """A connection in autocommit for reads (the caller closes it)."""
        conn = await self.read_engine.connect()
        if self.is_sqlite:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(lms_write=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection for reads outside a request, checked to be alive
        (read connections are not pinged when the pool hands them out)."""
        conn = await self.read_connection()
        if not self.is_sqlite:
            try:
                await conn.exec_driver_sql("SELECT 1")
            except DBAPIError as error:
                await conn.close()
                if not error.connection_invalidated:
                    raise
                conn = await self.read_connection()
        try:
            yield conn
        finally:
            await conn.close()

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


class RequestConnection:
    """The one read connection a request's resolvers and loaders share.

    Opened on first use and closed when the request ends. A lock serialises the
    statements, since one connection cannot run two at once.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        # Shielded: when a field fails, graphql-core cancels its siblings' resolvers; a
        # statement cancelled half-way would leave the shared connection broken (aiosqlite
        # closes it), so the statement in flight finishes and only its caller is cancelled.
        return await asyncio.shield(self._execute(statement, params))

    async def _execute(self, statement: Executable, params: Any) -> Result[Any]:
        async with self._lock:
            if self._conn is not None:
                return await self._conn.execute(statement, params)
            self._conn = await self._database.read_connection()
            try:
                return await self._conn.execute(statement, params)
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
            # The pooled connection was closed by the server (a restart, an idle
            # timeout): SQLAlchemy has discarded it and every older one; a read can
            # simply run again on a new connection.
            stale, self._conn = self._conn, None
            await stale.close()
            self._conn = await self._database.read_connection()
            return await self._conn.execute(statement, params)

    async def close(self) -> None:
        async with self._lock:  # after any statement still in flight
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()
