"""Who may see what: the read-side rules of CONTRACT section 3."""

from __future__ import annotations

from sqlalchemy import exists, select

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.context import Context
from lms_graph.records import EnrollmentRecord, UserRecord


def sees_enrollment(viewer: Viewer, enrollment: EnrollmentRecord) -> bool:
    """The learner themself, admins and the course's instructors."""
    if viewer.user is None:
        return False
    return enrollment.user_id == viewer.user.id or viewer.manages(enrollment.course_id)


async def sees_user(ctx: Context, user: UserRecord) -> bool:
    """Admins, the user themself, and instructors of a course the user is learning in."""
    viewer = ctx.viewer
    if viewer.user is None:
        return False
    if viewer.is_admin or viewer.user.id == user.id:
        return True
    if not viewer.instructs:
        return False
    learns_here = select(m.Enrollment.id).where(
        m.Enrollment.user_id == user.id,
        m.Enrollment.course_id.in_(sorted(viewer.instructs)),
        m.Enrollment.unassigned_at.is_(None),
    )
    return bool((await ctx.db.execute(select(exists(learns_here)))).scalar_one())
