"""The Starlette application: ``/graphql``, ``/healthz``, the exports and plugins' routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from lms_graph.admin import routes as admin_routes
from lms_graph.auth import ANONYMOUS, bearer_token, load_viewer, user_id_from_token
from lms_graph.context import Context
from lms_graph.core import LMS
from lms_graph.db import RequestConnection
from lms_graph.deadline import Deadline
from lms_graph.errors import LMSError, StartupError
from lms_graph.exports import routes as export_routes
from lms_graph.http_limits import BodyLimit
from lms_graph.http_retries import RetryTransactions
from lms_graph.imports_http import routes as import_routes
from lms_graph.loaders import Loaders
from lms_graph.logs import RequestId
from lms_graph.metrics import PATH as METRICS_PATH
from lms_graph.metrics import Metrics, MetricsMiddleware
from lms_graph.plugin_manager import collect
from lms_graph.schema import build_schema
from lms_graph.settings import Settings


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, lms: LMS, **options: Any) -> None:
        super().__init__(build_schema(lms), **options)
        self.lms = lms

    def decode_json(self, data: str | bytes) -> object:
        """A body (or ``variables``, ``map``) that is not a JSON object is a 400 like
        malformed JSON, not an exception deep in strawberry (a 500)."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as error:  # not UTF-8 included
            raise HTTPException(400, f"The request body is not JSON in UTF-8: {error}") from None
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value

    def encode_json(self, data: object) -> bytes:
        """Responses as compact UTF-8 JSON, encoded in C (a page of 100 learners is
        about 60 kB; the standard library took a few milliseconds of it)."""
        return orjson.dumps(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        context = await request_context(self.lms, request if isinstance(request, Request) else None)
        request.scope.setdefault("state", {})[_CONTEXT_KEY] = context
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; then give its read connection back to the pool, whatever
        happened (validation errors and refused requests included)."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            context = scope.get("state", {}).pop(_CONTEXT_KEY, None)
            if context is not None:
                await context.db.close()


_CONTEXT_KEY = "lms_graph.context"


async def request_context(lms: LMS, request: Request | None) -> Context:
    """Identify the viewer from the bearer token (one statement) and set up the request."""
    db = RequestConnection(lms.db)
    viewer = ANONYMOUS
    auth_error: LMSError | None = None
    try:
        token = bearer_token(request.headers.get("authorization") if request else None)
        if token is not None:
            viewer = await load_viewer(db, user_id_from_token(lms.settings, token))
    except LMSError as error:
        auth_error = error
    return Context(
        lms=lms,
        request=request,
        db=db,
        viewer=viewer,
        loaders=Loaders(db),
        auth_error=auth_error,
        json_output=request is not None and lms.settings.sql_rendering and not lms.db.is_sqlite,
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _plugin_routes(lms: LMS, core_paths: set[str]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    owners: dict[str, str] = {}
    for plugin, plugin_routes in collect(lms.pm, "lms_register_routes", lms=lms):
        for route in plugin_routes:
            path = getattr(route, "path", None)
            if path in core_paths:
                raise StartupError(f"plugin {plugin!r} claims the core route {path}")
            if path is not None and path in owners:
                raise StartupError(
                    f"route {path} is claimed by both {owners[path]!r} and {plugin!r}"
                )
            if path is not None:
                owners[path] = plugin
            routes.append(route)
    return routes


def create_app(
    settings: Settings | None = None,
    *,
    lms: LMS | None = None,
    plugins: Iterable[object] = (),
) -> Starlette:
    """Build the ASGI app. ``lms`` may be given to share one service object (tests)."""
    if lms is None:
        lms = LMS(settings or Settings.from_env(), plugins=plugins)
    production = lms.settings.production
    graphql = GraphQLEndpoint(
        lms,
        graphql_ide=None if production else "graphiql",
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )
    core: list[BaseRoute] = [
        Route("/graphql", graphql),
        Route("/healthz", healthz),
        *export_routes(lms),
        *import_routes(lms),
        *admin_routes(lms.settings),
    ]
    metrics = Metrics(lms.db) if lms.settings.metrics_enabled else None
    if metrics is not None:
        core.append(Route(METRICS_PATH, metrics.endpoint, methods=["GET"]))
    core_paths = {getattr(route, "path", "") for route in core}

    background = [
        (plugin, work)
        for plugin, works in collect(lms.pm, "lms_register_background", lms=lms)
        for work in works
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_background(plugin, work)) for plugin, work in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await lms.close()

    app = Starlette(
        routes=[*core, *_plugin_routes(lms, core_paths)],
        middleware=[
            Middleware(RequestId),
            *([Middleware(MetricsMiddleware, metrics=metrics)] if metrics else []),
            Middleware(BodyLimit, settings=lms.settings),
            Middleware(Deadline, seconds=lms.settings.request_timeout, engines=lms.db.engines),
            Middleware(RetryTransactions, skip={"/graphql"}),
        ],
        lifespan=lifespan,
    )
    app.state.lms = lms
    return app


async def _background(plugin: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run a plugin's background work (``lms_register_background``) until the app stops."""
    try:
        await work()
    except asyncio.CancelledError:
        raise
    except Exception:
        logging.getLogger(__name__).exception("plugin %r: background work failed", plugin)
    else:
        logging.getLogger(__name__).warning("plugin %r: background work ended", plugin)


GC_YOUNG_THRESHOLD = 50_000
"""Container objects allocated (net) before the cyclic collector runs: more than one
request builds and frees (a dashboard page of 100 learners is a few thousand)."""


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the request path of a serving process.

    With Python's default threshold (700) it ran a few times per dashboard request,
    each time walking the request's live results, and a full collection walked every
    object of the schema, the plugins and SQLAlchemy (about 160,000): about 1 ms of
    a page's CPU and 4 ms with ``availableActions`` (in-process, 600 requests). The
    objects built at start-up are frozen (``gc.freeze``: never walked again) and the
    collector waits for ``GC_YOUNG_THRESHOLD`` new objects, which requests free by
    reference counting long before that.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def create_app_from_env() -> Starlette:
    """The factory uvicorn workers call (``lms-graph serve``), each in its own process."""
    app = create_app(Settings.from_env())
    tune_gc()
    return app
