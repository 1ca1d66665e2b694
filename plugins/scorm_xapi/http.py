"""The HTTP surface: the xAPI 1.0.3 resources under ``/xapi/`` and the SCORM runtime.

- ``/xapi/statements``: POST, PUT, GET (``statement_http.py``);
- ``/xapi/activities/state``, ``/xapi/activities/profile``, ``/xapi/agents/profile``:
  documents (``document_http.py``); ``/xapi/activities``, ``/xapi/agents``: GET;
- ``/xapi/about``: the versions spoken (no credentials needed);
- ``POST /scorm/runtime/{enrollmentId}``: a SCORM API adapter's commit.

What every xAPI resource shares happens here: the alternate request syntax
(``xrequest.py``), the ``X-Experience-API-Version`` header (sent 1.0.x; answered 1.0.3
on every answer, errors included), ``X-Experience-API-Consistent-Through`` on every GET
answer (errors included), ``HEAD`` (GET without the body, never a write), CORS for
browser content (``LMS_XAPI_ALLOWED_ORIGINS``), credentials (a bearer token, or HTTP
Basic with an xAPI API key and secret from ``createXapiCredential``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import LMS, BadInput, LMSError, Viewer, decode_id, download_viewer
from lms_graph_plugins.scorm_xapi.bodies import loads
from lms_graph_plugins.scorm_xapi.credentials import basic_pair, basic_viewer
from lms_graph_plugins.scorm_xapi.document_http import (
    activities,
    activity_profile,
    agent_profile,
    agents,
    state,
)
from lms_graph_plugins.scorm_xapi.runtime import commit
from lms_graph_plugins.scorm_xapi.statement_http import statements
from lms_graph_plugins.scorm_xapi.statements import iso
from lms_graph_plugins.scorm_xapi.xrequest import XRequest, read_request

VERSION = "1.0.3"
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
ORIGINS_SETTING = "LMS_XAPI_ALLOWED_ORIGINS"
"""Comma-separated origins whose pages may call ``/xapi/*`` (``*``: any); none by default."""
_ACCEPTED_VERSION = re.compile(r"^1\.0(\.\d+)?$")
_STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
}
_CHALLENGE = 'Basic realm="xAPI", Bearer'
_CORS_HEADERS = (
    "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, "
    "Accept-Language"
)
_EXPOSED = f"ETag, Last-Modified, {VERSION_HEADER}, {CONSISTENT_HEADER}"

Handler = Callable[[LMS, Viewer, XRequest], Awaitable[Response]]


class MethodNotAllowed(LMSError):
    code = "METHOD_NOT_ALLOWED"


@dataclasses.dataclass(frozen=True, slots=True)
class Resource:
    path: str
    methods: frozenset[str]
    handler: Handler


RESOURCES = (
    Resource("/xapi/statements", frozenset({"GET", "PUT", "POST"}), statements),
    Resource("/xapi/activities/state", frozenset({"GET", "PUT", "POST", "DELETE"}), state),
    Resource(
        "/xapi/activities/profile", frozenset({"GET", "PUT", "POST", "DELETE"}), activity_profile
    ),
    Resource("/xapi/agents/profile", frozenset({"GET", "PUT", "POST", "DELETE"}), agent_profile),
    Resource("/xapi/activities", frozenset({"GET"}), activities),
    Resource("/xapi/agents", frozenset({"GET"}), agents),
)


def allowed_origins() -> frozenset[str]:
    raw = os.environ.get(ORIGINS_SETTING, "")
    return frozenset(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())


def routes(lms: LMS) -> list[BaseRoute]:
    origins = allowed_origins()
    found: list[BaseRoute] = []
    for resource in RESOURCES:

        async def endpoint(request: Request, resource: Resource = resource) -> Response:
            return await _serve(lms, request, resource, origins)

        # Starlette answers HEAD wherever GET is allowed. POST is taken everywhere for
        # the alternate request syntax, OPTIONS for CORS preflights.
        methods = sorted(resource.methods | {"POST", "OPTIONS"})
        found.append(Route(resource.path, endpoint, methods=methods))

    async def about(request: Request) -> Response:
        return await _about(request, origins)

    async def runtime(request: Request) -> Response:
        return await _runtime(lms, request)

    found.append(Route("/xapi/about", about, methods=["GET", "OPTIONS"]))
    found.append(Route("/scorm/runtime/{enrollment_id}", runtime, methods=["POST"]))
    return found


# --- what every xAPI answer gets ------------------------------------------------------------


def _cors(request: Request, response: Response, origins: frozenset[str]) -> None:
    origin = request.headers.get("origin")
    if origin is None or not ("*" in origins or origin.rstrip("/") in origins):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = _EXPOSED
    response.headers["Vary"] = "Origin"


def _preflight(request: Request, origins: frozenset[str]) -> Response:
    response = Response(status_code=204, headers={VERSION_HEADER: VERSION})
    _cors(request, response, origins)
    if "Access-Control-Allow-Origin" in response.headers:
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, PUT, POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _finish(
    request: Request,
    response: Response,
    origins: frozenset[str],
    *,
    head: bool,
    consistent: dt.datetime | None,
) -> Response:
    response.headers[VERSION_HEADER] = VERSION
    if consistent is not None and CONSISTENT_HEADER not in response.headers:
        response.headers[CONSISTENT_HEADER] = iso(consistent)
    _cors(request, response, origins)
    if head:
        return Response(status_code=response.status_code, headers=dict(response.headers))
    return response


def _error(error: LMSError) -> Response:
    status = _STATUS.get(error.code, 400)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = _CHALLENGE
    return JSONResponse({"error": error.message, "code": error.code}, status, headers)


async def _serve(
    lms: LMS, request: Request, resource: Resource, origins: frozenset[str]
) -> Response:
    if request.method == "OPTIONS":
        return _preflight(request, origins)
    # Writes commit before they answer, so everything stored before this moment is in
    # what a GET reads.
    now = dt.datetime.now(dt.UTC)
    head = request.method == "HEAD"
    reading = request.method in ("GET", "HEAD")
    try:
        xr = await read_request(request)
        head, reading = xr.head, xr.method == "GET"
        if xr.method not in resource.methods:
            raise MethodNotAllowed(f"{resource.path} does not take {xr.method}.")
        _check_version(xr)
        viewer = await request_viewer(lms, request, xr)
        response = await resource.handler(lms, viewer, xr)
    except LMSError as error:
        response = _error(error)
    return _finish(request, response, origins, head=head, consistent=now if reading else None)


def _check_version(xr: XRequest) -> None:
    version = xr.header(VERSION_HEADER)
    if version is None:
        raise BadInput(f"Send the header {VERSION_HEADER}: 1.0.3.")
    if not _ACCEPTED_VERSION.match(version.strip()):
        raise BadInput(f"{VERSION_HEADER} {version!r} is not supported; send 1.0.3.")


async def _about(request: Request, origins: frozenset[str]) -> Response:
    if request.method == "OPTIONS":
        return _preflight(request, origins)
    head = request.method == "HEAD"
    try:
        xr = await read_request(request)
        head = xr.head
        if xr.method != "GET":
            raise MethodNotAllowed("/xapi/about only answers GET.")
        response: Response = JSONResponse({"version": [VERSION], "extensions": {}})
    except LMSError as error:
        response = _error(error)
    return _finish(request, response, origins, head=head, consistent=None)


# --- credentials ---------------------------------------------------------------------------


async def request_viewer(lms: LMS, request: Request, xr: XRequest | None = None) -> Viewer:
    """Who sends this request: a bearer token's user, or an xAPI credential's (Basic). With
    the alternate syntax the ``Authorization`` header may come in the form."""
    header = xr.header("authorization") if xr is not None else request.headers.get("authorization")
    if not header:
        raise LMSError(
            "Send 'Authorization: Bearer <token>' or HTTP Basic with an xAPI API key.",
            code="UNAUTHENTICATED",
        )
    if header.lower().startswith("basic "):
        pair = basic_pair(header)
        viewer = None
        if pair is not None:
            async with lms.db.reader() as conn:
                viewer = await basic_viewer(conn, *pair)
        if viewer is None:
            raise LMSError(
                "The xAPI API key or secret is wrong, or the key was revoked.",
                code="UNAUTHENTICATED",
            )
        return viewer
    if header != request.headers.get("authorization"):
        scope = dict(request.scope)
        scope["headers"] = [
            (k, v) for k, v in request.scope["headers"] if k.lower() != b"authorization"
        ] + [(b"authorization", header.encode("latin-1", errors="replace"))]
        scope["query_string"] = b""
        request = Request(scope)
    return await download_viewer(lms, request, request.url.path)


# --- the SCORM runtime ---------------------------------------------------------------------


async def _runtime(lms: LMS, request: Request) -> Response:
    try:
        enrollment_id = decode_id(request.path_params["enrollment_id"], "Enrollment")
        viewer = await request_viewer(lms, request)
        content_type = request.headers.get("content-type", "application/json").lower()
        if not content_type.startswith("application/json"):
            raise BadInput("Send the CMI data as application/json.")
        data = loads(await request.body())
        done = await commit(lms, viewer, enrollment_id, data)
    except LMSError as error:
        return _error(error)
    return JSONResponse(
        {
            "enrollmentId": request.path_params["enrollment_id"],
            "state": done.state,
            "progress": done.progress,
        }
    )
