"""The document resources and the Activities and Agents resources (xAPI 1.0.3,
Communication 2.3-2.7): parameters in, answers out; the rules live in ``documents.py``
and ``people.py``.

- ``/xapi/activities/state``: ``activityId``, ``agent``, ``registration``?, ``stateId``
  (GET/DELETE without it: the ids, or delete them all; ``since`` with the ids);
- ``/xapi/activities/profile``: ``activityId``, ``profileId`` (GET without: the ids);
- ``/xapi/agents/profile``: ``agent``, ``profileId`` (GET without: the ids);
- ``/xapi/activities?activityId=``: the Activity with its definition from statements;
- ``/xapi/agents?agent=``: the Person object.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from lms_graph import LMS, BadInput, Viewer
from lms_graph_plugins.scorm_xapi.bodies import dumps, loads
from lms_graph_plugins.scorm_xapi.documents import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    STATE,
    Preconditions,
    Scope,
    check_access,
    delete_documents,
    get_document,
    list_ids,
    save_document,
)
from lms_graph_plugins.scorm_xapi.people import activity_object, person_object
from lms_graph_plugins.scorm_xapi.statements import (
    StatementError,
    actor_key,
    check_agent,
    is_iri,
    is_uuid,
)
from lms_graph_plugins.scorm_xapi.statements import parse_timestamp as _timestamp
from lms_graph_plugins.scorm_xapi.xrequest import XRequest

MAX_ID = 1024
"""Characters in a stateId, profileId, activityId or agent identifier (their columns)."""
MAX_CONTENT_TYPE = 255


def _params(xr: XRequest, required: set[str], optional: set[str]) -> dict[str, str]:
    params = dict(xr.params)
    missing = sorted(required - set(params))
    if missing:
        raise BadInput(f"Send the parameter {', '.join(missing)}.")
    unknown = sorted(set(params) - required - optional)
    if unknown:
        raise BadInput(f"Unknown parameter {', '.join(unknown)}.")
    return params


def _activity_id(params: Mapping[str, str]) -> str:
    value = params["activityId"]
    if not is_iri(value) or len(value) > MAX_ID:
        raise BadInput("activityId must be an IRI (at most 1,024 characters).")
    return value


def agent_param(params: Mapping[str, str]) -> dict[str, Any]:
    try:
        agent = loads(params["agent"], "agent")
        check_agent(agent, "agent")
    except (BadInput, StatementError) as error:
        raise BadInput(f"agent must be an Agent (or identified Group) as JSON: {error}") from None
    if not isinstance(agent, dict) or not any(
        key in agent for key in ("mbox", "mbox_sha1sum", "openid", "account")
    ):
        raise BadInput("agent must carry an identifier (mbox, mbox_sha1sum, openid, account).")
    key = actor_key(agent)
    if key is not None and len(key) > MAX_ID:
        raise BadInput(f"agent: the identifier is longer than {MAX_ID} characters.")
    return agent


def _document_id(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is not None and (not value or len(value) > MAX_ID):
        raise BadInput(f"{name} must be 1 to 1,024 characters.")
    return value


def _since(params: Mapping[str, str]) -> dt.datetime | None:
    if "since" not in params:
        return None
    try:
        return _timestamp(params["since"], "since")
    except StatementError as error:
        raise BadInput(str(error)) from None


def _preconditions(xr: XRequest) -> Preconditions:
    return Preconditions.parse(xr.header("if-match"), xr.header("if-none-match"))


async def _document_answer(
    lms: LMS,
    viewer: Viewer,
    xr: XRequest,
    scope: Scope,
    id_name: str,
    params: Mapping[str, str],
) -> Response:
    document_id = _document_id(params, id_name)
    if xr.method == "GET":
        check_access(viewer, scope, writing=False)
        async with lms.db.reader() as conn:
            if document_id is None:
                return Response(
                    dumps(await list_ids(conn, scope, _since(params))),
                    media_type="application/json",
                )
            document = await get_document(conn, scope, document_id)
        return Response(
            document.content,
            media_type=document.content_type,
            headers={
                "ETag": f'"{document.etag}"',
                "Last-Modified": email.utils.format_datetime(document.updated, usegmt=True),
            },
        )
    if "since" in params:
        raise BadInput("since only goes with GET without a document id.")
    if xr.method == "DELETE":
        if document_id is None and scope.kind != STATE:
            raise BadInput(f"Send {id_name}: a profile is deleted one document at a time.")
        await delete_documents(lms, viewer, scope, document_id, _preconditions(xr))
        return Response(status_code=204)
    if document_id is None:
        raise BadInput(f"Send {id_name} to write a document.")
    content_type = xr.header("content-type") or "application/octet-stream"
    if len(content_type) > MAX_CONTENT_TYPE:
        raise BadInput(f"Content-Type is at most {MAX_CONTENT_TYPE} characters.")
    await save_document(
        lms,
        viewer,
        scope,
        document_id,
        xr.body,
        content_type,
        merge=xr.method == "POST",
        preconditions=_preconditions(xr),
    )
    return Response(status_code=204)


async def state(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = _params(xr, {"activityId", "agent"}, {"registration", "stateId", "since"})
    registration = params.get("registration")
    if registration is not None and not is_uuid(registration):
        raise BadInput("registration must be a UUID.")
    scope = Scope(
        STATE,
        activity_id=_activity_id(params),
        agent=agent_param(params),
        registration=registration.lower() if registration else None,
    )
    return await _document_answer(lms, viewer, xr, scope, "stateId", params)


async def activity_profile(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = _params(xr, {"activityId"}, {"profileId", "since"})
    scope = Scope(ACTIVITY_PROFILE, activity_id=_activity_id(params))
    return await _document_answer(lms, viewer, xr, scope, "profileId", params)


async def agent_profile(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = _params(xr, {"agent"}, {"profileId", "since"})
    scope = Scope(AGENT_PROFILE, agent=agent_param(params))
    return await _document_answer(lms, viewer, xr, scope, "profileId", params)


async def activities(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = _params(xr, {"activityId"}, set())
    viewer.require_user()
    async with lms.db.reader() as conn:
        found = await activity_object(conn, _activity_id(params))
    return Response(dumps(found), media_type="application/json")


async def agents(lms: LMS, viewer: Viewer, xr: XRequest) -> Response:
    params = _params(xr, {"agent"}, set())
    viewer.require_user()
    return JSONResponse(person_object(agent_param(params)))
