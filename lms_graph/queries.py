"""Column sets and base statements shared by loaders and services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, select

from lms_graph import models as m

USER_COLUMNS = (
    m.User.id,
    m.User.email,
    m.User.employee_id,
    m.User.name,
    m.User.active,
    m.User.is_admin,
)

COURSE_COLUMNS = (
    m.Course.id,
    m.Course.title,
    m.Course.kind,
    m.Course.course_type,
    m.Course.credits,
)

ENROLLMENT_COLUMNS = (
    m.Enrollment.id,
    m.Enrollment.user_id,
    m.Enrollment.course_id,
    m.Enrollment.assignment,
    m.Enrollment.due_date,
    m.Enrollment.assigned_by_id,
    m.Enrollment.assigned_at,
    m.Enrollment.message,
    m.Enrollment.attempt_number,
    m.Enrollment.version,
    m.Attempt.id.label("attempt_id"),
    m.Attempt.state,
    m.Attempt.progress,
    m.Attempt.started_at,
    m.Attempt.completed_at,
)

CURRENT_ATTEMPT = and_(
    m.Attempt.enrollment_id == m.Enrollment.id,
    m.Attempt.number == m.Enrollment.attempt_number,
)

ACTIVE_ENROLLMENT = m.Enrollment.unassigned_at.is_(None)


def enrollments_select(*extra: Any) -> Select[*tuple[Any, ...]]:
    """Active enrollments joined with their current attempt."""
    return (
        select(*ENROLLMENT_COLUMNS, *extra)
        .join(m.Attempt, CURRENT_ATTEMPT)
        .where(ACTIVE_ENROLLMENT)
    )
