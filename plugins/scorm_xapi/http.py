"""The HTTP surface: the xAPI statement resource, ``/xapi/about`` and the SCORM runtime.

- ``POST /xapi/statements``: one statement or a list; answers the ids in order.
- ``PUT /xapi/statements?statementId=``: one statement under that id; 204.
- ``GET /xapi/statements``: by ``statementId``/``voidedStatementId``, or filtered.
- ``GET /xapi/about``: the xAPI versions spoken (no credentials needed).
- ``HEAD`` on each xAPI resource: what GET answers, without the body (never a write).
- ``POST /scorm/runtime/{enrollmentId}``: a SCORM API adapter's commit.

xAPI requests must send ``X-Experience-API-Version: 1.0.x``; every xAPI answer
carries ``X-Experience-API-Version: 1.0.3``. Credentials: a bearer token, or HTTP
Basic with an xAPI API key and secret (``createXapiCredential``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import LMS, BadInput, LMSError, Viewer, decode_id, download_viewer
from plugins.scorm_xapi.bodies import dumps, loads
from plugins.scorm_xapi.credentials import basic_pair, basic_viewer
from plugins.scorm_xapi.lrs import store_statements, validate_batch
from plugins.scorm_xapi.retrieval import SINGLE_PARAMS, get_one, get_page
from plugins.scorm_xapi.runtime import commit
from plugins.scorm_xapi.statements import iso

VERSION = "1.0.3"
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
_ACCEPTED_VERSION = re.compile(r"^1\.0(\.\d+)?$")
_STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
}
_CHALLENGE = 'Basic realm="xAPI", Bearer'


def routes(lms: LMS) -> list[BaseRoute]:
    async def statements(request: Request) -> Response:
        return await _xapi(lms, request)

    async def about(request: Request) -> Response:
        return _for_method(
            request, JSONResponse({"version": [VERSION]}, headers={VERSION_HEADER: VERSION})
        )

    async def runtime(request: Request) -> Response:
        return await _runtime(lms, request)

    return [
        # Starlette answers HEAD wherever GET is allowed; the handlers treat it as GET.
        Route("/xapi/statements", statements, methods=["GET", "POST", "PUT"]),
        Route("/xapi/about", about, methods=["GET"]),
        Route("/scorm/runtime/{enrollment_id}", runtime, methods=["POST"]),
    ]


def _for_method(request: Request, response: Response) -> Response:
    """The response itself, or for HEAD its status and headers (Content-Length of the GET
    answer included) without the body."""
    if request.method != "HEAD":
        return response
    return Response(status_code=response.status_code, headers=dict(response.headers))


def _error(error: LMSError, headers: dict[str, str] | None = None) -> Response:
    status = _STATUS.get(error.code, 400)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = _CHALLENGE
    return JSONResponse({"error": error.message, "code": error.code}, status, headers)


async def request_viewer(lms: LMS, request: Request) -> Viewer:
    """Who sends this request: a bearer token's user, or an xAPI credential's (Basic)."""
    header = request.headers.get("authorization")
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
    return await download_viewer(lms, request, request.url.path)


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "application/json").lower()
    if not content_type.startswith("application/json"):
        raise BadInput(
            "Send statements as application/json (multipart/mixed attachments are not "
            "supported; reference attachments by fileUrl)."
        )
    return loads(await request.body())


def _check_parameters(request: Request) -> None:
    """Query parameters are compared with stored text: none may hold a NUL character."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise BadInput("A query parameter holds a NUL character (%00).")


async def _xapi(lms: LMS, request: Request) -> Response:
    return _for_method(request, await _statements(lms, request))


async def _statements(lms: LMS, request: Request) -> Response:
    headers = {VERSION_HEADER: VERSION}
    try:
        version = request.headers.get(VERSION_HEADER)
        if version is None:
            raise BadInput(f"Send the header {VERSION_HEADER}: 1.0.3.")
        if not _ACCEPTED_VERSION.match(version.strip()):
            raise BadInput(f"{VERSION_HEADER} {version!r} is not supported; send 1.0.3.")
        _check_parameters(request)
        viewer = await request_viewer(lms, request)
        if request.method in ("GET", "HEAD"):
            return await _get(lms, viewer, request, headers)
        if request.method == "PUT":
            return await _put(lms, viewer, request, headers)
        if request.query_params:
            raise BadInput("POST /xapi/statements takes no query parameters.")
        batch = validate_batch(await _json_body(request))
        ids = await store_statements(lms, viewer, batch)
        return JSONResponse(ids, headers=headers)
    except LMSError as error:
        return _error(error, headers)


async def _put(lms: LMS, viewer: Viewer, request: Request, headers: dict[str, str]) -> Response:
    params = dict(request.query_params)
    if set(params) != {"statementId"}:
        raise BadInput("PUT /xapi/statements takes exactly one parameter: statementId.")
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadInput("PUT stores one statement: send a JSON object.")
    identifier = params["statementId"]
    if "id" in body and str(body["id"]).lower() != identifier.lower():
        raise BadInput("The statement's id differs from the statementId parameter.")
    batch = validate_batch({**body, "id": identifier})
    await store_statements(lms, viewer, batch)
    return Response(status_code=204, headers=headers)


async def _get(lms: LMS, viewer: Viewer, request: Request, headers: dict[str, str]) -> Response:
    params = dict(request.query_params)
    # Writes commit before they answer, so every statement stored before this moment
    # is in what the query reads.
    consistent = dt.datetime.now(dt.UTC)
    async with lms.db.reader() as conn:
        if set(params) & SINGLE_PARAMS:
            body: Any = await get_one(conn, viewer, params)
        else:
            page = await get_page(lms, conn, viewer, params)
            body = {"statements": page.statements, "more": page.more}
    # What was stored long ago (a NaN, say) is written as JSON can hold it.
    return Response(
        dumps(body),
        media_type="application/json",
        headers={**headers, CONSISTENT_HEADER: iso(consistent)},
    )


async def _runtime(lms: LMS, request: Request) -> Response:
    try:
        enrollment_id = decode_id(request.path_params["enrollment_id"], "Enrollment")
        viewer = await request_viewer(lms, request)
        data = await _json_body(request)
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
