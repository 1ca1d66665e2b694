"""``GET /xapi/statements``: one statement by id, or a filtered page with a ``more`` link.

Administrators read every statement; anybody else only those whose actor is
themself. Pages are newest stored first (``ascending=true`` reverses) and keyset
paged: ``more`` is an opaque, signed cursor carrying the filters and the last row.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select

from lms_graph import LMS, BadInput, NotFound, SQLExecutor, Viewer
from lms_graph_plugins.scorm_xapi.bodies import loads
from lms_graph_plugins.scorm_xapi.formats import FORMATS, shaped
from lms_graph_plugins.scorm_xapi.links import ACTIVITY, AGENT
from lms_graph_plugins.scorm_xapi.statements import (
    StatementError,
    actor_key,
    check_agent,
    is_iri,
    is_uuid,
    parse_timestamp,
)
from lms_graph_plugins.scorm_xapi.tables import xapi_statement_links, xapi_statements

PAGE = 100
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId"})
FILTER_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
    }
)
MORE_PATH = "/xapi/statements"


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    statements: list[dict[str, Any]]
    more: str


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise BadInput(f"{name} must be true or false.")
    return value == "true"


def _format(params: Mapping[str, str]) -> str:
    value = params.get("format", "exact")
    if value not in FORMATS:
        raise BadInput(f"format must be one of {', '.join(FORMATS)}.")
    return value


def _visible(viewer: Viewer) -> list[Any]:
    return [] if viewer.is_admin else [xapi_statements.c.user_id == viewer.id]


async def get_one(
    db: SQLExecutor, viewer: Viewer, params: Mapping[str, str], languages: Sequence[str] = ()
) -> dict[str, Any]:
    """``statementId`` (not voided) or ``voidedStatementId`` (voided only)."""
    names = set(params) & SINGLE_PARAMS
    if len(names) > 1:
        raise BadInput("Send statementId or voidedStatementId, not both.")
    extra = set(params) - SINGLE_PARAMS - {"format", "attachments"}
    if extra:
        raise BadInput(f"{names.pop()} cannot be combined with {', '.join(sorted(extra))}.")
    name = names.pop()
    identifier = params[name]
    if not is_uuid(identifier):
        raise BadInput(f"{name} must be a UUID.")
    fmt = _format(params)
    _flag(params, "attachments")
    voided = xapi_statements.c.voided_at.is_not(None)
    row = (
        await db.execute(
            select(xapi_statements.c.body).where(
                xapi_statements.c.statement_id == identifier.lower(),
                voided if name == "voidedStatementId" else ~voided,
                *_visible(viewer),
            )
        )
    ).first()
    if row is None:
        what = "was voided" if name == "voidedStatementId" else "is stored (or it was voided)"
        raise NotFound(f"No statement {identifier} {what}.")
    return shaped(row.body, fmt, languages)


def _filters(params: Mapping[str, str]) -> dict[str, Any]:
    """The query's filters as plain values (they travel inside ``more``)."""
    unknown = set(params) - FILTER_PARAMS
    if unknown:
        raise BadInput(f"Unknown parameter {', '.join(sorted(unknown))}.")
    found: dict[str, Any] = {"format": _format(params), "ascending": _flag(params, "ascending")}
    _flag(params, "attachments")
    for name in ("related_activities", "related_agents"):
        found[name] = _flag(params, name)
    if "agent" in params:
        try:
            agent = loads(params["agent"], "agent")
            check_agent(agent, "agent")
        except (BadInput, StatementError) as error:
            raise BadInput(
                f"agent must be an Agent or identified Group as JSON ({error})."
            ) from None
        key = actor_key(agent)
        if key is None:
            raise BadInput("agent must carry an identifier (mbox, mbox_sha1sum, openid, account).")
        found["actor_key"] = key
    for name in ("verb", "activity"):
        if name in params:
            if not is_iri(params[name]):
                raise BadInput(f"{name} must be an IRI.")
            found[name] = params[name]
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise BadInput("registration must be a UUID.")
        found["registration"] = params["registration"].lower()
    for name in ("since", "until"):
        if name in params:
            try:
                found[name] = parse_timestamp(params[name], name).isoformat()
            except StatementError as error:
                raise BadInput(str(error)) from None
    limit = params.get("limit", "0")
    if not (limit.isascii() and limit.isdigit()):
        raise BadInput("limit must be a whole number (0: the server's page size).")
    digits = limit.lstrip("0")  # however many digits: any limit past a page is a page
    found["limit"] = PAGE if not digits or len(digits) > 3 else min(int(digits), PAGE)
    return found


def _matching(table: Any, filters: Mapping[str, Any]) -> list[Any]:
    """What ``agent``, ``verb``, ``activity`` and ``registration`` ask of a statement row
    (the broad forms with ``related_agents``/``related_activities``)."""
    s = table.c
    links = xapi_statement_links.c
    where: list[Any] = []
    if "actor_key" in filters:
        key = filters["actor_key"]
        if filters.get("related_agents"):
            where.append(
                s.id.in_(select(links.statement_pk).where(links.kind == AGENT, links.key == key))
            )
        else:
            # the Agent or Group as the actor, or as the object (xAPI 1.0.3 section 2.1.3)
            where.append(or_(s.actor_key == key, s.object_key == key))
    if "verb" in filters:
        where.append(s.verb_id == filters["verb"])
    if "activity" in filters:
        if filters.get("related_activities"):
            where.append(
                s.id.in_(
                    select(links.statement_pk).where(
                        links.kind == ACTIVITY, links.key == filters["activity"]
                    )
                )
            )
        else:
            where.append(s.activity_id == filters["activity"])
    if "registration" in filters:
        where.append(s.registration == filters["registration"])
    return where


async def get_page(
    lms: LMS,
    db: SQLExecutor,
    viewer: Viewer,
    params: Mapping[str, str],
    languages: Sequence[str] = (),
) -> Page:
    if "more" in params:
        if len(params) > 1:
            raise BadInput("Follow a more link as it is, without other parameters.")
        filters, after = _read_cursor(lms, viewer, params["more"])
    else:
        filters, after = _filters(params), None
    s = xapi_statements.c
    where: list[Any] = [s.voided_at.is_(None), *_visible(viewer)]
    if "since" in filters:
        where.append(s.stored > dt.datetime.fromisoformat(filters["since"]))
    if "until" in filters:
        where.append(s.stored <= dt.datetime.fromisoformat(filters["until"]))
    ascending = filters["ascending"]
    if after is not None:
        where.append(s.id > after if ascending else s.id < after)
    limit = filters["limit"]
    order = s.id if ascending else s.id.desc()
    matching = _matching(xapi_statements, filters)
    rows = list(
        (
            await db.execute(
                select(s.id, s.body).where(*where, *matching).order_by(order).limit(limit + 1)
            )
        ).all()
    )
    if matching:
        # A statement pointing at a match by StatementRef (a voiding one, say) matches too.
        # A second keyset query over the few statements that point at others, merged: the
        # first stays on the filter's own index.
        target = xapi_statements.alias("target")
        pointing = await db.execute(
            select(s.id, s.body)
            .join(target, target.c.statement_id == s.ref_id)
            .where(*where, s.ref_id.is_not(None), *_matching(target, filters))
            .order_by(order)
            .limit(limit + 1)
        )
        seen = {row.id for row in rows}
        rows += [row for row in pointing if row.id not in seen]
        rows.sort(key=lambda row: int(row.id), reverse=not ascending)
        rows = rows[: limit + 1]
    more = ""
    if len(rows) > limit:
        rows = rows[:limit]
        more = f"{MORE_PATH}?more={_write_cursor(lms, viewer, filters, rows[-1].id)}"
    return Page([shaped(row.body, filters["format"], languages) for row in rows], more)


# --- the more cursor: the filters and the last row, signed ------------------------------


def _mac(lms: LMS, payload: bytes) -> str:
    key = hashlib.sha256(b"xapi-more:" + lms.settings.secret_key.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def _write_cursor(lms: LMS, viewer: Viewer, filters: Mapping[str, Any], after: int) -> str:
    payload = json.dumps({"f": filters, "a": after, "u": viewer.id}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{encoded}.{_mac(lms, payload.encode())}"


def _read_cursor(lms: LMS, viewer: Viewer, cursor: str) -> tuple[dict[str, Any], int]:
    encoded, _, mac = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if not hmac.compare_digest(mac, _mac(lms, payload)):
            raise ValueError
        data = json.loads(payload)
        if data["u"] != viewer.id:
            raise ValueError
        return dict(data["f"]), int(data["a"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadInput("This more link is not valid: start the query again.") from None
