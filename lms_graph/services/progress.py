"""Learner state: asking course-type plugins to decide it, and storing the answer.

State and progress are stored on the attempt whenever progress may have changed,
so that lists filter, sort and count by them in SQL. Completion sticks: an
attempt once completed only leaves COMPLETED through an explicit action, or when
its course type re-opens it (``LearnerStatus.reopen``), which takes it back as
Mark as Incomplete does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.services.journal import HistoryLine, record_history, tell_completed
from lms_graph.services.tx import Tx, emit_event
from lms_graph.values import CourseKind, LearnerProgress, LearnerRef, LearnerState, LearnerStatus

if TYPE_CHECKING:
    from lms_graph.core import LMS

_CHUNK = 5000


def core_status(learner: LearnerProgress) -> LearnerStatus:
    """The rule for learners no plugin decides, and for curricula (whose "chapters"
    are their member courses)."""
    if learner.started_at is None and learner.chapters_started == 0:
        return LearnerStatus(LearnerState.NOT_STARTED, 0)
    total = learner.chapters_total
    progress = learner.work_done
    if total and learner.chapters_completed == total:
        return LearnerStatus(LearnerState.COMPLETED, 100)
    if learner.course_kind is CourseKind.CURRICULUM and (learner.chapters_completed or progress):
        return LearnerStatus(LearnerState.IN_PROGRESS, progress)
    return LearnerStatus(LearnerState.STARTED, progress)


def _course_snapshot_query(ids: Sequence[int]) -> object:
    chapters_total = (
        select(func.count()).where(m.Chapter.course_id == m.Enrollment.course_id).scalar_subquery()
    )
    chapters_started = (
        select(func.count()).where(m.ChapterProgress.attempt_id == m.Attempt.id).scalar_subquery()
    )
    chapters_completed = (
        select(func.count())
        .where(
            m.ChapterProgress.attempt_id == m.Attempt.id, m.ChapterProgress.status == "COMPLETED"
        )
        .scalar_subquery()
    )
    questions_total = (
        select(func.count())
        .select_from(m.Question)
        .join(m.Chapter, m.Chapter.id == m.Question.chapter_id)
        .where(m.Chapter.course_id == m.Enrollment.course_id)
        .scalar_subquery()
    )
    questions_answered = (
        select(func.count()).where(m.QuizAnswer.attempt_id == m.Attempt.id).scalar_subquery()
    )
    # Each chapter's own progress (a quiz: its share of questions answered), added up.
    chapters_progress = (
        select(func.coalesce(func.sum(m.ChapterProgress.progress), 0))
        .where(m.ChapterProgress.attempt_id == m.Attempt.id)
        .scalar_subquery()
    )
    return _base_snapshot(ids, completed=True).add_columns(
        chapters_total.label("chapters_total"),
        chapters_started.label("chapters_started"),
        chapters_completed.label("chapters_completed"),
        questions_total.label("questions_total"),
        questions_answered.label("questions_answered"),
        chapters_progress.label("chapters_progress"),
    )


def _base_snapshot(ids: Sequence[int], completed: bool = False):  # type: ignore[no-untyped-def]
    """The learners' current attempts; with ``completed``, completed ones too (a course
    type may re-open them)."""
    query = (
        select(
            m.Enrollment.id.label("enrollment_id"),
            m.Attempt.id.label("attempt_id"),
            m.Enrollment.user_id,
            m.Enrollment.course_id,
            m.Course.course_type,
            m.Course.kind.label("course_kind"),
            m.Enrollment.attempt_number,
            m.Attempt.started_at,
            m.Attempt.completed_at,
        )
        .join(m.Attempt, CURRENT_ATTEMPT)
        .join(m.Course, m.Course.id == m.Enrollment.course_id)
        .where(m.Enrollment.id.in_(ids), ACTIVE_ENROLLMENT)
    )
    return query if completed else query.where(m.Attempt.completed_at.is_(None))


async def _curriculum_snapshots(tx: Tx, ids: Sequence[int]) -> list[LearnerProgress]:
    """Curriculum learners, counting their member courses as chapters."""
    heads = (await tx.db.execute(_base_snapshot(ids))).mappings().all()
    heads = [h for h in heads if h["course_kind"] is CourseKind.CURRICULUM]
    if not heads:
        return []
    member = m.Enrollment.__table__.alias("member")
    member_attempt = m.Attempt.__table__.alias("member_attempt")
    rows = (
        await tx.db.execute(
            select(
                m.Enrollment.id,
                func.count(m.CurriculumCourse.course_id),
                func.count(member_attempt.c.id).filter(
                    member_attempt.c.state != LearnerState.NOT_STARTED.value
                ),
                func.count(member_attempt.c.id).filter(member_attempt.c.completed_at.is_not(None)),
            )
            .join(m.CurriculumCourse, m.CurriculumCourse.curriculum_id == m.Enrollment.course_id)
            .outerjoin(
                member,
                and_(
                    member.c.course_id == m.CurriculumCourse.course_id,
                    member.c.user_id == m.Enrollment.user_id,
                    member.c.unassigned_at.is_(None),
                ),
            )
            .outerjoin(
                member_attempt,
                and_(
                    member_attempt.c.enrollment_id == member.c.id,
                    member_attempt.c.number == member.c.attempt_number,
                ),
            )
            .where(m.Enrollment.id.in_([h["enrollment_id"] for h in heads]))
            .group_by(m.Enrollment.id)
        )
    ).all()
    counts = {row[0]: (row[1], row[2], row[3]) for row in rows}
    return [
        LearnerProgress(
            **head,
            chapters_total=counts[head["enrollment_id"]][0],
            chapters_started=counts[head["enrollment_id"]][1],
            chapters_completed=counts[head["enrollment_id"]][2],
            questions_total=0,
            questions_answered=0,
            chapters_progress=100 * counts[head["enrollment_id"]][2],
        )
        for head in heads
    ]


async def refresh_learners(lms: LMS, db: AsyncConnection, enrollment_ids: Iterable[int]) -> None:
    """Ask the course types to decide these learners' state again, inside the caller's
    transaction (``db``): what a plugin calls after recording progress of its own.

    Completions it decides fire ``lms_on_completed``; curricula holding the courses
    follow. Learners whose attempt is already completed are left as they are, unless
    their course type re-opens the completion (``LearnerStatus.reopen``).
    """
    tx = Tx(lms=lms, db=db, viewer=Viewer(user=None), now=dt.datetime.now(dt.UTC))
    await refresh_statuses(tx, enrollment_ids)
    for event in tx.events:  # told with the core transaction around, if there is one
        emit_event(event.name, **event.data)


async def refresh_statuses(
    tx: Tx, enrollment_ids: Iterable[int], *, reopened: bool = False
) -> None:
    """Recompute state and progress of these learners (and of curricula holding them).

    ``reopened``: their completion was just taken back (Mark as Incomplete), so a
    course type that still finds them complete does not complete them again here:
    they stay IN_PROGRESS, below 100%, until they make progress of their own.
    """
    ids = sorted(set(enrollment_ids))
    for start in range(0, len(ids), _CHUNK):
        await _refresh_chunk(tx, ids[start : start + _CHUNK], reopened)


async def _refresh_chunk(tx: Tx, ids: Sequence[int], reopened: bool = False) -> None:
    rows = (await tx.db.execute(_course_snapshot_query(ids))).mappings().all()  # type: ignore[call-overload]
    learners = [LearnerProgress(**row) for row in rows if row["course_kind"] is CourseKind.COURSE]
    decided: dict[int, LearnerStatus] = {}
    by_type: dict[str, list[LearnerProgress]] = defaultdict(list)
    for learner in learners:
        by_type[learner.course_type].append(learner)
    for course_type, group in by_type.items():
        for _plugin, decisions in await tx.lms.call_hook(
            "lms_learner_status", db=tx.db, course_type=course_type, learners=group
        ):
            for enrollment_id, status in decisions.items():
                decided.setdefault(enrollment_id, status)
    curricula = await _curriculum_snapshots(tx, ids)
    changed = await _store(tx, [*learners, *curricula], decided, reopened)
    if changed:
        await _refresh_curricula(tx, changed)


async def _store(
    tx: Tx,
    learners: Sequence[LearnerProgress],
    decided: dict[int, LearnerStatus],
    reopened: bool = False,
) -> list[LearnerProgress]:
    """Write what changed; complete the attempts decided COMPLETED. Returns the changed."""
    current = {
        row.id: (row.state, row.progress)
        for row in (
            await tx.db.execute(
                select(m.Attempt.id, m.Attempt.state, m.Attempt.progress).where(
                    m.Attempt.id.in_([learner.attempt_id for learner in learners])
                )
            )
        ).all()
    }
    updates: list[dict[str, object]] = []
    changed: list[LearnerProgress] = []
    completed: list[LearnerProgress] = []
    reopening: list[LearnerProgress] = []
    for learner in learners:
        if learner.completed_at is not None:
            # Completion sticks, unless the course type takes back one it decided.
            status = decided.get(learner.enrollment_id) or _STICKS
            if not status.reopen or status.state is LearnerState.COMPLETED:
                continue
            reopening.append(learner)
        status = decided.get(learner.enrollment_id) or core_status(learner)
        if reopened and status.state is LearnerState.COMPLETED:
            status = LearnerStatus(LearnerState.IN_PROGRESS, min(status.progress, 99))
        progress = max(0, min(100, status.progress))
        if current.get(learner.attempt_id) == (status.state, progress):
            continue
        done = status.state is LearnerState.COMPLETED
        updates.append(
            {
                "attempt": learner.attempt_id,
                "b_state": status.state,
                "b_progress": 100 if done else progress,
                "b_completed_at": tx.now if done else None,
                "b_started_at": learner.started_at or tx.now,
            }
        )
        changed.append(learner)
        if done:
            completed.append(learner)
    if not updates:
        return []
    await tx.db.execute(
        update(m.Attempt)
        .where(m.Attempt.id == bindparam("attempt"))
        .values(
            state=bindparam("b_state"),
            progress=bindparam("b_progress"),
            completed_at=bindparam("b_completed_at"),
            started_at=bindparam("b_started_at"),
        ),
        updates,
    )
    await tx.db.execute(
        update(m.Enrollment)
        .where(m.Enrollment.id.in_([learner.enrollment_id for learner in changed]))
        .values(version=m.Enrollment.version + 1)
    )
    if completed:
        await record_history(
            tx,
            [
                HistoryLine(learner.enrollment_id, "completed", "Completed the course.")
                for learner in completed
            ],
        )
        refs = [_ref(learner) for learner in completed]
        tell_completed(tx, refs)
        await tx.lms.call_hook("lms_on_completed", db=tx.db, learners=refs)
    if reopening:
        await _take_back(tx, reopening)
    return changed


_STICKS = LearnerStatus(LearnerState.COMPLETED, 100)


async def _take_back(tx: Tx, learners: Sequence[LearnerProgress]) -> None:
    """What Mark as Incomplete does after clearing the completion: a history line, and
    the plugins take back what it gave (``lms_on_incomplete``: certificate, credits)."""
    await record_history(
        tx,
        [
            HistoryLine(
                learner.enrollment_id,
                "reopened",
                "Completion taken back: the course no longer finds the attempt complete.",
            )
            for learner in learners
        ],
    )
    await tx.lms.call_hook(
        "lms_on_incomplete",
        db=tx.db,
        learners=[_ref(learner) for learner in learners],
        actor_id=None,
    )


def _ref(learner: LearnerProgress) -> LearnerRef:
    return LearnerRef(
        enrollment_id=learner.enrollment_id,
        user_id=learner.user_id,
        course_id=learner.course_id,
        course_type=learner.course_type,
        attempt_id=learner.attempt_id,
        attempt_number=learner.attempt_number,
    )


async def _refresh_curricula(tx: Tx, changed: Sequence[LearnerProgress]) -> None:
    pairs = {
        (learner.user_id, learner.course_id)
        for learner in changed
        if learner.course_kind is CourseKind.COURSE
    }
    if not pairs:
        return
    users = {user_id for user_id, _ in pairs}
    courses = {course_id for _, course_id in pairs}
    rows = (
        await tx.db.execute(
            select(m.Enrollment.id, m.Enrollment.user_id, m.CurriculumCourse.course_id)
            .join(m.CurriculumCourse, m.CurriculumCourse.curriculum_id == m.Enrollment.course_id)
            .where(
                m.Enrollment.user_id.in_(users),
                m.CurriculumCourse.course_id.in_(courses),
                ACTIVE_ENROLLMENT,
            )
        )
    ).all()
    curricula = [row[0] for row in rows if (row[1], row[2]) in pairs]
    if curricula:
        await refresh_statuses(tx, curricula)
