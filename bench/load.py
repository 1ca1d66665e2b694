"""A small, bounded HTTP/1.1 load generator for loopback servers.

Each client holds one keep-alive connection and sends the same POST again and again
for a fixed duration (and at most ``max_requests``), timing each request from the
first byte sent to the last byte read. Raw asyncio streams, so the client costs
little of the CPU the servers share with it.

An answer counts as an error when its status is not 200 or its body carries GraphQL
``errors``; with ``request_timeout`` (the burst) it also counts a connection refused or
reset, a response cut short and a request unanswered in time, by kind, and the client
goes on with a new connection.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class Round:
    latencies: list[float]
    """Seconds per request, in the order they finished."""
    seconds: float
    errors: int
    kinds: dict[str, int] = field(default_factory=dict)
    """Errors by kind: ``status 503``, ``graphql errors``, ``timeout``, ``connection``."""

    @property
    def error_rate(self) -> float:
        sent = len(self.latencies) + self.errors
        return self.errors / sent if sent else 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


class Target:
    """One GraphQL endpoint and the request to send it."""

    def __init__(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None):
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK:
            raise ValueError(f"the bench only loads loopback servers, not {parts.hostname}")
        self.host = parts.hostname
        self.port = parts.port or 80
        payload = json.dumps(body).encode()
        lines = [
            f"POST {parts.path or '/'} HTTP/1.1",
            f"Host: {parts.hostname}:{self.port}",
            "Content-Type: application/json",
            "Accept: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
            "",
            "",
        ]
        self.request = "\r\n".join(lines).encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    raise RuntimeError("response without a length")


async def fetch(target: Target) -> tuple[int, Any]:
    """One request on a fresh connection: (status, parsed JSON body)."""
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(target.request)
        status, body = await _read_response(reader)
        return status, json.loads(body)
    finally:
        writer.close()


_GRAPHQL_ERRORS = b'"errors":'


def _failure(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"status {status}"
    if _GRAPHQL_ERRORS in body:
        return "graphql errors"
    return None


async def run(
    target: Target,
    *,
    clients: int,
    seconds: float,
    max_requests: int = 1_000_000,
    request_timeout: float | None = None,
) -> Round:
    """``clients`` connections sending requests back to back for ``seconds``.

    Without ``request_timeout`` a connection failure ends the run (the steady rounds expect
    none); with it, each request may take at most ``request_timeout`` seconds and a failure of
    any kind is counted and the client carries on on a new connection.
    """
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds

    def more() -> bool:
        return time.perf_counter() < deadline and len(latencies) + kinds.total() < max_requests

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[int, bytes]:
        writer.write(target.request)
        return await _read_response(reader)

    async def client() -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while more():
                started = time.perf_counter()
                try:
                    if connection is None:
                        connection = await asyncio.wait_for(
                            asyncio.open_connection(target.host, target.port), request_timeout
                        )
                    status, body = await asyncio.wait_for(exchange(*connection), request_timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    if request_timeout is None:
                        raise
                    kinds["timeout" if isinstance(error, TimeoutError) else "connection"] += 1
                    if connection is not None:
                        connection[1].close()
                        connection = None
                    continue
                failure = _failure(status, body)
                if failure is None:
                    latencies.append(time.perf_counter() - started)
                else:
                    kinds[failure] += 1
        finally:
            if connection is not None:
                connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Round(
        latencies=latencies,
        seconds=time.perf_counter() - started,
        errors=kinds.total(),
        kinds=dict(kinds),
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
