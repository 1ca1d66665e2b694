"""The ``User`` and ``Notification`` types."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from lms_graph.records import NotificationRecord, UserRecord
from lms_graph.resolvers import lists
from lms_graph.resolvers.credits import user_credits
from lms_graph.schema.base import Connection, Info, Node, record_type_check

if TYPE_CHECKING:
    from lms_graph.schema.enrollments import Enrollment

EnrollmentRef = Annotated["Enrollment", strawberry.lazy("lms_graph.schema.enrollments")]


@strawberry.type
class Notification(Node):
    is_type_of = record_type_check("Notification")

    kind: str
    subject: str
    body: str | None
    created_at: dt.datetime


@strawberry.type
class User(Node):
    is_type_of = record_type_check("User")

    email: str | None
    employee_id: str | None
    name: str
    active: bool
    is_admin: bool

    @strawberry.field(description="Enrollments the viewer may see, in enrollment order.")
    async def enrollments(
        self,
        root: strawberry.Parent[UserRecord],
        info: Info,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EnrollmentRef]:
        return await lists.user_enrollments(info.context, root.id, first, after)

    @strawberry.field(
        description=(
            "Credits of the courses this user has completed; an instructor sees those of "
            "the courses they teach only."
        )
    )
    async def credits(self, root: strawberry.Parent[UserRecord], info: Info) -> float:
        return await user_credits(info.context, root.id)

    @strawberry.field(description="The user's notifications, newest first (own or admin).")
    async def notifications(
        self, root: strawberry.Parent[UserRecord], info: Info
    ) -> list[Notification]:
        viewer = info.context.viewer
        if not (viewer.is_admin or (viewer.user is not None and viewer.user.id == root.id)):
            return []
        records: list[NotificationRecord] = await info.context.loaders.notifications_by_user.load(
            root.id
        )
        return records
