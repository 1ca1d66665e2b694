"""``ChapterInsight``, ``QuizInsight`` and ``QuizAnswerInsight``: a learner's current attempt,
chapter by chapter and question by question (views over ``resolvers.insights`` values)."""

from __future__ import annotations

import datetime as dt

import strawberry

from lms_graph.schema.courses import Chapter, Question


@strawberry.type(description="A learner's progress in one chapter, in the current attempt.")
class ChapterInsight:
    chapter: Chapter
    status: str = strawberry.field(description="NOT_STARTED, STARTED or COMPLETED.")
    progress: int = strawberry.field(description="0 to 100.")
    completed_at: dt.datetime | None


@strawberry.type(description="A learner's answer to one question (null fields: unanswered).")
class QuizAnswerInsight:
    question: Question
    choice: int | None = strawberry.field(description="The index of the chosen answer.")
    correct: bool | None
    answered_at: dt.datetime | None


@strawberry.type(description="A learner's answers in one quiz chapter, in the current attempt.")
class QuizInsight:
    chapter: Chapter
    score: int = strawberry.field(description="How many questions were answered correctly.")
    max_score: int = strawberry.field(description="How many questions the chapter has.")
    answers: list[QuizAnswerInsight] = strawberry.field(
        description="Every question of the chapter, in order."
    )
