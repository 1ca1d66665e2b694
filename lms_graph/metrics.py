"""Figures for the operator: ``/metrics`` in the Prometheus text format.

Served when ``LMS_METRICS=1``, or by default outside production. Each app has a
registry of its own (tests build many apps in one process), so each uvicorn worker
serves its own figures: scrape every worker (see docs/deployment.md).

- ``lms_http_requests_total{route, operation, status}`` and
  ``lms_http_request_duration_seconds{route, operation}``: ``route`` is the route's
  path template (``/imports/reports/{id}/failures.csv``, never the path asked for;
  ``unmatched`` when no route matched); ``operation`` is ``query``, ``mutation`` or
  ``subscription`` on ``/graphql`` (``none`` when no operation was parsed), the HTTP
  method elsewhere. The duration runs until the response has been sent.
- ``lms_errors_total{route, code}``: requests that failed, once per distinct code:
  the ``extensions.code`` of each GraphQL error (``BAD_USER_INPUT``, ``NOT_FOUND``,
  ``TRY_AGAIN``, ``INTERNAL_SERVER_ERROR``...), ``TIMEOUT`` for a request stopped at
  its deadline, otherwise the HTTP status of a 4xx or 5xx answer (``404``).
- ``lms_transaction_retries_total{reason}``: transactions run again
  (``count_retry``); process-wide, since retries happen deep in the services.
- ``lms_db_pool_checked_out``, ``lms_db_pool_idle``, ``lms_db_pool_size`` by
  ``engine`` (``write``, ``read``; read at scrape time), and
  ``lms_db_pool_checkouts_total`` with ``lms_db_pool_wait_seconds_total``: the time
  spent getting a connection from the pool (waiting for a free one, opening a new
  one, the write pool's ping).

Nothing client-chosen becomes a label as it is: no paths, IDs, e-mails or operation
names; codes that are not code-shaped, and codes past the first ``MAX_CODES``, are
counted as ``OTHER``.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

    from lms_graph.db import Database

PATH = "/metrics"
GRAPHQL_PATH = "/graphql"
MAX_CODES = 64
"""Distinct error codes (or retry reasons) kept as labels; later ones count as ``OTHER``."""
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABEL_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
_STATE_KEY = "lms_graph.metrics"


class _Labels:
    """Word-shaped values (``NOT_FOUND``, ``deadlock``), at most ``MAX_CODES`` of them;
    the rest is ``OTHER``."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if not _LABEL_SHAPE.fullmatch(value):
            return "OTHER"
        with self._lock:
            if len(self._seen) >= MAX_CODES:
                return "OTHER"
            self._seen.add(value)
        return value


_RETRIES = Counter(
    "lms_transaction_retries",
    "Transactions run again after the database aborted them, by reason.",
    ["reason"],
    registry=None,
)
_retry_reasons = _Labels()


_EXTRA_COLLECTORS: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Serve ``collector``'s figures in the ``/metrics`` of every app built from now on
    (a plugin's gauges, e.g. the ``email`` plugin's outbox backlog). Its ``collect()`` runs
    at scrape time, on the event loop: it must answer from memory, never wait."""
    if collector not in _EXTRA_COLLECTORS:
        _EXTRA_COLLECTORS.append(collector)


def count_retry(reason: str) -> None:
    """Count one transaction run again (``reason``: e.g. ``deadlock``, ``serialization``).

    Safe to call anywhere, metrics on or off; reasons are bounded like error codes.
    """
    _RETRIES.labels(reason=_retry_reasons(reason)).inc()


@dataclasses.dataclass(slots=True)
class _Outcome:
    """What the layers inside learn about a request, read when it ends."""

    execution: ExecutionContext | None = None
    codes: set[str] = dataclasses.field(default_factory=set)


def _outcome(scope: Scope) -> _Outcome | None:
    found = scope.get("state", {}).get(_STATE_KEY)
    return found if isinstance(found, _Outcome) else None


def note_error(scope: Scope, code: str) -> None:
    """Count ``code`` for this request (no-op when metrics are off)."""
    outcome = _outcome(scope)
    if outcome is not None:
        outcome.codes.add(code)


def observe_operation(execution: ExecutionContext) -> None:
    """Keep the GraphQL operation of this request; its type and error codes are read
    when the request ends (no-op when metrics are off or outside HTTP)."""
    request = getattr(execution.context, "request", None)
    if isinstance(request, Request):
        outcome = _outcome(request.scope)
        if outcome is not None:
            outcome.execution = execution


def _operation_type(execution: ExecutionContext | None) -> str:
    if execution is None or execution.graphql_document is None:
        return "none"
    try:
        return execution.operation_type.value
    except RuntimeError:  # no operation of the name asked for
        return "none"


def _graphql_codes(execution: ExecutionContext | None) -> set[str]:
    result = execution.result if execution is not None else None
    if result is None or not result.errors:
        return set()
    return {str((error.extensions or {}).get("code", "")) for error in result.errors}


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    return f"{path}/{{path}}" if isinstance(route, Mount) else path


@dataclasses.dataclass(slots=True)
class _Waits:
    checkouts: int = 0
    seconds: float = 0.0


class _PoolCollector(Collector):
    """Pool figures of each engine, read when scraped."""

    def __init__(self, engines: Iterable[tuple[str, AsyncEngine]]) -> None:
        self.engines = list(engines)
        self.waits = {name: _time_checkouts(engine.pool) for name, engine in self.engines}

    def collect(self) -> Iterator[Metric]:
        checked_out = GaugeMetricFamily(
            "lms_db_pool_checked_out", "Connections in use, by engine.", labels=["engine"]
        )
        idle = GaugeMetricFamily(
            "lms_db_pool_idle",
            "Open connections waiting in the pool, by engine.",
            labels=["engine"],
        )
        size = GaugeMetricFamily(
            "lms_db_pool_size", "Connections the pool keeps open, by engine.", labels=["engine"]
        )
        checkouts = CounterMetricFamily(
            "lms_db_pool_checkouts",
            "Connections taken from the pool, by engine.",
            labels=["engine"],
        )
        waited = CounterMetricFamily(
            "lms_db_pool_wait_seconds",
            "Time spent getting connections from the pool (waiting, opening), by engine.",
            labels=["engine"],
        )
        for name, engine in self.engines:
            pool = engine.pool
            checked_out.add_metric([name], pool.checkedout() if isinstance(pool, QueuePool) else 0)
            if isinstance(pool, QueuePool):
                idle.add_metric([name], pool.checkedin())
                size.add_metric([name], pool.size())
            waits = self.waits[name]
            checkouts.add_metric([name], waits.checkouts)
            waited.add_metric([name], waits.seconds)
        yield from (checked_out, idle, size, checkouts, waited)


_pool_waits: weakref.WeakKeyDictionary[Pool, _Waits] = weakref.WeakKeyDictionary()


def _time_checkouts(pool: Pool) -> _Waits:
    """Time every ``pool.connect()`` (SQLAlchemy has no event before a checkout); once
    per pool, however many apps share it."""
    waits = _pool_waits.get(pool)
    if waits is not None:
        return waits
    waits = _pool_waits[pool] = _Waits()
    connect = pool.connect

    def timed_connect() -> Any:
        started = time.perf_counter()
        try:
            return connect()
        finally:
            waits.checkouts += 1
            waits.seconds += time.perf_counter() - started

    pool.connect = timed_connect  # type: ignore[method-assign]
    return waits


def _engines(database: Database) -> list[tuple[str, AsyncEngine]]:
    """``write`` (on SQLite it may serve reads too) and ``read`` when it is another."""
    engines = [("write", database.engine)]
    if database.read_engine is not database.engine:
        engines.append(("read", database.read_engine))
    return engines


class Metrics:
    """The registry of one app and what feeds it."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lms_http_requests",
            "Requests answered, by route template, operation (GraphQL) or method, and status.",
            ["route", "operation", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "lms_http_request_duration_seconds",
            "Time until the response was sent, by route template and operation or method.",
            ["route", "operation"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "lms_errors",
            "Failed requests, by route template and error code (GraphQL's extensions.code, "
            "TIMEOUT, or the HTTP status); a request counts once per distinct code.",
            ["route", "code"],
            registry=self.registry,
        )
        self._codes = _Labels()
        self.registry.register(_RETRIES)
        self.registry.register(_PoolCollector(_engines(database)))
        for collector in _EXTRA_COLLECTORS:
            self.registry.register(collector)

    def record(self, scope: Scope, status: int, outcome: _Outcome, seconds: float) -> None:
        route = _route(scope)
        if route == GRAPHQL_PATH:
            operation = _operation_type(outcome.execution)
            codes = _graphql_codes(outcome.execution) | outcome.codes
        else:
            method = str(scope.get("method", ""))
            operation = method if method in _METHODS else "OTHER"
            codes = set(outcome.codes)
        if not codes and status >= 400:
            codes = {str(status)}
        self.requests.labels(route, operation, str(status)).inc()
        self.duration.labels(route, operation).observe(seconds)
        for code in codes:
            self.errors.labels(route, code if code.isdigit() else self._codes(code)).inc()

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Count and time each HTTP request (ASGI middleware)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outcome = _Outcome()
        scope.setdefault("state", {})[_STATE_KEY] = outcome
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, status_send)
        finally:
            self.metrics.record(scope, status, outcome, time.perf_counter() - started)
