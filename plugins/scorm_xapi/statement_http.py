"""``/xapi/statements``: POST (one or a list; the ids in order), PUT (``?statementId=``;
204), GET (one by id, or a filtered page)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from lms_graph import LMS, BadInput, Viewer
from lms_graph_plugins.scorm_xapi.attachments import Part, read_statement_request, statement_result
from lms_graph_plugins.scorm_xapi.formats import accepted_languages
from lms_graph_plugins.scorm_xapi.lrs import store_statements, validate_batch
from lms_graph_plugins.scorm_xapi.retrieval import SINGLE_PARAMS, get_one, get_page
from lms_graph_plugins.scorm_xapi.xrequest import XRequest


async def statements(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    if xr.method == "GET":
        return await _get(lms, viewer, xr)
    if xr.method == "PUT":
        return await _put(lms, viewer, xr)
    if xr.params:
        raise BadInput("POST /xapi/statements takes no query parameters.")
    raw, parts = read_statement_request(xr)
    batch = validate_batch(raw)
    ids = await store_statements(lms, viewer, batch, parts)
    return JSONResponse(ids)


async def _put(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = dict(xr.params)
    if set(params) != {"statementId"}:
        raise BadInput("PUT /xapi/statements takes exactly one parameter: statementId.")
    body, parts = read_statement_request(xr)
    if not isinstance(body, dict):
        raise BadInput("PUT stores one statement: send a JSON object.")
    identifier = params["statementId"]
    if "id" in body and str(body["id"]).lower() != identifier.lower():
        raise BadInput("The statement's id differs from the statementId parameter.")
    batch = validate_batch({**body, "id": identifier})
    await store_statements(lms, viewer, batch, parts)
    return Response(status_code=204)


async def _get(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = dict(xr.params)
    languages = accepted_languages(xr.header("accept-language"))
    with_attachments = params.get("attachments", "false").lower() == "true"
    async with lms.db.reader() as conn:
        if set(params) & SINGLE_PARAMS:
            one = await get_one(conn, viewer, params, languages)
            body: Any = one
            found = [one]
        else:
            page = await get_page(lms, conn, viewer, params, languages)
            body = {"statements": page.statements, "more": page.more}
            found = page.statements
        parts: list[Part] = []
        if with_attachments:
            parts = await _parts(conn, found)
    return statement_result(body, parts if with_attachments else None)


async def _parts(conn: Any, found: list[dict[str, Any]]) -> list[Part]:
    from lms_graph_plugins.scorm_xapi.attachments import stored_parts

    return await stored_parts(conn, found)
