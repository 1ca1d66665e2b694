"""Which learners of a course a filter names: the dashboard's list and the target set of a
mass action (``courseId`` + ``filter``) are the same set, so both read it from here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal, select

from lms_graph import models as m
from lms_graph.errors import BadInput
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT, USER_COLUMNS, enrollments_select
from lms_graph.values import AssignmentType, LearnerState


def like_pattern(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if not escaped:
        raise BadInput("`search` needs at least one character.")
    return f"%{escaped}%"


def user_matches(text: str) -> Any:
    """A user's name, email or employee ID contains ``text`` (case-insensitive, literal)."""
    pattern = like_pattern(text)
    return (
        m.User.name.ilike(pattern, escape="\\")
        | m.User.email.ilike(pattern, escape="\\")
        | m.User.employee_id.ilike(pattern, escape="\\")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class LearnerQuery:
    states: Sequence[LearnerState] | None = None
    assignment: AssignmentType | None = None
    search: str | None = None
    overdue: bool | None = None
    order: str = "NAME"
    descending: bool = False


def learners_select(
    course_id: int, spec: LearnerQuery, today: dt.date, *, inline: bool = False
) -> Select[Any]:
    """Active learners of a course with their user, filtered as the dashboard asks.

    Also the target set of a mass action named by ``courseId`` + ``filter``.
    ``inline`` writes the course ID into the SQL text (see ``course_learners``).
    """
    course: Any = literal(course_id, literal_execute=True) if inline else course_id
    return (
        enrollments_select(*(column.label(f"u_{column.key}") for column in USER_COLUMNS))
        .join(m.User, m.User.id == m.Enrollment.user_id)
        .where(m.Enrollment.course_id == course, *_learner_filters(spec, today))
    )


def learners_count(course_id: int, spec: LearnerQuery, today: dt.date) -> Select[Any]:
    """How many learners ``learners_select`` holds, joining only what the filter reads
    (every active enrollment has its current attempt)."""
    query = (
        select(func.count())
        .select_from(m.Enrollment)
        .where(m.Enrollment.course_id == course_id, ACTIVE_ENROLLMENT)
        .where(*_learner_filters(spec, today))
    )
    if spec.states or spec.overdue is not None:
        query = query.join(m.Attempt, CURRENT_ATTEMPT)
    if spec.search is not None:
        query = query.join(m.User, m.User.id == m.Enrollment.user_id)
    return query


def _learner_filters(spec: LearnerQuery, today: dt.date) -> list[Any]:
    conditions: list[Any] = []
    if spec.states:
        conditions.append(m.Attempt.state.in_(list(spec.states)))
    if spec.assignment is not None:
        conditions.append(m.Enrollment.assignment == spec.assignment)
    if spec.search is not None:
        conditions.append(user_matches(spec.search))
    if spec.overdue is not None:
        # Spelled out so that no NULL reaches NOT: a learner without a due date is not overdue.
        overdue = (
            m.Enrollment.due_date.is_not(None)
            & (m.Enrollment.due_date < today)
            & m.Attempt.completed_at.is_(None)
        )
        conditions.append(overdue if spec.overdue else ~overdue)
    return conditions
