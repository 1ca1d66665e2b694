"""A fixture plugin: a live class whose attendance (minutes, recorded by an instructor)
decides the state, as the partner's webinar of issue 17 does. It withholds Mark as
Complete from learners who attended nothing, and re-opens a completion it decided when
the attendance is corrected below the full class.

Public hooks only; attendance lives in memory (a fixture, one process).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import strawberry

from lms_graph import (
    CourseType,
    GraphQLExtension,
    LearnerProgress,
    LearnerState,
    LearnerStatus,
    MenuLearner,
    NotFound,
    Outcome,
    decode_id,
    hookimpl,
    refresh_learners,
    write,
)

KEY = "live_class"
FULL = 60
"""Minutes of a whole class: attending them all completes the course."""

minutes: dict[int, int] = {}
"""Minutes attended, by attempt ID."""
decided: set[int] = set()
"""Attempts this course type completed (Mark as Complete's are not its to take back)."""

NO_ATTENDANCE = Outcome.skipped(
    "NO_ATTENDANCE", "No attendance is recorded yet: there is nothing to mark complete."
)


def clear() -> None:
    minutes.clear()
    decided.clear()


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [CourseType(KEY, "Live class", "Attended live; complete after the whole class.")]


@hookimpl
def lms_learner_status(
    course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    if course_type != KEY:
        return None
    found: dict[int, LearnerStatus] = {}
    for learner in learners:
        attended = minutes.get(learner.attempt_id, 0)
        share = min(100, attended * 100 // FULL)
        if learner.completed_at is not None:
            if learner.attempt_id in decided and attended < FULL:
                decided.discard(learner.attempt_id)
                state = LearnerState.IN_PROGRESS if attended else LearnerState.NOT_STARTED
                found[learner.enrollment_id] = LearnerStatus(state, share, reopen=True)
            continue
        if attended >= FULL:
            decided.add(learner.attempt_id)
            found[learner.enrollment_id] = LearnerStatus(LearnerState.COMPLETED, 100)
        elif attended:
            found[learner.enrollment_id] = LearnerStatus(LearnerState.IN_PROGRESS, share)
        else:
            found[learner.enrollment_id] = LearnerStatus(LearnerState.NOT_STARTED, 0)
    return found


@hookimpl
def lms_withhold_actions(
    course_type: str, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Mapping[int, Mapping[str, Outcome]] | None:
    if course_type != KEY or "mark_complete" not in actions:
        return None
    return {
        learner.enrollment_id: {"mark_complete": NO_ATTENDANCE}
        for learner in learners
        if not minutes.get(learner.attempt_id)
    }


@strawberry.type
class LiveClassMutation:
    @strawberry.mutation(description="Record a learner's attendance (minutes): managers only.")
    async def record_attendance(
        self, info: strawberry.Info, enrollment_id: strawberry.ID, minutes_attended: int
    ) -> int:
        ctx = info.context
        ctx.require_user()
        enrollment = await ctx.loaders.enrollments.load(decode_id(enrollment_id, "Enrollment"))
        if enrollment is None:
            raise NotFound("No enrollment has this ID.")
        ctx.viewer.require_manager(enrollment.course_id)
        async with write(ctx.lms, ctx.viewer) as tx:
            minutes[enrollment.attempt_id] = minutes_attended
            await refresh_learners(ctx.lms, tx.db, [enrollment.id])
        ctx.fresh_loaders()
        return minutes_attended


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return GraphQLExtension(mutation=LiveClassMutation)
