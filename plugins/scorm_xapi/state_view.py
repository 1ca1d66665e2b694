"""``Enrollment.xapiRegistration`` (the registration content is launched with) and
``Enrollment.xapiState`` (administrators: the State documents of the latest attempt)."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import select

from lms_graph import EnrollmentRecord, Forbidden
from lms_graph_plugins.scorm_xapi.documents import STATE, registration_of
from lms_graph_plugins.scorm_xapi.tables import xapi_documents

MAX_SHOWN = 64 * 1024
"""Bytes of a document shown as text; a larger or binary one shows its size only."""


@strawberry.type(description="An xAPI State document that content stored for a learner's attempt.")
class XapiStateDocument:
    state_id: str = strawberry.field(description="The stateId the content chose.")
    activity_id: str
    registration: str | None
    content_type: str
    etag: str = strawberry.field(description="SHA-1 of the content.")
    size: int = strawberry.field(description="Bytes.")
    updated_at: dt.datetime
    text: str | None = strawberry.field(
        description="The content as text (UTF-8, at most 64 KiB); null otherwise."
    )


def _text(content: bytes) -> str | None:
    if len(content) > MAX_SHOWN:
        return None
    try:
        return content.decode()
    except UnicodeDecodeError:
        return None


@strawberry.type
class EnrollmentXapiState:
    @strawberry.field(
        description=(
            "The xAPI registration of the latest attempt: launch content with it "
            "(context.registration, the State resource's registration). A new attempt is a "
            "new registration."
        )
    )
    def xapi_registration(self, root: strawberry.Parent[EnrollmentRecord]) -> str:
        return registration_of(root.attempt_id)

    @strawberry.field(
        description=(
            "The xAPI State documents that content saved for the latest attempt (where it "
            "resumes), oldest first. Administrators only."
        )
    )
    async def xapi_state(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> list[XapiStateDocument]:
        ctx = info.context
        ctx.require_user()
        if not ctx.viewer.is_admin:
            raise Forbidden("Only administrators may view a learner's xAPI state.")
        d = xapi_documents.c
        rows = await ctx.db.execute(
            select(
                d.document_id,
                d.activity_id,
                d.registration,
                d.content_type,
                d.etag,
                d.content,
                d.updated,
            )
            .where(d.kind == STATE, d.attempt_id == root.attempt_id)
            .order_by(d.id)
        )
        return [
            XapiStateDocument(
                state_id=row.document_id,
                activity_id=row.activity_id,
                registration=row.registration,
                content_type=row.content_type,
                etag=row.etag,
                size=len(row.content),
                updated_at=row.updated,
                text=_text(bytes(row.content)),
            )
            for row in rows
        ]
