"""``node(id)`` and the single-object lookups: null when absent or not the viewer's to see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lms_graph.context import Context
from lms_graph.errors import BadInput
from lms_graph.ids import decode_id, from_global_id
from lms_graph.records import (
    ChapterRecord,
    CourseRecord,
    EnrollmentRecord,
    NotificationRecord,
    QuestionRecord,
    UserRecord,
)
from lms_graph.resolvers.visibility import sees_enrollment, sees_user
from lms_graph.services.imports import ImportReportRecord, visible_report

NodeResolver = Callable[[Context, int], Awaitable[Any]]


async def user(ctx: Context, pk: int) -> UserRecord | None:
    record: UserRecord | None = await ctx.loaders.users.load(pk)
    return record if record is not None and await sees_user(ctx, record) else None


async def course(ctx: Context, pk: int) -> CourseRecord | None:
    record: CourseRecord | None = await ctx.loaders.courses.load(pk)
    return record


async def chapter(ctx: Context, pk: int) -> ChapterRecord | None:
    record: ChapterRecord | None = await ctx.loaders.chapters.load(pk)
    return record


async def question(ctx: Context, pk: int) -> QuestionRecord | None:
    record: QuestionRecord | None = await ctx.loaders.questions.load(pk)
    return record


async def notification(ctx: Context, pk: int) -> NotificationRecord | None:
    """The user's own notifications; admins see everyone's."""
    record: NotificationRecord | None = await ctx.loaders.notifications.load(pk)
    viewer = ctx.viewer
    if record is None or not (viewer.is_admin or viewer.id == record.user_id):
        return None
    return record


async def import_report(ctx: Context, pk: int) -> ImportReportRecord | None:
    """Administrators and the course's instructors."""
    return await visible_report(ctx.db, ctx.viewer, pk)


async def enrollment(ctx: Context, pk: int) -> EnrollmentRecord | None:
    record: EnrollmentRecord | None = await ctx.loaders.enrollments.load(pk)
    return record if record is not None and sees_enrollment(ctx.viewer, record) else None


CORE_NODES: Mapping[str, NodeResolver] = {
    "User": user,
    "Course": course,
    "Chapter": chapter,
    "Question": question,
    "Enrollment": enrollment,
    "Notification": notification,
    "ImportReport": import_report,
}


async def node(ctx: Context, resolvers: Mapping[str, NodeResolver], global_id: str) -> Any:
    ctx.require_user()
    try:
        type_name, pk = from_global_id(global_id)
    except BadInput:
        return None
    resolver = resolvers.get(type_name)
    return await resolver(ctx, pk) if resolver is not None else None


async def by_id(ctx: Context, type_name: str, global_id: str) -> Any:
    """``course(id)``, ``enrollment(id)``: a malformed or foreign ID is BAD_USER_INPUT."""
    ctx.require_user()
    return await CORE_NODES[type_name](ctx, decode_id(global_id, type_name))
