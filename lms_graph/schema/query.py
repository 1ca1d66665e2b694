"""The core ``Query`` fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from lms_graph.resolvers import lists, nodes
from lms_graph.schema.base import Connection, Info, Node
from lms_graph.schema.courses import Course, CourseType
from lms_graph.schema.users import User

if TYPE_CHECKING:
    from lms_graph.schema.enrollments import Enrollment

EnrollmentRef = Annotated["Enrollment", strawberry.lazy("lms_graph.schema.enrollments")]


@strawberry.type
class Query:
    @strawberry.field(description="Who is asking; null without a token.")
    def viewer(self, info: Info) -> User | None:
        if info.context.auth_error is not None:
            raise info.context.auth_error
        return info.context.viewer.user

    @strawberry.field(
        description="Any object by its global ID; null when the viewer may not see it."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await nodes.node(info.context, info.context.lms.node_resolvers, id)

    @strawberry.field
    async def course(self, info: Info, id: strawberry.ID) -> Course | None:
        return await nodes.by_id(info.context, "Course", id)

    @strawberry.field
    async def courses(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Course]:
        return await lists.courses(info.context, first, after, search)

    @strawberry.field
    async def enrollment(self, info: Info, id: strawberry.ID) -> EnrollmentRef | None:
        return await nodes.by_id(info.context, "Enrollment", id)

    @strawberry.field(description="Every user (administrators only).")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[User]:
        return await lists.users(info.context, first, after, search)

    @strawberry.field(description="The viewer's own enrollments.")
    async def my_learning(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[EnrollmentRef]:
        return await lists.my_learning(info.context, first, after)

    @strawberry.field
    def course_types(self, info: Info) -> list[CourseType]:
        info.context.require_user()
        return list(info.context.lms.course_types.values())
