"""``Enrollment``, ``Attempt`` and ``HistoryEvent``."""

from __future__ import annotations

import datetime as dt

import strawberry

from lms_graph.fields import RESOLVE, Resolve, SqlObject, from_parent, sql_field
from lms_graph.records import (
    NOT_LOADED,
    AttemptRecord,
    EnrollmentRecord,
    HistoryRecord,
    UserRecord,
)
from lms_graph.resolvers import actions, insights
from lms_graph.schema.actions import Action
from lms_graph.schema.base import Info, Node, record_type_check
from lms_graph.schema.courses import Course
from lms_graph.schema.insights import ChapterInsight, QuizInsight
from lms_graph.schema.rendering import MENU_FIELD
from lms_graph.schema.users import User
from lms_graph.values import AssignmentType, LearnerState


@strawberry.type
class Attempt:
    number: int
    state: LearnerState
    progress: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None


@strawberry.type
class HistoryEvent:
    at: dt.datetime
    action: str
    summary: str
    note: str | None

    @strawberry.field
    async def actor(self, root: strawberry.Parent[HistoryRecord], info: Info) -> User | None:
        if root.actor_id is None:
            return None
        return await info.context.loaders.users.load(root.actor_id)


def _assigned_by(root: EnrollmentRecord) -> UserRecord | Resolve | None:
    if root.assigned_by_id is None:
        return None
    return RESOLVE if root.assigned_by is NOT_LOADED else root.assigned_by


@strawberry.type
class Enrollment(Node):
    is_type_of = record_type_check("Enrollment")

    assignment: AssignmentType
    due_date: dt.date | None
    assigned_at: dt.datetime
    message: str | None
    state: LearnerState
    progress: int
    completed_at: dt.datetime | None

    @strawberry.field(
        metadata={**from_parent(lambda root: root.user or RESOLVE), **sql_field(SqlObject("u_"))}
    )
    def user(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> User:
        # Pages of learners come with their user joined in: no awaitable then.
        if root.user is not None:
            return root.user
        return info.context.loaders.users.load(root.user_id)

    @strawberry.field
    def course(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> Course:
        if root.course is not None:
            return root.course
        return info.context.loaders.courses.load(root.course_id)

    @strawberry.field(metadata={**from_parent(_assigned_by), **sql_field(SqlObject("a_"))})
    def assigned_by(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> User | None:
        if root.assigned_by_id is None:
            return None
        if root.assigned_by is not NOT_LOADED:
            return root.assigned_by
        return info.context.loaders.users.load(root.assigned_by_id)

    @strawberry.field(description="The current (latest) attempt.")
    def attempt(self, root: strawberry.Parent[EnrollmentRecord]) -> Attempt | None:
        return AttemptRecord(
            id=root.attempt_id,
            enrollment_id=root.id,
            number=root.attempt_number,
            state=root.state,
            progress=root.progress,
            started_at=root.started_at,
            completed_at=root.completed_at,
        )

    @strawberry.field(description="Every attempt on record, oldest first.")
    async def attempts(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> list[Attempt]:
        return await info.context.loaders.attempts_by_enrollment.load(root.id)

    @strawberry.field(description="What happened to this learner in this course, oldest first.")
    async def history(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> list[HistoryEvent]:
        return await info.context.loaders.history_by_enrollment.load(root.id)

    @strawberry.field(
        description="The viewer's menu for this learner, in display order.",
        # A page of learners prefetches its menus (only for a viewer who manages them).
        metadata={
            **from_parent(lambda root: RESOLVE if root.menu is None else root.menu),
            MENU_FIELD: True,
        },
    )
    def available_actions(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> list[Action]:
        return actions.available_actions(info.context, root)

    @strawberry.field(
        description="Every chapter of the course in order, with the current attempt's progress; "
        "empty for a curriculum."
    )
    async def chapter_insights(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> list[ChapterInsight]:
        return await insights.chapter_insights(info.context, root)

    @strawberry.field(
        description="Every quiz chapter of the course in order, with the current attempt's "
        "answers and score; empty for a curriculum."
    )
    async def quiz_insights(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> list[QuizInsight]:
        return await insights.quiz_insights(info.context, root)

    @strawberry.field(
        description="A signed link (valid 5 minutes) to this learner's quiz insights as an "
        ".xlsx workbook. Admins and the course's instructors only; null when the course has "
        "no quiz."
    )
    async def quiz_export_url(
        self, root: strawberry.Parent[EnrollmentRecord], info: Info
    ) -> str | None:
        return await insights.enrollment_export_url(info.context, root)
