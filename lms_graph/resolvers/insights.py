"""Chapter and quiz insights of a learner's current attempt, and the quiz export links.

Everything goes through the request's loaders, keyed by course, chapter and
attempt: a page of learners costs one statement per loader, whatever its size.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from lms_graph.context import Context
from lms_graph.downloads import sign
from lms_graph.exports import course_export_path, enrollment_export_path
from lms_graph.records import (
    ChapterRecord,
    CourseRecord,
    EnrollmentRecord,
    QuestionRecord,
)
from lms_graph.resolvers.visibility import sees_enrollment
from lms_graph.values import ChapterKind, CourseKind

NOT_STARTED = "NOT_STARTED"


@dataclasses.dataclass(frozen=True, slots=True)
class ChapterInsightValue:
    chapter: ChapterRecord
    status: str
    progress: int
    completed_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class QuizAnswerInsightValue:
    question: QuestionRecord
    choice: int | None
    correct: bool | None
    answered_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class QuizInsightValue:
    chapter: ChapterRecord
    score: int
    max_score: int
    answers: list[QuizAnswerInsightValue]


def _nothing_to_show(ctx: Context, enrollment: EnrollmentRecord) -> bool:
    """Curricula have no insights of their own. Whoever sees the enrollment sees its
    insights; the check stands here too in case a plugin hands out enrollments."""
    if not sees_enrollment(ctx.viewer, enrollment):
        return True
    # A curriculum has no chapters of its own (services/courses.py refuses them), so
    # when its record was not joined in, its empty chapter list gives the same answer.
    return enrollment.course is not None and enrollment.course.kind is CourseKind.CURRICULUM


async def _quiz_chapters(ctx: Context, course_id: int) -> list[ChapterRecord]:
    chapters: list[ChapterRecord] = await ctx.loaders.chapters_by_course.load(course_id)
    return [chapter for chapter in chapters if chapter.kind == ChapterKind.QUIZ.value]


async def chapter_insights(ctx: Context, enrollment: EnrollmentRecord) -> list[ChapterInsightValue]:
    """Every chapter of the course in order, with the current attempt's progress in it."""
    if _nothing_to_show(ctx, enrollment):
        return []
    chapters, rows = await asyncio.gather(
        ctx.loaders.chapters_by_course.load(enrollment.course_id),
        ctx.loaders.chapter_progress_by_attempt.load(enrollment.attempt_id),
    )
    by_chapter = {row.chapter_id: row for row in rows}
    insights = []
    for chapter in chapters:
        row = by_chapter.get(chapter.id)
        insights.append(
            ChapterInsightValue(
                chapter=chapter,
                status=NOT_STARTED if row is None else row.status,
                progress=0 if row is None else row.progress,
                completed_at=None if row is None else row.completed_at,
            )
        )
    return insights


async def quiz_insights(ctx: Context, enrollment: EnrollmentRecord) -> list[QuizInsightValue]:
    """Every question of every quiz chapter, with the current attempt's answer (or none)."""
    if _nothing_to_show(ctx, enrollment):
        return []
    chapters, answers = await asyncio.gather(
        _quiz_chapters(ctx, enrollment.course_id),
        ctx.loaders.quiz_answers_by_attempt.load(enrollment.attempt_id),
    )
    if not chapters:
        return []
    questions = await ctx.loaders.questions_by_chapter.load_many([c.id for c in chapters])
    by_question = {answer.question_id: answer for answer in answers}
    insights = []
    for chapter, chapter_questions in zip(chapters, questions, strict=True):
        lines = []
        for question in chapter_questions:
            answer = by_question.get(question.id)
            lines.append(
                QuizAnswerInsightValue(
                    question=question,
                    choice=None if answer is None else answer.choice,
                    correct=None if answer is None else answer.correct,
                    answered_at=None if answer is None else answer.answered_at,
                )
            )
        insights.append(
            QuizInsightValue(
                chapter=chapter,
                score=sum(1 for line in lines if line.correct),
                max_score=len(lines),
                answers=lines,
            )
        )
    return insights


async def enrollment_export_url(ctx: Context, enrollment: EnrollmentRecord) -> str | None:
    """A signed link to this learner's quiz workbook: admins and the course's instructors,
    and only when the course has a quiz."""
    if ctx.viewer.user is None or not ctx.viewer.manages(enrollment.course_id):
        return None
    if not await _quiz_chapters(ctx, enrollment.course_id):
        return None
    return sign(ctx.lms.settings, ctx.viewer.user.id, enrollment_export_path(enrollment.id))


async def course_export_url(ctx: Context, course: CourseRecord) -> str | None:
    """A signed link to the quiz workbook of every learner of the course (same rules)."""
    if ctx.viewer.user is None or not ctx.viewer.manages(course.id):
        return None
    if not await _quiz_chapters(ctx, course.id):
        return None
    return sign(ctx.lms.settings, ctx.viewer.user.id, course_export_path(course.id))
