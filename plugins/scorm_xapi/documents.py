"""xAPI documents: State, Activity Profile and Agent Profile (xAPI 1.0.3, Communication 2.2-2.7).

A document is bytes with a content type, kept under its scope (the activity, the agent,
the registration) and its id. Its ETag is the SHA-1 of the content. Writes follow the
concurrency rules: ``If-Match`` (a listed ETag, or ``*``: it must exist) and
``If-None-Match: *`` (it must not) answer 412 when unmet; a profile PUT without either
header is 409 over an existing document and 400 otherwise (State is exempt, as the spec
has it). POST merges JSON objects one level deep; otherwise it is a 400.

Who: administrators read and write every document; anybody else only the State and
Agent Profile documents of their own agent, and reads Activity Profiles.

State documents about a course or chapter of a ``scorm``/``xapi`` course whose agent is
enrolled in it belong to the enrollment's latest attempt when they carry no registration
or the attempt's (``registration_of``): Remove User deletes them, a reset clears them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lms_graph import (
    LMS,
    BadInput,
    Conflict,
    Forbidden,
    LMSError,
    NotFound,
    SQLExecutor,
    Viewer,
    write,
)
from lms_graph_plugins.scorm_xapi.bodies import dumps, loads
from lms_graph_plugins.scorm_xapi.iris import agent_email, agent_user_id, is_self, parse_activity
from lms_graph_plugins.scorm_xapi.lrs import COURSE_TYPES
from lms_graph_plugins.scorm_xapi.statements import actor_key
from lms_graph_plugins.scorm_xapi.tables import (
    attempts,
    chapters,
    courses,
    enrollments,
    users,
    xapi_documents,
)

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"
JSON_TYPE = "application/json"
REGISTRATIONS = uuid.UUID("6f0c1c52-5a57-4a3e-9f45-2b6f0e0a7d11")
"""The namespace of the attempts' registrations (``registration_of``)."""


class PreconditionFailed(LMSError):
    code = "PRECONDITION_FAILED"


def registration_of(attempt_id: int) -> str:
    """The xAPI registration of an attempt: content launched for that attempt sends it, and
    its State documents belong to the attempt. A new attempt is a new registration."""
    return str(uuid.uuid5(REGISTRATIONS, f"urn:lms-graph:attempt:{attempt_id}"))


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """Where documents live: a kind and what it is keyed by."""

    kind: str
    activity_id: str | None = None
    agent: Mapping[str, Any] | None = None
    registration: str | None = None

    @property
    def agent_key(self) -> str | None:
        return actor_key(self.agent) if self.agent is not None else None

    def key_hash(self, document_id: str) -> str:
        parts = [self.kind, self.activity_id, self.agent_key, self.registration, document_id]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def where(self) -> list[Any]:
        d = xapi_documents.c
        found: list[Any] = [d.kind == self.kind]
        if self.activity_id is not None:
            found.append(d.activity_id == self.activity_id)
        if self.agent is not None:
            found.append(d.agent_key == self.agent_key)
        if self.kind == STATE:
            found.append(
                d.registration == self.registration
                if self.registration is not None
                else d.registration.is_(None)
            )
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    content: bytes
    content_type: str
    etag: str
    updated: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Preconditions:
    """``If-Match`` (ETags, or ``["*"]``) and ``If-None-Match`` as sent."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, if_match: str | None, if_none_match: str | None) -> Preconditions:
        return cls(_etags(if_match), _etags(if_none_match))

    def check(self, current: str | None, *, required: bool) -> None:
        """412 when a header is unmet. When ``required`` (a profile PUT) and neither header
        is sent: 409 when the document exists, else 400."""
        if self.if_match is not None and (
            current is None or ("*" not in self.if_match and current not in self.if_match)
        ):
            raise PreconditionFailed(
                "If-Match does not match the document's ETag (it changed, or is not there)."
            )
        if (
            self.if_none_match is not None
            and current is not None
            and ("*" in self.if_none_match or current in self.if_none_match)
        ):
            raise PreconditionFailed("If-None-Match: the document exists already.")
        if required and self.if_match is None and self.if_none_match is None:
            if current is not None:
                raise Conflict(
                    "The document exists: send If-Match with its ETag to replace it "
                    "(or If-None-Match: * to create one only if it is not there)."
                )
            raise BadInput(
                "Send If-None-Match: * to create a profile document (If-Match with its ETag "
                "replaces one)."
            )


def _etags(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")]
    return tuple(tag for tag in tags if tag)


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


# --- who may -------------------------------------------------------------------------------


def check_access(viewer: Viewer, scope: Scope, *, writing: bool) -> None:
    user = viewer.require_user()
    if viewer.is_admin:
        return
    if scope.kind == ACTIVITY_PROFILE:
        if writing:
            raise Forbidden("Only administrators write Activity Profile documents.")
        return
    if scope.agent is None or not is_self(scope.agent, user):
        raise Forbidden(
            "A learner may only use their own documents: the agent must be "
            f"mailto:{user.email} (or your lms-graph account)."
        )


# --- reads ---------------------------------------------------------------------------------


async def get_document(db: SQLExecutor, scope: Scope, document_id: str) -> Document:
    d = xapi_documents.c
    row = (
        await db.execute(
            select(d.content, d.content_type, d.etag, d.updated).where(
                d.key_hash == scope.key_hash(document_id)
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"No document {document_id!r} is stored here.")
    return Document(bytes(row.content), row.content_type, row.etag, row.updated)


async def list_ids(db: SQLExecutor, scope: Scope, since: dt.datetime | None) -> list[str]:
    d = xapi_documents.c
    where = scope.where()
    if since is not None:
        where.append(d.updated > since)
    rows = await db.execute(select(d.document_id).where(*where).order_by(d.id))
    return [row.document_id for row in rows]


# --- writes --------------------------------------------------------------------------------


def _merged(old: Document, content: bytes, content_type: str) -> bytes:
    """POST: both documents JSON objects, the new one's properties over the old's."""
    if not is_json(content_type) or not is_json(old.content_type):
        raise BadInput("POST merges JSON objects: both documents must be application/json.")
    try:
        before = loads(old.content)
    except BadInput:
        raise BadInput("POST merges JSON objects: the stored document is not valid JSON.") from None
    after = loads(content, "The document")
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise BadInput("POST merges JSON objects: a document is not a JSON object.")
    return dumps({**before, **after})


def _check_post_body(content: bytes, content_type: str) -> None:
    if not is_json(content_type):
        return
    if not isinstance(loads(content, "The document"), dict):
        raise BadInput("POST merges JSON objects: send a JSON object.")


async def save_document(
    lms: LMS,
    viewer: Viewer,
    scope: Scope,
    document_id: str,
    content: bytes,
    content_type: str,
    *,
    merge: bool,
    preconditions: Preconditions,
) -> None:
    """PUT (``merge=False``) or POST a document, under the concurrency rules."""
    check_access(viewer, scope, writing=True)
    if merge:
        _check_post_body(content, content_type)
    key = scope.key_hash(document_id)
    d = xapi_documents.c
    try:
        async with write(lms, viewer) as tx:
            row = (
                await tx.db.execute(
                    select(d.id, d.content, d.content_type, d.etag, d.updated).where(
                        d.key_hash == key
                    )
                )
            ).first()
            old = (
                Document(bytes(row.content), row.content_type, row.etag, row.updated)
                if row is not None
                else None
            )
            preconditions.check(
                old.etag if old else None, required=not merge and scope.kind != STATE
            )
            if merge and old is not None:
                content = _merged(old, content, content_type)
                content_type = JSON_TYPE
            values = {
                "content": content,
                "content_type": content_type,
                "etag": etag_of(content),
                "updated": tx.now,
            }
            if row is not None:
                await tx.db.execute(update(xapi_documents).where(d.id == row.id).values(values))
                return
            link = await _link(tx.db, scope)
            await tx.db.execute(
                insert(xapi_documents).values(
                    kind=scope.kind,
                    key_hash=key,
                    activity_id=scope.activity_id,
                    agent_key=scope.agent_key,
                    registration=scope.registration,
                    document_id=document_id,
                    **values,
                    **link,
                )
            )
    except IntegrityError:
        raise Conflict("The document was written meanwhile: send the request again.") from None


async def delete_documents(
    lms: LMS,
    viewer: Viewer,
    scope: Scope,
    document_id: str | None,
    preconditions: Preconditions,
) -> None:
    """One document, or (State only) every document of the scope."""
    check_access(viewer, scope, writing=True)
    d = xapi_documents.c
    async with write(lms, viewer) as tx:
        if document_id is None:
            await tx.db.execute(delete(xapi_documents).where(*scope.where()))
            return
        key = scope.key_hash(document_id)
        current = (await tx.db.execute(select(d.etag).where(d.key_hash == key))).scalar()
        preconditions.check(current, required=False)
        await tx.db.execute(delete(xapi_documents).where(d.key_hash == key))


async def _link(db: SQLExecutor, scope: Scope) -> dict[str, int | None]:
    """The learner, enrollment and attempt a new State document belongs to (or none)."""
    none: dict[str, int | None] = {"user_id": None, "enrollment_id": None, "attempt_id": None}
    if scope.kind != STATE or scope.agent is None or scope.activity_id is None:
        return none
    parsed = parse_activity(scope.activity_id)
    if parsed is None:
        return none
    kind, pk = parsed
    course_id: int | None = pk
    if kind == "chapter":
        course_id = (
            await db.execute(select(chapters.c.course_id).where(chapters.c.id == pk))
        ).scalar()
    email, account = agent_email(scope.agent), agent_user_id(scope.agent)
    if course_id is None or (email is None and account is None):
        return none
    who = users.c.email == email if email is not None else users.c.id == account
    row = (
        await db.execute(
            select(users.c.id, enrollments.c.id, attempts.c.id)
            .join(enrollments, enrollments.c.user_id == users.c.id)
            .join(
                attempts,
                (attempts.c.enrollment_id == enrollments.c.id)
                & (attempts.c.number == enrollments.c.attempt_number),
            )
            .join(courses, courses.c.id == enrollments.c.course_id)
            .where(
                who,
                enrollments.c.course_id == course_id,
                enrollments.c.unassigned_at.is_(None),
                courses.c.course_type.in_(COURSE_TYPES),
            )
        )
    ).first()
    if row is None:
        return none
    if scope.registration is not None and scope.registration != registration_of(row[2]):
        return {"user_id": row[0], "enrollment_id": row[1], "attempt_id": None}
    return {"user_id": row[0], "enrollment_id": row[1], "attempt_id": row[2]}


async def clear_attempt_documents(db: SQLExecutor, attempt_ids: Sequence[int]) -> None:
    """Reset: the attempts' State documents go (a new start does not resume them)."""
    if attempt_ids:
        await db.execute(delete(xapi_documents).where(xapi_documents.c.attempt_id.in_(attempt_ids)))


async def delete_enrollment_documents(db: SQLExecutor, enrollment_ids: Sequence[int]) -> None:
    """Remove User: every State document tied to the enrollments goes."""
    if enrollment_ids:
        await db.execute(
            delete(xapi_documents).where(xapi_documents.c.enrollment_id.in_(enrollment_ids))
        )
