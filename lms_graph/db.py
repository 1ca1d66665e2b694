"""Engines and transactions, one code path for SQLite and PostgreSQL.

Reads run in autocommit mode on one connection per request (no BEGIN/ROLLBACK
round trips, and each statement sees what earlier mutations in the same request
committed). Writes run in an explicit transaction on an engine of their own, so a
request holding its read connection never waits for a second one from the same pool.

SQLite allows one writer at a time. Each process therefore writes through a single
connection: writers queue for it in arrival order (the pool's wait), never spin on the
file lock against each other. Between processes sharing the file, ``BEGIN IMMEDIATE``
takes the lock up front and the busy timeout waits for it. WAL mode lets any number of
readers go on meanwhile, each on a connection of its own.

A connection the server dropped (a restart, ``pg_terminate_backend``, an idle
timeout) is recognised whatever asyncpg calls the failure, and SQLAlchemy discards it
and every older one; reads then run again on a new connection (``RequestConnection``),
and write transactions are run again by ``lms_graph.retries``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext, Result, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.sql import Executable

from lms_graph.retries import committed, mark_commit_failure

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write lock on the SQLite file."""

READ_POOL = (10, 10)
"""PostgreSQL read connections per worker: kept open, and more under load."""
WRITE_POOL = (5, 5)
"""PostgreSQL write connections per worker (transactions are short and fewer)."""
SQLITE_READ_POOL = 10
"""SQLite read connections kept open per worker; more are opened under load (each
costs a thread and a file handle, and WAL readers never block each other)."""
WRITER_WAIT_SECONDS = 120.0
"""The longest a SQLite write waits in its process's queue (the request's deadline
usually ends it sooner)."""

_DEAD_CONNECTION_SIGNS = (
    "connection is closed",
    "connection was closed in the middle of operation",
    "cannot switch to state",
    "cannot perform operation: another operation is in progress",
    "the underlying connection is closed",
)
"""What asyncpg says about a connection the server dropped (SQLAlchemy recognises
only some of these as a disconnect on its own)."""


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


def _recognise_dropped_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.is_disconnect:
            return
        error: BaseException | None = context.original_exception
        while error is not None:
            text = str(error)
            if isinstance(error, ConnectionError) or any(s in text for s in _DEAD_CONNECTION_SIGNS):
                context.is_disconnect = True
                return
            error = error.__cause__


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
            options["poolclass"] = AsyncAdaptedQueuePool
            self.engine = create_async_engine(
                self.url, pool_size=1, max_overflow=0, pool_timeout=WRITER_WAIT_SECONDS, **options
            )
            self.read_engine = create_async_engine(
                self.url, pool_size=SQLITE_READ_POOL, max_overflow=-1, **options
            )
            for engine in self.engines:
                _install_sqlite_pragmas(engine)
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
            for engine in self.engines:
                _recognise_dropped_connections(engine)

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (self.engine, self.read_engine)

    async def read_connection(self) -> AsyncConnection:
        """A connection in autocommit for reads (the caller closes it)."""
        conn = await self.read_engine.connect()
        if self.is_sqlite:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on error.

        A commit that fails is marked as such (``lms_graph.retries``): whether it took
        effect is unknown, so it is never run again blindly.
        """
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(lms_write=True)
            transaction = await conn.begin()
            try:
                yield conn
            except BaseException:
                if transaction.is_active:
                    with suppress(Exception):  # a dropped connection cannot roll back
                        await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except BaseException as error:
                mark_commit_failure(error)
                raise
        committed()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent view for a long read (a workbook
        streamed through a server-side cursor, which PostgreSQL allows only inside a
        transaction). On SQLite it never takes the writer's connection."""
        engine = self.read_engine if self.is_sqlite else self.engine
        async with engine.connect() as conn, conn.begin():
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
            if self._conn is None:
                self._conn = await self._database.read_connection()
            try:
                return await self._conn.execute(statement, params)
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
            # The connection was dropped by the server (a restart, an idle timeout,
            # pg_terminate_backend): SQLAlchemy has discarded it and every older one.
            # Reads are in autocommit, each statement on its own, so this one simply
            # runs again on a new connection.
            stale, self._conn = self._conn, None
            await stale.close()
            self._conn = await self._database.read_connection()
            return await self._conn.execute(statement, params)

    async def close(self) -> None:
        async with self._lock:  # after any statement still in flight
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()
