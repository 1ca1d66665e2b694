"""The status rule of SCORM and xAPI courses: what the stored statements and CMI data
say about a learner's latest attempt.

- Any statement or CMI commit (``initialized``/``launched`` among them) starts it.
- Meaningful progress (IN_PROGRESS): ``progressed``/``answered``/``experienced``/
  ``failed``/``completed``/``passed`` about the course or one of its chapters; a SCORM
  status past "not attempted", a score, suspend data or a progress measure above 0.
- Completion: ``completed``/``passed`` (or cmi5's ``waived``) about the course;
  every chapter completed (by a ``completed``/``passed`` statement or in the app);
  SCORM 1.2 ``passed``/``completed``; SCORM 2004 ``completed`` or ``passed``.
- Progress %: the most of completed chapters, a cmi5 progress extension of a
  ``progressed`` statement, and ``cmi.progress_measure``.

Voided statements and cleared (reset) CMI data count for nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ScalarSelect, func, or_, select

from lms_graph import LearnerProgress, LearnerState, LearnerStatus, SQLExecutor
from lms_graph_plugins.scorm_xapi.tables import (
    attempts,
    chapter_progress,
    chapters,
    enrollments,
    scorm_state,
    xapi_statements,
)

ADL = "http://adlnet.gov/expapi/verbs/"
INITIALIZED = ADL + "initialized"
LAUNCHED = ADL + "launched"
PROGRESSED = ADL + "progressed"
ANSWERED = ADL + "answered"
EXPERIENCED = ADL + "experienced"
COMPLETED = ADL + "completed"
PASSED = ADL + "passed"
FAILED = ADL + "failed"
WAIVED = "https://w3id.org/xapi/adl/verbs/waived"
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"

MEANINGFUL = (PROGRESSED, ANSWERED, EXPERIENCED, FAILED, COMPLETED, PASSED, WAIVED)
FINISHING = (COMPLETED, PASSED)


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What the plugin's tables hold of one attempt."""

    statements: int = 0
    meaningful: int = 0
    chapters_completed: int = 0
    course_completed: bool = False
    reported_progress: int | None = None
    has_cmi: bool = False
    lesson_status: str | None = None
    completion_status: str | None = None
    success_status: str | None = None
    progress_measure: float | None = None
    scored: bool = False
    suspended: bool = False


def _chapters_completed(live: Any) -> ScalarSelect[int]:
    """Chapters of the course completed in this attempt: by a ``completed``/``passed``
    statement, or recorded by the core (``completeChapter``)."""
    s = xapi_statements.c
    by_statement = (
        select(s.id).where(live, s.chapter_id == chapters.c.id, s.verb_id.in_(FINISHING)).exists()
    )
    by_core = (
        select(chapter_progress.c.chapter_id)
        .where(
            chapter_progress.c.attempt_id == attempts.c.id,
            chapter_progress.c.chapter_id == chapters.c.id,
            chapter_progress.c.status == "COMPLETED",
        )
        .exists()
    )
    return (
        select(func.count())
        .select_from(chapters)
        .where(chapters.c.course_id == enrollments.c.course_id, or_(by_statement, by_core))
        .scalar_subquery()
    )


async def load_facts(db: SQLExecutor, attempt_ids: Sequence[int]) -> dict[int, Facts]:
    """One statement for the whole batch."""
    if not attempt_ids:
        return {}
    s = xapi_statements.c
    live = (s.attempt_id == attempts.c.id) & s.voided_at.is_(None)

    def count(*where: Any) -> ScalarSelect[int]:
        return select(func.count()).where(live, *where).scalar_subquery()

    query = (
        select(
            attempts.c.id,
            count().label("statements"),
            count(s.verb_id.in_(MEANINGFUL)).label("meaningful"),
            _chapters_completed(live).label("chapters_completed"),
            count(s.verb_id.in_((*FINISHING, WAIVED)), s.chapter_id.is_(None)).label(
                "course_completed"
            ),
            select(func.max(s.progress)).where(live).scalar_subquery().label("reported"),
            scorm_state.c.attempt_id.label("cmi"),
            scorm_state.c.lesson_status,
            scorm_state.c.completion_status,
            scorm_state.c.success_status,
            scorm_state.c.progress_measure,
            scorm_state.c.score_scaled,
            scorm_state.c.score_raw,
            scorm_state.c.suspend_data,
        )
        .select_from(attempts)
        .join(enrollments, enrollments.c.id == attempts.c.enrollment_id)
        .outerjoin(scorm_state, scorm_state.c.attempt_id == attempts.c.id)
        .where(attempts.c.id.in_(list(attempt_ids)))
    )
    rows = await db.execute(query)
    return {
        row.id: Facts(
            statements=row.statements,
            meaningful=row.meaningful,
            chapters_completed=row.chapters_completed,
            course_completed=row.course_completed > 0,
            reported_progress=row.reported,
            has_cmi=row.cmi is not None,
            lesson_status=row.lesson_status,
            completion_status=row.completion_status,
            success_status=row.success_status,
            progress_measure=row.progress_measure,
            scored=row.score_scaled is not None or row.score_raw is not None,
            suspended=bool(row.suspend_data),
        )
        for row in rows
    }


def _cmi_completed(facts: Facts) -> bool:
    return (
        facts.lesson_status in ("passed", "completed")
        or facts.completion_status == "completed"
        or facts.success_status == "passed"
    )


def _cmi_meaningful(facts: Facts) -> bool:
    return (
        facts.lesson_status not in (None, "not attempted")
        or facts.completion_status not in (None, "not attempted", "unknown")
        or facts.success_status not in (None, "unknown")
        or bool(facts.progress_measure)
        or facts.scored
        or facts.suspended
    )


def decide(learner: LearnerProgress, facts: Facts) -> LearnerStatus:
    """The state and progress of one learner from what the attempt recorded."""
    total = learner.chapters_total
    done = facts.chapters_completed
    if facts.course_completed or _cmi_completed(facts) or (total and done >= total):
        return LearnerStatus(LearnerState.COMPLETED, 100)
    started = learner.started_at is not None or facts.statements > 0 or facts.has_cmi
    if not started:
        return LearnerStatus(LearnerState.NOT_STARTED, 0)
    progress = max(
        round(100 * done / total) if total else 0,
        facts.reported_progress or 0,
        round(100 * (facts.progress_measure or 0)),
    )
    progress = max(0, min(99, progress))
    meaningful = (
        facts.meaningful > 0 or _cmi_meaningful(facts) or done > 0 or learner.questions_answered > 0
    )
    state = LearnerState.IN_PROGRESS if meaningful else LearnerState.STARTED
    return LearnerStatus(state, progress)


async def statuses(
    db: SQLExecutor, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus]:
    facts = await load_facts(db, [learner.attempt_id for learner in learners])
    return {
        learner.enrollment_id: decide(learner, facts.get(learner.attempt_id, Facts()))
        for learner in learners
    }
