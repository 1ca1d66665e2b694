"""GraphQL: activity IRIs, ``Enrollment.activity`` (admins, ``activity.py``) and xAPI API
credentials."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy import select

from lms_graph import (
    BadInput,
    ChapterRecord,
    CourseRecord,
    Forbidden,
    GraphQLExtension,
    NotFound,
    UserRecord,
    decode_id,
    to_global_id,
    write,
)
from lms_graph_plugins.scorm_xapi.activity import EnrollmentActivity
from lms_graph_plugins.scorm_xapi.credentials import create_credential, revoke_credential
from lms_graph_plugins.scorm_xapi.iris import chapter_iri, course_iri
from lms_graph_plugins.scorm_xapi.state_view import EnrollmentXapiState
from lms_graph_plugins.scorm_xapi.tables import users, xapi_credentials


@strawberry.type
class CourseActivityId:
    @strawberry.field(
        description=(
            "The xAPI activity IRI of this course: the object of statements about the "
            "whole course (SCORM/xAPI course types)."
        )
    )
    def activity_id(self, root: strawberry.Parent[CourseRecord]) -> str:
        return course_iri(root.id)


@strawberry.type
class ChapterActivityId:
    @strawberry.field(description="The xAPI activity IRI of this chapter.")
    def activity_id(self, root: strawberry.Parent[ChapterRecord]) -> str:
        return chapter_iri(root.id)


# --- xAPI API credentials ------------------------------------------------------------------


@strawberry.type(description="An xAPI API key for HTTP Basic (the secret is never shown again).")
class XapiCredential:
    pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    key: str = strawberry.field(description="The Basic user name.")
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("XapiCredential", self.pk))

    @strawberry.field(description="The user statements sent with it act as.")
    def user_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.user_pk))


@strawberry.type
class NewXapiCredential:
    credential: XapiCredential
    secret: str = strawberry.field(
        description="The Basic password. Shown only now: store it, it cannot be read again."
    )


_COLUMNS = (
    xapi_credentials.c.id,
    xapi_credentials.c.user_id,
    xapi_credentials.c.key,
    xapi_credentials.c.label,
    xapi_credentials.c.created_at,
    xapi_credentials.c.revoked_at,
)


def _credential(row: Any) -> XapiCredential:
    return XapiCredential(
        pk=row.id,
        user_pk=row.user_id,
        key=row.key,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _may_manage(viewer: Any, user_id: int) -> None:
    if viewer.id != user_id and not viewer.is_admin:
        raise Forbidden("Only administrators may manage another user's xAPI credentials.")


@strawberry.type
class UserXapiCredentials:
    @strawberry.field(
        description="This user's xAPI API keys (the user themself and administrators)."
    )
    async def xapi_credentials(
        self, root: strawberry.Parent[UserRecord], info: strawberry.Info
    ) -> list[XapiCredential]:
        ctx = info.context
        ctx.require_user()
        _may_manage(ctx.viewer, root.id)
        rows = await ctx.db.execute(
            select(*_COLUMNS)
            .where(xapi_credentials.c.user_id == root.id)
            .order_by(xapi_credentials.c.id)
        )
        return [_credential(row) for row in rows]


@strawberry.type
class CredentialMutation:
    @strawberry.mutation(
        description=(
            "A new xAPI API key and secret for HTTP Basic on /xapi/statements, acting as "
            "`userId` (default: the viewer). A user for themself, an administrator for "
            "anyone. The secret is returned only here."
        )
    )
    async def create_xapi_credential(
        self, info: strawberry.Info, user_id: strawberry.ID | None = None, label: str | None = None
    ) -> NewXapiCredential:
        ctx = info.context
        viewer = ctx.require_user()
        target = decode_id(user_id, "User") if user_id is not None else viewer.id
        _may_manage(ctx.viewer, target)
        if label is not None and len(label) > 200:
            raise BadInput("`label` is at most 200 characters.")
        async with write(ctx.lms, ctx.viewer) as tx:
            found = (await tx.db.execute(select(users.c.id).where(users.c.id == target))).first()
            if found is None:
                raise NotFound("There is no user with this ID.")
            made = await create_credential(tx.db, target, label, viewer.id, tx.now)
            row = (
                await tx.db.execute(select(*_COLUMNS).where(xapi_credentials.c.id == made.id))
            ).one()
        ctx.fresh_loaders()
        return NewXapiCredential(credential=_credential(row), secret=made.secret)

    @strawberry.mutation(
        description="Revokes an xAPI API key: Basic requests with it are refused from now on."
    )
    async def revoke_xapi_credential(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> XapiCredential:
        ctx = info.context
        ctx.require_user()
        pk = decode_id(id, "XapiCredential")
        async with write(ctx.lms, ctx.viewer) as tx:
            row = (
                await tx.db.execute(select(*_COLUMNS).where(xapi_credentials.c.id == pk))
            ).first()
            if row is None:
                raise NotFound("There is no xAPI credential with this ID.")
            _may_manage(ctx.viewer, row.user_id)
            await revoke_credential(tx.db, pk, tx.now)
            row = (await tx.db.execute(select(*_COLUMNS).where(xapi_credentials.c.id == pk))).one()
        ctx.fresh_loaders()
        return _credential(row)


def extension() -> GraphQLExtension:
    return GraphQLExtension(
        mutation=CredentialMutation,
        fields={
            "Course": [CourseActivityId],
            "Chapter": [ChapterActivityId],
            "Enrollment": [EnrollmentActivity, EnrollmentXapiState],
            "User": [UserXapiCredentials],
        },
    )
