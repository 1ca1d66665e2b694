"""The learner's own side: starting a course, completing chapters, answering quizzes."""

from __future__ import annotations

from sqlalchemy import func, select, update

from lms_graph import models as m
from lms_graph.errors import BadInput, NotFound
from lms_graph.queries import enrollments_select
from lms_graph.records import ChapterRecord, EnrollmentRecord, QuestionRecord
from lms_graph.services.assignments import Assignment, enroll, load_course
from lms_graph.services.journal import HistoryLine, record_history
from lms_graph.services.progress import refresh_statuses
from lms_graph.services.tx import Tx
from lms_graph.services.upsert import upsert
from lms_graph.values import AssignmentType, ChapterKind


async def own_enrollment(tx: Tx, enrollment_id: int) -> EnrollmentRecord:
    """The viewer's own active enrollment; anyone else's is NOT_FOUND, as if absent."""
    user_id = tx.viewer.id
    row = (
        (await tx.db.execute(enrollments_select().where(m.Enrollment.id == enrollment_id)))
        .mappings()
        .one_or_none()
    )
    if row is None or row["user_id"] != user_id:
        raise NotFound("You have no enrollment with this ID.")
    return EnrollmentRecord.from_row(row)


async def _mark_started(tx: Tx, enrollment: EnrollmentRecord) -> None:
    if enrollment.started_at is None:
        await tx.db.execute(
            update(m.Attempt).where(m.Attempt.id == enrollment.attempt_id).values(started_at=tx.now)
        )
        enrollment.started_at = tx.now
        await record_history(tx, [HistoryLine(enrollment.id, "started", "Started the course.")])


def _require_open(enrollment: EnrollmentRecord) -> None:
    if enrollment.completed_at is not None:
        raise BadInput("This attempt is already completed; ask for a reset to start again.")


async def start_course(tx: Tx, course_id: int) -> int:
    """Start the viewer's course, self-enrolling as OPTIONAL when not assigned."""
    user_id = tx.viewer.id
    course = await load_course(tx, course_id, lock=True)
    row = (
        (
            await tx.db.execute(
                enrollments_select().where(
                    m.Enrollment.course_id == course.id, m.Enrollment.user_id == user_id
                )
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        [enrollment_id] = await enroll(
            tx, course, [user_id], Assignment(AssignmentType.OPTIONAL, assigned_by_id=None)
        )
        row = (
            (await tx.db.execute(enrollments_select().where(m.Enrollment.id == enrollment_id)))
            .mappings()
            .one()
        )
    enrollment = EnrollmentRecord.from_row(row)
    await _mark_started(tx, enrollment)
    await refresh_statuses(tx, [enrollment.id])
    return enrollment.id


async def _chapter(tx: Tx, enrollment: EnrollmentRecord, chapter_id: int) -> ChapterRecord:
    row = (
        (await tx.db.execute(select(m.Chapter).where(m.Chapter.id == chapter_id)))
        .mappings()
        .one_or_none()
    )
    if row is None or row["course_id"] != enrollment.course_id:
        raise NotFound("This course has no chapter with this ID.")
    return ChapterRecord.from_row(row)


async def complete_chapter(tx: Tx, enrollment_id: int, chapter_id: int) -> None:
    enrollment = await own_enrollment(tx, enrollment_id)
    _require_open(enrollment)
    chapter = await _chapter(tx, enrollment, chapter_id)
    if chapter.kind == ChapterKind.QUIZ.value:
        raise BadInput("A quiz chapter is completed by answering all of its questions.")
    await _mark_started(tx, enrollment)
    await upsert(
        tx.db,
        m.ChapterProgress.__table__,  # type: ignore[arg-type]
        {
            "attempt_id": enrollment.attempt_id,
            "chapter_id": chapter.id,
            "status": "COMPLETED",
            "progress": 100,
            "completed_at": tx.now,
            "updated_at": tx.now,
        },
        key=("attempt_id", "chapter_id"),
        update=("status", "progress", "completed_at", "updated_at"),
    )
    await record_history(
        tx,
        [HistoryLine(enrollment.id, "chapter_completed", f"Completed chapter {chapter.title!r}.")],
    )
    await refresh_statuses(tx, [enrollment.id])


async def answer_quiz(tx: Tx, enrollment_id: int, question_id: int, choice: int) -> None:
    enrollment = await own_enrollment(tx, enrollment_id)
    _require_open(enrollment)
    row = (
        (await tx.db.execute(select(m.Question).where(m.Question.id == question_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound("This course has no question with this ID.")
    question = QuestionRecord.from_row(row)
    chapter = await _chapter(tx, enrollment, question.chapter_id)
    if not 0 <= choice < len(question.choices):
        raise BadInput(f"Choose an answer between 0 and {len(question.choices) - 1}.")
    await _mark_started(tx, enrollment)
    await upsert(
        tx.db,
        m.QuizAnswer.__table__,  # type: ignore[arg-type]
        {
            "attempt_id": enrollment.attempt_id,
            "question_id": question.id,
            "choice": choice,
            "correct": choice == question.correct_choice,
            "answered_at": tx.now,
        },
        key=("attempt_id", "question_id"),
        update=("choice", "correct", "answered_at"),
    )
    total, answered = (
        await tx.db.execute(
            select(func.count(m.Question.id), func.count(m.QuizAnswer.question_id))
            .outerjoin(
                m.QuizAnswer,
                (m.QuizAnswer.question_id == m.Question.id)
                & (m.QuizAnswer.attempt_id == enrollment.attempt_id),
            )
            .where(m.Question.chapter_id == chapter.id)
        )
    ).one()
    done = answered == total
    await upsert(
        tx.db,
        m.ChapterProgress.__table__,  # type: ignore[arg-type]
        {
            "attempt_id": enrollment.attempt_id,
            "chapter_id": chapter.id,
            "status": "COMPLETED" if done else "STARTED",
            "progress": round(100 * answered / total),
            "completed_at": tx.now if done else None,
            "updated_at": tx.now,
        },
        key=("attempt_id", "chapter_id"),
        update=("status", "progress", "completed_at", "updated_at"),
    )
    await record_history(
        tx,
        [HistoryLine(enrollment.id, "quiz_answered", f"Answered a question in {chapter.title!r}.")],
    )
    await refresh_statuses(tx, [enrollment.id])
