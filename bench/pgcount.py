"""A loopback TCP proxy in front of PostgreSQL that counts the statements clients run.

It reads the frontend side of the wire protocol: a simple query (``Q``) or an
extended-protocol ``Execute`` (``E``) is one statement, whichever the driver
(asyncpg, node-postgres). Statements that do no work for the request (``BEGIN``,
``COMMIT``, ``ROLLBACK``, a connection pool's ``;`` ping) are counted apart, as
``control``: the statement ``Parse`` named is followed through ``Bind`` to the
``Execute``. Used only while counting, never while timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

_SPECIAL_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest
_CONTROL = ("", "BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SELECT 1")


def _cstrings(body: bytes, count: int) -> list[str]:
    return [part.decode("utf-8", "replace") for part in body.split(b"\0", count)[:count]]


def _is_control(sql: str) -> bool:
    return sql.strip().rstrip(";").strip().upper().split(" ISOLATION")[0] in _CONTROL


class StatementCounter:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.statements = 0
        """Statements that do the request's work."""
        self.control = 0
        """Transaction control and pool pings."""
        self.port = 0
        self._open: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _frontend(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            # Start-up packets have no type byte. An SSL/GSS request is answered "no"
            # here (so the stream stays readable), and another start-up packet follows.
            while True:
                length = struct.unpack("!I", await reader.readexactly(4))[0]
                rest = await reader.readexactly(length - 4)
                if struct.unpack("!I", rest[:4])[0] in _SPECIAL_REQUESTS:
                    client.write(b"N")
                    await client.drain()
                    continue
                writer.write(struct.pack("!I", length) + rest)
                break
            prepared: dict[str, str] = {}  # statement name -> SQL, this connection's
            portals: dict[str, str] = {}  # portal name -> SQL
            while True:
                kind = await reader.readexactly(1)
                length = struct.unpack("!I", await reader.readexactly(4))[0]
                body = await reader.readexactly(length - 4)
                if kind == b"P":
                    name, sql = _cstrings(body, 2)
                    prepared[name] = sql
                elif kind == b"B":
                    portal, statement = _cstrings(body, 2)
                    portals[portal] = prepared.get(statement, "?")
                elif kind in (b"Q", b"E"):
                    sql = (
                        _cstrings(body, 1)[0]
                        if kind == b"Q"
                        else portals.get(_cstrings(body, 1)[0], "?")
                    )
                    if _is_control(sql):
                        self.control += 1
                    else:
                        self.statements += 1
                writer.write(kind + struct.pack("!I", length) + body)
                await writer.drain()
        writer.close()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        self._open.update((client_writer, server_writer))
        await asyncio.gather(
            self._frontend(client_reader, server_writer, client_writer),
            self._pipe(server_reader, client_writer),
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[StatementCounter]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            # Let every open connection end on its own (its pipes see EOF).
            for writer in self._open:
                writer.close()
            await asyncio.sleep(0.1)
