"""The core ``Mutation`` fields: thin wrappers over ``lms_graph.services``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from lms_graph.ids import decode_id
from lms_graph.records import EnrollmentRecord
from lms_graph.schema.base import Info
from lms_graph.schema.courses import Course
from lms_graph.schema.users import User
from lms_graph.services import assignments, courses, learning, users
from lms_graph.services.tx import write
from lms_graph.values import AssignmentType, ChapterKind, CourseKind

if TYPE_CHECKING:
    from lms_graph.schema.enrollments import Enrollment

EnrollmentRef = Annotated["Enrollment", strawberry.lazy("lms_graph.schema.enrollments")]


@strawberry.input
class CreateUserInput:
    name: str
    email: str | None = None
    employee_id: str | None = None
    is_admin: bool = False


@strawberry.input
class UpdateUserInput:
    id: strawberry.ID
    email: str | None = strawberry.UNSET
    employee_id: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    is_admin: bool | None = strawberry.UNSET


@strawberry.input
class QuestionInput:
    prompt: str
    choices: list[str]
    correct_choice: int


@strawberry.input
class ChapterInput:
    title: str
    kind: ChapterKind = ChapterKind.CONTENT
    questions: list[QuestionInput] | None = None


@strawberry.input
class CreateCourseInput:
    title: str
    course_type: str
    kind: CourseKind = CourseKind.COURSE
    credits: float = 0.0
    chapters: list[ChapterInput] | None = None
    course_ids: list[strawberry.ID] | None = None


@strawberry.input
class AssignCourseInput:
    course_id: strawberry.ID
    user_ids: list[strawberry.ID]
    assignment: AssignmentType | None = None
    due_date: dt.date | None = None
    message: str | None = None


@strawberry.type
class AssignSkip:
    user: User
    reason: str


@strawberry.type
class AssignCoursePayload:
    enrollments: list[EnrollmentRef]
    skipped: list[AssignSkip]


def _unset(value: Any) -> Any:
    return users.UNSET if value is strawberry.UNSET else value


async def _enrollment(info: Info, enrollment_id: int) -> EnrollmentRecord:
    record: EnrollmentRecord | None = await info.context.fresh_loaders().enrollments.load(
        enrollment_id
    )
    assert record is not None
    return record


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Administrators only.")
    async def create_user(self, info: Info, input: CreateUserInput) -> User:
        ctx = info.context
        ctx.require_user()
        async with write(ctx.lms, ctx.viewer) as tx:
            return await users.create_user(
                tx,
                name=input.name,
                email=input.email,
                employee_id=input.employee_id,
                is_admin=input.is_admin,
            )

    @strawberry.mutation(description="Administrators only; `active: false` deactivates.")
    async def update_user(self, info: Info, input: UpdateUserInput) -> User:
        ctx = info.context
        ctx.require_user()
        changes = users.UserChanges(
            email=_unset(input.email),
            employee_id=_unset(input.employee_id),
            name=_unset(input.name),
            active=_unset(input.active),
            is_admin=_unset(input.is_admin),
        )
        async with write(ctx.lms, ctx.viewer) as tx:
            record = await users.update_user(tx, decode_id(input.id, "User"), changes)
        ctx.fresh_loaders()
        return record

    @strawberry.mutation(description="Administrators only.")
    async def create_course(self, info: Info, input: CreateCourseInput) -> Course:
        ctx = info.context
        ctx.require_user()
        spec = courses.CourseSpec(
            title=input.title,
            course_type=input.course_type,
            kind=input.kind,
            credits=input.credits,
            chapters=[
                courses.ChapterSpec(
                    title=chapter.title,
                    kind=chapter.kind.value,
                    questions=[
                        courses.QuestionSpec(q.prompt, q.choices, q.correct_choice)
                        for q in chapter.questions or ()
                    ],
                )
                for chapter in input.chapters or ()
            ],
            course_ids=[decode_id(course_id, "Course") for course_id in input.course_ids or ()],
        )
        async with write(ctx.lms, ctx.viewer) as tx:
            return await courses.create_course(tx, spec)

    @strawberry.mutation(description="Admins and the course's instructors.")
    async def assign_course(self, info: Info, input: AssignCourseInput) -> AssignCoursePayload:
        ctx = info.context
        user = ctx.require_user()
        course_id = decode_id(input.course_id, "Course")
        user_ids = [decode_id(user_id, "User") for user_id in input.user_ids]
        today = dt.datetime.now(dt.UTC).date()
        assignment = assignments.Assignment(
            assignment=assignments.resolve_assignment(input.assignment, input.due_date, today),
            due_date=input.due_date,
            message=(input.message or "").strip() or None,
            assigned_by_id=user.id,
        )
        async with write(ctx.lms, ctx.viewer) as tx:
            enrollment_ids, skips = await assignments.assign_course(
                tx, course_id, user_ids, assignment
            )
        loaders = ctx.fresh_loaders()
        enrollments = await loaders.enrollments.load_many(enrollment_ids)
        skipped_users = await loaders.users.load_many([skip.user_id for skip in skips])
        return AssignCoursePayload(
            enrollments=enrollments,
            skipped=[
                AssignSkip(user=user, reason=skip.reason)
                for user, skip in zip(skipped_users, skips, strict=True)
            ],
        )

    @strawberry.mutation(description="The viewer's own; self-enrolls (OPTIONAL) when not assigned.")
    async def start_course(self, info: Info, course_id: strawberry.ID) -> EnrollmentRef:
        ctx = info.context
        ctx.require_user()
        async with write(ctx.lms, ctx.viewer) as tx:
            enrollment_id = await learning.start_course(tx, decode_id(course_id, "Course"))
        return await _enrollment(info, enrollment_id)

    @strawberry.mutation(description="The viewer's own enrollment only.")
    async def complete_chapter(
        self, info: Info, enrollment_id: strawberry.ID, chapter_id: strawberry.ID
    ) -> EnrollmentRef:
        ctx = info.context
        ctx.require_user()
        pk = decode_id(enrollment_id, "Enrollment")
        async with write(ctx.lms, ctx.viewer) as tx:
            await learning.complete_chapter(tx, pk, decode_id(chapter_id, "Chapter"))
        return await _enrollment(info, pk)

    @strawberry.mutation(description="The viewer's own enrollment only.")
    async def answer_quiz(
        self, info: Info, enrollment_id: strawberry.ID, question_id: strawberry.ID, choice: int
    ) -> EnrollmentRef:
        ctx = info.context
        ctx.require_user()
        pk = decode_id(enrollment_id, "Enrollment")
        async with write(ctx.lms, ctx.viewer) as tx:
            await learning.answer_quiz(tx, pk, decode_id(question_id, "Question"), choice)
        return await _enrollment(info, pk)
