"""``runAction`` for actions whose rule is plain states (``applies_in_states``): the
targets read as rows in one statement, applicability decided on their state, no
``MenuLearner`` built unless someone looks at one (``learner_columns``).

Taken only when no plugin must see each learner before the claim or in the run with
its facts: a course type's ``lms_withhold_actions``, a ``lms_veto_action``, a
``lms_perform_action`` or a ``lms_learner_facts`` hands the run to the per-learner
path (``services.actions``), which asks each of them as always.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, exists, select, type_coerce

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.services.learner_columns import CourseDetails, LearnerColumns, LearnerRow
from lms_graph.sql import ids_in
from lms_graph.values import ActionDefinition, ChapterKind, CourseKind, LearnerState, SQLExecutor

if TYPE_CHECKING:
    from lms_graph.core import LMS

HOOKS_SEEING_LEARNERS = (
    "lms_withhold_actions",
    "lms_veto_action",
    "lms_perform_action",
    "lms_learner_facts",
)
"""Hooks that must see each learner (with its facts) before the claim or in the run."""

COLUMNS = (
    m.Enrollment.id,
    m.Enrollment.version,
    type_coerce(m.Attempt.state, String),
    m.Enrollment.user_id,
    m.Enrollment.course_id,
    m.Attempt.id,
    m.Enrollment.attempt_number,
)
"""What is read of each learner; the state as its text, turned into a member by one
dictionary lookup (cheaper than the column type's own conversion). Their course's type
and kind come with its details, read once per course."""

_STATES = {state.value: state for state in LearnerState}


def decided_in_sql(lms: LMS, action: ActionDefinition) -> bool:
    """Whether a run of ``action`` may decide on states read as rows."""
    return action.applies_in_states is not None and not any(
        lms.implements(hook) for hook in HOOKS_SEEING_LEARNERS
    )


def by_ids(ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    """The active learners among enrollment ``ids``."""
    return (
        select(*COLUMNS)
        .select_from(m.Enrollment)
        .join(m.Attempt, CURRENT_ATTEMPT)
        .where(ids_in(m.Enrollment.id, ids), ACTIVE_ENROLLMENT)
    )


def by_query(targets: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """The learners of ``targets`` (``learners_select``: active enrollments joined with
    their current attempt), in enrollment ID order."""
    return targets.with_only_columns(*COLUMNS).order_by(m.Enrollment.id)


async def read_learners(
    db: SQLExecutor, viewer: Viewer, query: Select[*tuple[Any, ...]]
) -> LearnerColumns:
    """The learners of ``query`` (``by_ids``, ``by_query``) as rows, with what their
    ``MenuLearner``s would hold besides: three statements whatever their number."""
    read = (await db.execute(query)).all()
    course_ids = sorted({row[4] for row in read})
    if not course_ids:
        return LearnerColumns([], CourseDetails({}, {}, frozenset(), viewer.is_admin))
    has_quiz = exists().where(
        m.Chapter.course_id == m.Course.id, m.Chapter.kind == ChapterKind.QUIZ.value
    )
    has_chapters = exists().where(m.Chapter.course_id == m.Course.id)
    courses = (
        await db.execute(
            select(
                m.Course.id,
                m.Course.course_type,
                type_coerce(m.Course.kind, String),
                has_quiz,
                has_chapters,
            ).where(ids_in(m.Course.id, course_ids))
        )
    ).all()
    instructors = (
        await db.execute(
            select(m.CourseInstructor.course_id, m.CourseInstructor.user_id).where(
                ids_in(m.CourseInstructor.course_id, course_ids)
            )
        )
    ).all()
    details = CourseDetails(
        has_quiz={course.id: bool(course[3]) for course in courses},
        has_chapters={course.id: bool(course[4]) for course in courses},
        instructors=frozenset((course_id, user_id) for course_id, user_id in instructors),
        viewer_is_admin=viewer.is_admin,
    )
    kinds = {course.id: (course[1], CourseKind(course[2])) for course in courses}
    states, new = _STATES, tuple.__new__  # the NamedTuple's own __new__ is Python code
    return LearnerColumns(
        [
            new(LearnerRow, (eid, version, states[state], user, course, *kinds[course], attempt, n))
            for eid, version, state, user, course, attempt, n in read
        ],
        details,
    )
