"""Storing xAPI statements: validation, the learner-about-themself rule, conflicts,
voiding, linking each statement to the enrollment it is about, then progress.

A batch is all or nothing: one bad statement refuses the whole batch (400), one
about somebody else (403) or one reusing an id with other content (409) too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lms_graph import (
    LMS,
    BadInput,
    Conflict,
    Forbidden,
    LMSError,
    SQLExecutor,
    Viewer,
    refresh_learners,
    write,
)
from lms_graph_plugins.scorm_xapi.attachments import Part, match_parts, store_parts
from lms_graph_plugins.scorm_xapi.iris import (
    agent_email,
    agent_of,
    agent_user_id,
    is_self,
    parse_activity,
)
from lms_graph_plugins.scorm_xapi.links import links_of, ref_of
from lms_graph_plugins.scorm_xapi.progress import CMI5_PROGRESS, PROGRESSED
from lms_graph_plugins.scorm_xapi.signed import check_signatures
from lms_graph_plugins.scorm_xapi.statements import (
    VOIDED,
    StatementError,
    actor_key,
    check_statement,
    iso,
    new_id,
    normalized,
    object_type,
    signature,
)
from lms_graph_plugins.scorm_xapi.tables import (
    attempts,
    chapters,
    courses,
    enrollments,
    users,
    xapi_statement_links,
    xapi_statements,
)

COURSE_TYPES = ("scorm", "xapi")
MAX_BATCH = 500
"""Statements in one POST; more is refused with 413."""
MAX_KEY_LENGTH = 1024
"""Characters in what the LRS files a statement under (its actor's identifier, an Agent
or Group object's, its verb id, its activity id): the length of those columns."""


class TooLarge(LMSError):
    code = "PAYLOAD_TOO_LARGE"


@dataclasses.dataclass(slots=True)
class Prepared:
    """A statement about to be stored, with what it was linked to."""

    statement_id: str
    body: dict[str, Any]
    signature: str
    user_id: int | None = None
    course_id: int | None = None
    chapter_id: int | None = None
    enrollment_id: int | None = None
    attempt_id: int | None = None


def to_millis(moment: dt.datetime) -> dt.datetime:
    """``stored`` has millisecond precision, in the statement and in its column alike
    (so ``since``/``until`` with a statement's own ``stored`` find it)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def validate_batch(raw: Any) -> list[dict[str, Any]]:
    """The statements of a POST body (one object or a list), each checked."""
    batch = raw if isinstance(raw, list) else [raw]
    if not batch:
        raise BadInput("Send at least one statement.")
    if len(batch) > MAX_BATCH:
        raise TooLarge(f"Send at most {MAX_BATCH} statements at once.")
    seen: set[str] = set()
    for index, statement in enumerate(batch):
        path = f"statements[{index}]" if isinstance(raw, list) else "statement"
        try:
            check_statement(statement, path)
        except StatementError as error:
            raise BadInput(str(error)) from None
        _check_keys(statement, path)
        if "id" in statement:
            identifier = str(statement["id"]).lower()
            if identifier in seen:
                raise BadInput(f"{path}.id: the batch holds statement {identifier} twice.")
            seen.add(identifier)
    return batch


def _check_keys(statement: Mapping[str, Any], path: str) -> None:
    """What the statement is filed under fits its column (a valid IRI may be longer)."""
    obj = statement["object"]
    kind = object_type(obj)
    keys = {
        "actor": actor_key(statement["actor"]),
        "verb.id": statement["verb"]["id"],
        "object": actor_key(obj) if kind in ("Agent", "Group") else None,
        "object.id": obj["id"] if kind == "Activity" else None,
    }
    for where, key in keys.items():
        if key is not None and len(key) > MAX_KEY_LENGTH:
            raise BadInput(
                f"{path}.{where}: the identifier is longer than {MAX_KEY_LENGTH} characters."
            )


def _check_rights(viewer: Viewer, batch: Sequence[Mapping[str, Any]]) -> None:
    user = viewer.require_user()
    if viewer.is_admin:
        return
    for statement in batch:
        if not is_self(statement["actor"], user):
            raise Forbidden(
                "A learner may only send statements about themself: the actor must be "
                f"mailto:{user.email} (or your lms-graph account)."
            )


def _prepare(viewer: Viewer, statement: Mapping[str, Any], now: dt.datetime) -> Prepared:
    user = viewer.require_user()
    body = normalized(statement)
    statement_id = str(body.get("id") or new_id()).lower()
    sig = signature(body)
    body["id"] = statement_id
    body["stored"] = iso(now)
    body.setdefault("timestamp", iso(now))
    body["authority"] = agent_of(user.id, user.email, user.name)
    body.setdefault("version", "1.0.0")
    return Prepared(statement_id, body, sig)


async def store_statements(
    lms: LMS,
    viewer: Viewer,
    batch: Sequence[Mapping[str, Any]],
    parts: Mapping[str, Part] | None = None,
) -> list[str]:
    """Store a validated batch (and the attachment parts it came with); the statement ids
    in order."""
    _check_rights(viewer, batch)
    to_store = match_parts(batch, parts or {})
    check_signatures(batch, parts or {})
    try:
        async with write(lms, viewer) as tx:
            now = to_millis(tx.now)
            prepared = [_prepare(viewer, statement, now) for statement in batch]
            fresh = await _without_duplicates(tx.db, prepared)
            await _link(tx.db, fresh)
            touched = await _void(tx.db, viewer, fresh, now)
            if fresh:
                await insert_statements(tx.db, [statement_row(p, now) for p in fresh])
            await store_parts(tx.db, to_store)
            touched |= {p.enrollment_id for p in fresh if p.enrollment_id is not None}
            if touched:
                await refresh_learners(lms, tx.db, sorted(touched))
    except IntegrityError:
        raise Conflict("A statement with one of these ids was stored meanwhile.") from None
    return [p.statement_id for p in prepared]


async def _without_duplicates(db: SQLExecutor, prepared: list[Prepared]) -> list[Prepared]:
    """Statements already stored with the same content are left out; with other content,
    the batch is refused (409)."""
    rows = await db.execute(
        select(xapi_statements.c.statement_id, xapi_statements.c.signature).where(
            xapi_statements.c.statement_id.in_([p.statement_id for p in prepared])
        )
    )
    stored = {row.statement_id: row.signature for row in rows}
    for p in prepared:
        if p.statement_id in stored and stored[p.statement_id] != p.signature:
            raise Conflict(f"Statement {p.statement_id} is already stored with different content.")
    return [p for p in prepared if p.statement_id not in stored]


async def _link(db: SQLExecutor, prepared: list[Prepared]) -> None:
    """Find each statement's user, course or chapter and enrollment (a few statements for
    the whole batch). Statements about unknown activities stay unlinked: stored, no
    progress."""
    emails = {e for p in prepared if (e := agent_email(p.body["actor"])) is not None}
    account_ids = {u for p in prepared if (u := agent_user_id(p.body["actor"])) is not None}
    found = await db.execute(
        select(users.c.id, users.c.email).where(
            or_(users.c.email.in_(sorted(emails)), users.c.id.in_(sorted(account_ids)))
        )
    )
    by_email: dict[str, int] = {}
    known_ids: set[int] = set()
    for row in found:
        known_ids.add(row.id)
        if row.email:
            by_email[row.email.lower()] = row.id
    activity: dict[int, tuple[str, int]] = {}
    for index, p in enumerate(prepared):
        actor = p.body["actor"]
        email = agent_email(actor)
        p.user_id = by_email.get(email) if email else None
        if p.user_id is None and (account := agent_user_id(actor)) in known_ids:
            p.user_id = account
        obj = p.body["object"]
        if object_type(obj) == "Activity" and (parsed := parse_activity(obj["id"])):
            activity[index] = parsed
    chapter_ids = sorted({pk for kind, pk in activity.values() if kind == "chapter"})
    chapter_course: dict[int, int] = {}
    if chapter_ids:
        rows = await db.execute(
            select(chapters.c.id, chapters.c.course_id).where(chapters.c.id.in_(chapter_ids))
        )
        chapter_course = {row.id: row.course_id for row in rows}
    for index, (kind, pk) in activity.items():
        p = prepared[index]
        if kind == "course":
            p.course_id = pk
        elif pk in chapter_course:
            p.chapter_id, p.course_id = pk, chapter_course[pk]
    wanted = {(p.user_id, p.course_id) for p in prepared if p.user_id and p.course_id}
    if not wanted:
        return
    rows = await db.execute(
        select(enrollments.c.id, enrollments.c.user_id, enrollments.c.course_id, attempts.c.id)
        .join(
            attempts,
            (attempts.c.enrollment_id == enrollments.c.id)
            & (attempts.c.number == enrollments.c.attempt_number),
        )
        .join(courses, courses.c.id == enrollments.c.course_id)
        .where(
            enrollments.c.user_id.in_(sorted({u for u, _ in wanted})),
            enrollments.c.course_id.in_(sorted({c for _, c in wanted})),
            enrollments.c.unassigned_at.is_(None),
            courses.c.course_type.in_(COURSE_TYPES),
        )
    )
    enrolled = {(row[1], row[2]): (row[0], row[3]) for row in rows}
    for p in prepared:
        hit = enrolled.get((p.user_id, p.course_id)) if p.user_id and p.course_id else None
        if hit is not None:
            p.enrollment_id, p.attempt_id = hit


async def _void(
    db: SQLExecutor, viewer: Viewer, prepared: list[Prepared], now: dt.datetime
) -> set[int]:
    """Apply the voiding statements of the batch; the enrollments whose progress changes."""
    voiding = {
        p.body["object"]["id"].lower(): p for p in prepared if p.body["verb"]["id"] == VOIDED
    }
    if not voiding:
        return set()
    rows = await db.execute(
        select(
            xapi_statements.c.statement_id,
            xapi_statements.c.verb_id,
            xapi_statements.c.user_id,
            xapi_statements.c.enrollment_id,
            xapi_statements.c.attempt_id,
        ).where(xapi_statements.c.statement_id.in_(sorted(voiding)))
    )
    touched: set[int] = set()
    for row in rows:
        if row.verb_id == VOIDED:
            raise BadInput(
                f"Statement {row.statement_id} is a voiding statement: it cannot be voided."
            )
        if not viewer.is_admin and row.user_id != viewer.id:
            raise Forbidden("A learner may only void statements about themself.")
        p = voiding[row.statement_id]
        p.enrollment_id, p.attempt_id = row.enrollment_id, row.attempt_id
        if row.enrollment_id is not None:
            touched.add(row.enrollment_id)
    await db.execute(
        update(xapi_statements)
        .where(
            xapi_statements.c.statement_id == bindparam("target"),
            xapi_statements.c.voided_at.is_(None),
        )
        .values(voided_at=now, voided_by=bindparam("by")),
        [{"target": target, "by": p.statement_id} for target, p in voiding.items()],
    )
    return touched


def _progress(body: Mapping[str, Any]) -> int | None:
    """A cmi5 progress extension (0-100) of a ``progressed`` statement."""
    if body["verb"]["id"] != PROGRESSED:
        return None
    value = body.get("result", {}).get("extensions", {}).get(CMI5_PROGRESS)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return value
    return None


def written(
    body: dict[str, Any],
    now: dt.datetime,
    authority: dict[str, Any] | None,
    *,
    user_id: int,
    course_id: int,
    enrollment_id: int,
    attempt_id: int,
) -> Prepared:
    """A statement the service writes itself (a waiver, demo data), linked to its learner."""
    statement_id = new_id()
    sig = signature(body)
    stored = {**body, "id": statement_id, "stored": iso(now), "version": "1.0.0"}
    stored.setdefault("timestamp", iso(now))
    if authority is not None:
        stored["authority"] = authority
    return Prepared(
        statement_id,
        stored,
        sig,
        user_id=user_id,
        course_id=course_id,
        enrollment_id=enrollment_id,
        attempt_id=attempt_id,
    )


def statement_row(p: Prepared, now: dt.datetime) -> dict[str, Any]:
    body = p.body
    obj = body["object"]
    return {
        "statement_id": p.statement_id,
        "signature": p.signature,
        "actor_key": actor_key(body["actor"]),
        "object_key": actor_key(obj) if object_type(obj) in ("Agent", "Group") else None,
        "verb_id": body["verb"]["id"],
        "activity_id": obj["id"] if object_type(obj) == "Activity" else None,
        "registration": str((body.get("context") or {}).get("registration") or "").lower() or None,
        "user_id": p.user_id,
        "enrollment_id": p.enrollment_id,
        "attempt_id": p.attempt_id,
        "course_id": p.course_id,
        "chapter_id": p.chapter_id,
        "progress": _progress(body),
        "stored": now,
        "voided_at": None,
        "voided_by": None,
        "ref_id": ref_of(body),
        "body": body,
    }


async def insert_statements(db: SQLExecutor, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert statement rows and their links (what ``related_*`` filters match)."""
    found = await db.execute(
        insert(xapi_statements).returning(xapi_statements.c.id, xapi_statements.c.statement_id),
        list(rows),
    )
    pks = {row.statement_id: row.id for row in found}
    links = [
        {"statement_pk": pks[row["statement_id"]], "kind": kind, "key": key}
        for row in rows
        for kind, key in links_of(row["body"])
    ]
    if links:
        await db.execute(insert(xapi_statement_links), links)
