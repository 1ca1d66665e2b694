"""Self-paced courses: the learner works through chapters and quizzes at their own pace.

Meaningful progress is a completed chapter or an answered quiz question: a learner
who only opened the course is STARTED, one who did either is IN_PROGRESS, and one
who completed every chapter (a quiz chapter completes with its last answer) has
COMPLETED the course. Progress is the mean of the chapters' progress, so answered
questions count toward their quiz chapter (``LearnerProgress.work_done``).

Its menus are the core's: View Chapter Insights is offered only where the course has
chapters, by the core action's own rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lms_graph import (
    CourseType,
    LearnerProgress,
    LearnerState,
    LearnerStatus,
    hookimpl,
)

KEY = "self_paced"


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [CourseType(KEY, "Self-paced", "Chapters and quizzes taken at the learner's pace.")]


def status(learner: LearnerProgress) -> LearnerStatus:
    if learner.started_at is None:
        return LearnerStatus(LearnerState.NOT_STARTED, 0)
    total = learner.chapters_total
    if total and learner.chapters_completed == total:
        return LearnerStatus(LearnerState.COMPLETED, 100)
    progress = learner.work_done
    if learner.chapters_completed or learner.questions_answered:
        return LearnerStatus(LearnerState.IN_PROGRESS, progress)
    return LearnerStatus(LearnerState.STARTED, progress)


@hookimpl
def lms_learner_status(
    course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    if course_type != KEY:
        return None
    return {learner.enrollment_id: status(learner) for learner in learners}
