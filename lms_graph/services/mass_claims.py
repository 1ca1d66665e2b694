"""``runAction`` for actions whose rule is plain states (``applies_in_states``): the
targets read as rows in one statement, applicability decided on their state, no
``MenuLearner`` built unless someone looks at one (``learner_columns``).

What differs from the per-learner path (``services.actions``) is only what the learners
carry: the rule is the same (``applies_in_states`` is exactly ``applies``), and a
``MenuLearner`` built from a row holds every column the per-learner path reads, but no
``facts`` (``lms_learner_facts`` is not asked). So the fast path is exact unless facts
could change what someone does with the run's learners:

- facts exist for the run's learners only if an implementation of ``lms_learner_facts``
  concerns their course types (``hook_scope.for_course_types``; undeclared: every type);
- they are read only by what is handed the run's learners: the action's own ``run``
  and ``not_applicable``, and the implementations of ``HOOKS_SEEING_LEARNERS`` that
  concern those course types (the others answer nothing about them: the run does not
  call them); menus and plugin actions' ``applies`` also read facts, but a run of a
  plain-state action asks neither.

A run is decided on rows unless both hold: a facts implementation concerns its course
types and one of those readers may read facts (it did not declare
``hook_scope.ignores_facts``). The course types are known once the rows are read: a
run whose types call for facts goes on per learner with the IDs found.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, exists, select, type_coerce

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.hook_scope import concerns, reads_facts
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.services.learner_columns import CourseDetails, LearnerColumns, LearnerRow
from lms_graph.sql import ids_in
from lms_graph.values import ActionDefinition, ChapterKind, CourseKind, LearnerState, SQLExecutor

if TYPE_CHECKING:
    from lms_graph.core import LMS

HOOKS_SEEING_LEARNERS = (
    "lms_withhold_actions",
    "lms_veto_action",
    "lms_action_reach",
    "lms_perform_action",
)
"""Hooks handed the run's learners (as ``MenuLearner``s) before the claim or in the run."""

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


def _implementations(lms: LMS, hook: str) -> list[Callable[..., Any]]:
    return [impl.function for impl in getattr(lms.pm.hook, hook).get_hookimpls()]


def concerned(lms: LMS, hook: str, course_types: Collection[str]) -> bool:
    """Whether an implementation of ``hook`` concerns learners of ``course_types``."""
    return any(concerns(function, course_types) for function in _implementations(lms, hook))


def decided_in_sql(lms: LMS, action: ActionDefinition, course_types: Collection[str] = ()) -> bool:
    """Whether a run of ``action`` over learners of ``course_types`` may decide on states
    read as rows (see the module's docstring). With no course type, only what concerns
    every type is asked: if that already calls for facts, every run does."""
    if action.applies_in_states is None:
        return False
    if not concerned(lms, "lms_learner_facts", course_types):
        return True
    readers = [
        function
        for hook in HOOKS_SEEING_LEARNERS
        for function in _implementations(lms, hook)
        if concerns(function, course_types)
    ]
    readers += [function for function in (action.run, action.not_applicable) if function]
    return not any(reads_facts(function) for function in readers)


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
    if len(kinds) == 1:  # the usual run, on one course: its type and kind as constants
        ((course_type, course_kind),) = kinds.values()
        rows = [
            new(
                LearnerRow,
                (eid, version, states[state], user, course, course_type, course_kind, attempt, n),
            )
            for eid, version, state, user, course, attempt, n in read
        ]
    else:
        rows = [
            new(LearnerRow, (eid, version, states[state], user, course, *kinds[course], attempt, n))
            for eid, version, state, user, course, attempt, n in read
        ]
    return LearnerColumns(rows, details)
