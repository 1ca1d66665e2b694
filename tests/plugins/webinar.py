"""A fixture plugin: a course type with its own field, mutation, route and state rule.

It touches no core file: everything goes through the public hooks, imported from
``lms_graph`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import strawberry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import (
    LMS,
    CourseType,
    EnrollmentRecord,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    hookimpl,
)

KEY = "webinar"
assigned: list[LearnerRef] = []


@strawberry.type
class EnrollmentWebinarFields:
    @strawberry.field(description="Where the webinar streams.")
    def webinar_link(self, root: strawberry.Parent[EnrollmentRecord]) -> str | None:
        if root.course is not None and root.course.course_type != KEY:
            return None
        return f"https://webinar.example/{root.course_id}/{root.user_id}"


@strawberry.type
class WebinarMutation:
    @strawberry.mutation
    def ping_webinar(self, text: str) -> str:
        return f"pong: {text}"


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [CourseType(KEY, "Webinar", "A live online session.")]


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return GraphQLExtension(
        mutation=WebinarMutation, fields={"Enrollment": [EnrollmentWebinarFields]}
    )


async def _ping(request: Request) -> Response:
    return JSONResponse({"webinar": "ok"})


@hookimpl
def lms_register_routes(lms: LMS) -> Iterable[BaseRoute]:
    return [Route("/webinar/ping", _ping)]


@hookimpl
async def lms_learner_status(
    course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    if course_type != KEY:
        return None
    # Joining the webinar is all it takes.
    return {
        learner.enrollment_id: LearnerStatus(LearnerState.COMPLETED, 100)
        for learner in learners
        if learner.started_at is not None
    }


@hookimpl
def lms_on_assigned(learners: Sequence[LearnerRef]) -> None:
    assigned.extend(learners)
