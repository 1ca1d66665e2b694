"""Instructor-led training (ILT): courses taught in scheduled sessions with seats.

A learner of an ``ilt`` course takes a seat in one of its sessions (or an
administrator or instructor gives them one); holding a seat is the state
ENROLLED_IN_SESSION. Attending (Mark as Complete) completes the course; a no-show
frees the seat and the learner is NOT_STARTED again. A session may keep a waitlist
whose first learner gets the next seat freed.

What it adds, through the public hooks only:

- the course type ``ilt``, its state rule and its tables (``ilt_sessions``,
  ``ilt_seats``, Alembic branch ``ilt``);
- the actions ``change_session`` and ``mark_no_show``; ``sessionId`` for
  ``mark_incomplete``, the scopes SESSION and BOTH for ``remove``, and what
  ``remove``, ``unassign``, ``mark_incomplete`` and ``mark_complete`` mean for a
  learner with a seat (``lms_perform_action``);
- ``Course.sessions``, ``Enrollment.session`` (with ``waitlistedSession``,
  ``waitlistPosition``, ``sessionSeats``), the ``Session`` node, ``createSession``
  and ``enrollInSession``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from lms_graph import (
    LMS,
    ActionContext,
    ActionDefinition,
    ActionParam,
    CourseRecord,
    CourseType,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    MenuLearner,
    MigrationSource,
    Outcome,
    SQLExecutor,
    Tx,
    for_course_types,
    hookimpl,
    ids_param,
    ignores_facts,
    refresh_learners,
)
from lms_graph_plugins.ilt import actions, demo
from lms_graph_plugins.ilt.graphql import extension
from lms_graph_plugins.ilt.tables import ACTIVE, SeatStatus, metadata, seats

KEY = actions.KEY
MASS_ACTIONS = ("mark_incomplete", "change_session", "remove", "mark_complete")


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [
        CourseType(KEY, "Instructor-led", "Taught in scheduled sessions; learners take a seat.")
    ]


@hookimpl
def lms_register_migrations() -> MigrationSource:
    return MigrationSource(
        branch="ilt", versions=Path(__file__).parent / "migrations" / "versions", metadata=metadata
    )


# --- state and menu ----------------------------------------------------------------------


# Built once (SQLAlchemy then reuses their compiled form), the attempt IDs bound as one
# parameter, ``attempt_ids``, however many there are.
_SEATED = select(seats.c.attempt_id, seats.c.session_id).where(
    ids_param(seats.c.attempt_id, "attempt_ids"),
    seats.c.status == SeatStatus.ENROLLED.value,
)


async def _seated(db: SQLExecutor, attempt_ids: Sequence[int]) -> dict[int, int]:
    """``{attempt_id: session_id}`` of the attempts holding a seat: one statement."""
    if not attempt_ids:
        return {}
    rows = await db.execute(_SEATED, {"attempt_ids": list(attempt_ids)})
    return dict(rows.all())


@hookimpl
async def lms_learner_status(
    db: SQLExecutor, course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    """Holding a seat is ENROLLED_IN_SESSION; otherwise NOT_STARTED. Completion comes
    from attendance (Mark as Complete), never from chapters alone."""
    if course_type != KEY:
        return None
    seated = await _seated(db, [learner.attempt_id for learner in learners])
    return {
        learner.enrollment_id: LearnerStatus(
            LearnerState.ENROLLED_IN_SESSION
            if learner.attempt_id in seated
            else LearnerState.NOT_STARTED,
            0,
        )
        for learner in learners
    }


@hookimpl
@for_course_types(KEY)
async def lms_learner_facts(
    db: SQLExecutor, learners: Sequence[LearnerRef]
) -> Mapping[int, Mapping[str, Any]] | None:
    ours = [learner for learner in learners if learner.course_type == KEY and learner.attempt_id]
    if not ours:
        return None
    seated = await _seated(db, [learner.attempt_id for learner in ours if learner.attempt_id])
    return {
        learner.enrollment_id: {actions.FACT: seated.get(learner.attempt_id or 0)}
        for learner in ours
    }


@hookimpl
def lms_register_actions() -> Iterable[ActionDefinition]:
    return actions.ACTIONS


@hookimpl
def lms_register_action_params(course_type: str) -> Mapping[str, Sequence[ActionParam]] | None:
    return actions.EXTRA_PARAMS if course_type == KEY else None


@hookimpl
@ignores_facts  # every course type: it refuses session params outside ILT courses
def lms_veto_action(
    action: str, learners: Sequence[MenuLearner], params: Mapping[str, Any]
) -> Mapping[int, Outcome] | None:
    return actions.veto(action, learners, params)


@hookimpl
@for_course_types(KEY)
@ignores_facts
async def lms_perform_action(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome] | None:
    return await actions.perform(ctx, learners)


@hookimpl
def lms_mass_actions(course: CourseRecord) -> Sequence[str] | None:
    return MASS_ACTIONS if course.course_type == KEY else None


# --- lifecycle ---------------------------------------------------------------------------


_ATTEND = (
    update(seats)
    .where(
        ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status == SeatStatus.ENROLLED.value
    )
    .values(status=SeatStatus.ATTENDED.value)
)
_LEAVE_WAITLIST = delete(seats).where(
    ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status == SeatStatus.WAITLISTED.value
)
_ATTENDANCE_INCOMPLETE = (
    update(seats)
    .where(
        ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status == SeatStatus.ATTENDED.value
    )
    .values(status=SeatStatus.INCOMPLETE.value)
)
_DROP_ACTIVE = delete(seats).where(
    ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status.in_(ACTIVE)
)


def _attempts(learners: Sequence[LearnerRef]) -> list[int]:
    return [
        learner.attempt_id
        for learner in learners
        if learner.course_type == KEY and learner.attempt_id is not None
    ]


@hookimpl
async def lms_on_completed(db: Any, learners: Sequence[LearnerRef]) -> None:
    """The seat held is attended; a waitlist place is given up."""
    attempt_ids = _attempts(learners)
    if not attempt_ids:
        return
    await db.execute(_ATTEND, {"attempt_ids": attempt_ids})
    await db.execute(_LEAVE_WAITLIST, {"attempt_ids": attempt_ids})


@hookimpl
async def lms_on_incomplete(lms: LMS, db: Any, learners: Sequence[LearnerRef]) -> None:
    """Attendance of the attempt taken back is incomplete; the learner's state follows
    the seats again (no seat held: NOT_STARTED), not the core's IN_PROGRESS."""
    attempt_ids = _attempts(learners)
    if not attempt_ids:
        return
    await db.execute(_ATTENDANCE_INCOMPLETE, {"attempt_ids": attempt_ids})
    await refresh_learners(
        lms, db, [learner.enrollment_id for learner in learners if learner.course_type == KEY]
    )


@hookimpl
async def lms_on_unassigned(db: Any, learners: Sequence[LearnerRef]) -> None:
    """Seats and waitlist places of the dropped attempt go (``lms_perform_action`` has
    freed them and moved the waitlist up when an action run unassigned)."""
    attempt_ids = _attempts(learners)
    if attempt_ids:
        await db.execute(_DROP_ACTIVE, {"attempt_ids": attempt_ids})


# lms_on_removed: nothing to do; seats reference the enrollment with ON DELETE CASCADE,
# and lms_perform_action has freed them (moving the waitlist up) before the core deletes.
# lms_on_reset: nothing to do; resetting a completed learner starts a new attempt, and
# the attended seat stays on record with the completed one.


@hookimpl
async def lms_seed_demo(
    tx: Tx, course: CourseRecord, enrollment_ids: Sequence[int], instructor_id: int
) -> None:
    await demo.seed(tx, course, enrollment_ids, instructor_id)


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return extension()
