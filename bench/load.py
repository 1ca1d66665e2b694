"""A small, bounded HTTP/1.1 load generator for loopback servers.

Each client holds one keep-alive connection and sends the same POST again and again
for a fixed duration (and at most ``max_requests``), timing each request from the
first byte sent to the last byte read. Raw asyncio streams, so the client costs
little of the CPU the servers share with it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class Round:
    latencies: list[float]
    """Seconds per request, in the order they finished."""
    seconds: float
    errors: int

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


async def run(
    target: Target, *, clients: int, seconds: float, max_requests: int = 1_000_000
) -> Round:
    """``clients`` connections sending requests back to back for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                started = time.perf_counter()
                writer.write(target.request)
                status, _ = await _read_response(reader)
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Round(latencies=latencies, seconds=time.perf_counter() - started, errors=errors)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
