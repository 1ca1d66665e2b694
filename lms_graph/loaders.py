"""Per-request DataLoaders (``XByYLoader``), all sharing the request's one connection.

Each batch function answers in key order: a record or None, or a list (maybe empty).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from lms_graph import models as m
from lms_graph.db import RequestConnection
from lms_graph.queries import COURSE_COLUMNS, USER_COLUMNS, enrollments_select
from lms_graph.records import (
    AttemptRecord,
    ChapterProgressRecord,
    ChapterRecord,
    CourseRecord,
    EnrollmentRecord,
    HistoryRecord,
    NotificationRecord,
    QuestionRecord,
    QuizAnswerRecord,
    UserRecord,
)
from lms_graph.sql import ids_param
from lms_graph.values import LearnerState

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _by_key(keys: Sequence[K], items: Iterable[tuple[K, V]]) -> list[V | None]:
    found = dict(items)
    return [found.get(key) for key in keys]


def _grouped(keys: Sequence[K], items: Iterable[tuple[K, V]]) -> list[list[V]]:
    groups: dict[K, list[V]] = defaultdict(list)
    for key, value in items:
        groups[key].append(value)
    return [groups.get(key, []) for key in keys]


# The hottest statements are built once: SQLAlchemy then skips constructing them and
# computing their cache key on every request. Their ``ids`` parameter is the list of keys.
_USERS = select(*USER_COLUMNS).where(ids_param(m.User.id, "ids"))
_COURSES = select(*COURSE_COLUMNS).where(ids_param(m.Course.id, "ids"))
_ENROLLMENTS = enrollments_select().where(ids_param(m.Enrollment.id, "ids"))


class Loaders:
    """The request's loaders. Plugins add their own with ``get``."""

    def __init__(self, db: RequestConnection) -> None:
        self.db = db
        self._extra: dict[str, DataLoader[Any, Any]] = {}

    # Each loader is made on first use: a request uses one or two of them.

    @cached_property
    def users(self) -> DataLoader[int, UserRecord | None]:
        return DataLoader(self._users)

    @cached_property
    def courses(self) -> DataLoader[int, CourseRecord | None]:
        return DataLoader(self._courses)

    @cached_property
    def enrollments(self) -> DataLoader[int, EnrollmentRecord | None]:
        return DataLoader(self._enrollments)

    @cached_property
    def chapters(self) -> DataLoader[int, ChapterRecord | None]:
        return DataLoader(self._chapters)

    @cached_property
    def questions(self) -> DataLoader[int, QuestionRecord | None]:
        return DataLoader(self._questions)

    @cached_property
    def notifications(self) -> DataLoader[int, NotificationRecord | None]:
        return DataLoader(self._notifications)

    @cached_property
    def chapters_by_course(self) -> DataLoader[int, list[ChapterRecord]]:
        return DataLoader(self._chapters_by_course)

    @cached_property
    def questions_by_chapter(self) -> DataLoader[int, list[QuestionRecord]]:
        return DataLoader(self._questions_by_chapter)

    @cached_property
    def instructors_by_course(self) -> DataLoader[int, list[UserRecord]]:
        return DataLoader(self._instructors_by_course)

    @cached_property
    def member_courses_by_curriculum(self) -> DataLoader[int, list[CourseRecord]]:
        return DataLoader(self._member_courses)

    @cached_property
    def attempts_by_enrollment(self) -> DataLoader[int, list[AttemptRecord]]:
        return DataLoader(self._attempts_by_enrollment)

    @cached_property
    def history_by_enrollment(self) -> DataLoader[int, list[HistoryRecord]]:
        return DataLoader(self._history_by_enrollment)

    @cached_property
    def notifications_by_user(self) -> DataLoader[int, list[NotificationRecord]]:
        return DataLoader(self._notifications_by_user)

    @cached_property
    def credits_by_user(self) -> DataLoader[int, float]:
        return DataLoader(self._credits_by_user)

    @cached_property
    def learner_counts_by_course(self) -> DataLoader[int, list[tuple[LearnerState, int]]]:
        return DataLoader(self._learner_counts_by_course)

    @cached_property
    def chapter_progress_by_attempt(self) -> DataLoader[int, list[ChapterProgressRecord]]:
        return DataLoader(self._chapter_progress_by_attempt)

    @cached_property
    def quiz_answers_by_attempt(self) -> DataLoader[int, list[QuizAnswerRecord]]:
        return DataLoader(self._quiz_answers_by_attempt)

    def get(
        self, name: str, load_fn: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        """A plugin's loader by name, created on first use for this request."""
        loader = self._extra.get(name)
        if loader is None:
            loader = self._extra[name] = DataLoader(load_fn)
        return loader

    async def _rows(self, statement: Any, ids: list[int] | None = None) -> Sequence[Any]:
        """The rows of ``statement``; ``ids`` fill its ``ids`` parameter, if it has one."""
        params = None if ids is None else {"ids": ids}
        return (await self.db.execute(statement, params)).mappings().all()

    async def _users(self, ids: list[int]) -> list[UserRecord | None]:
        rows = await self._rows(_USERS, ids)
        return _by_key(ids, ((r["id"], UserRecord.from_row(r)) for r in rows))

    async def _courses(self, ids: list[int]) -> list[CourseRecord | None]:
        rows = await self._rows(_COURSES, ids)
        return _by_key(ids, ((r["id"], CourseRecord.from_row(r)) for r in rows))

    async def _enrollments(self, ids: list[int]) -> list[EnrollmentRecord | None]:
        rows = await self._rows(_ENROLLMENTS, ids)
        return _by_key(ids, ((r["id"], EnrollmentRecord.from_row(r)) for r in rows))

    async def _chapters(self, ids: list[int]) -> list[ChapterRecord | None]:
        rows = await self._rows(select(m.Chapter).where(m.Chapter.id.in_(ids)))
        return _by_key(ids, ((r["id"], ChapterRecord.from_row(r)) for r in rows))

    async def _questions(self, ids: list[int]) -> list[QuestionRecord | None]:
        rows = await self._rows(select(m.Question).where(m.Question.id.in_(ids)))
        return _by_key(ids, ((r["id"], QuestionRecord.from_row(r)) for r in rows))

    async def _notifications(self, ids: list[int]) -> list[NotificationRecord | None]:
        rows = await self._rows(select(m.Notification).where(m.Notification.id.in_(ids)))
        return _by_key(ids, ((r["id"], NotificationRecord.from_row(r)) for r in rows))

    async def _chapters_by_course(self, ids: list[int]) -> list[list[ChapterRecord]]:
        rows = await self._rows(
            select(m.Chapter).where(m.Chapter.course_id.in_(ids)).order_by(m.Chapter.position)
        )
        return _grouped(ids, ((r["course_id"], ChapterRecord.from_row(r)) for r in rows))

    async def _questions_by_chapter(self, ids: list[int]) -> list[list[QuestionRecord]]:
        rows = await self._rows(
            select(m.Question).where(m.Question.chapter_id.in_(ids)).order_by(m.Question.position)
        )
        return _grouped(ids, ((r["chapter_id"], QuestionRecord.from_row(r)) for r in rows))

    async def _instructors_by_course(self, ids: list[int]) -> list[list[UserRecord]]:
        rows = await self._rows(
            select(m.CourseInstructor.course_id, *USER_COLUMNS)
            .join(m.User, m.User.id == m.CourseInstructor.user_id)
            .where(m.CourseInstructor.course_id.in_(ids))
            .order_by(m.User.name, m.User.id)
        )
        return _grouped(ids, ((r["course_id"], UserRecord.from_row(r)) for r in rows))

    async def _member_courses(self, ids: list[int]) -> list[list[CourseRecord]]:
        rows = await self._rows(
            select(m.CurriculumCourse.curriculum_id, *COURSE_COLUMNS)
            .join(m.Course, m.Course.id == m.CurriculumCourse.course_id)
            .where(m.CurriculumCourse.curriculum_id.in_(ids))
            .order_by(m.CurriculumCourse.position)
        )
        return _grouped(ids, ((r["curriculum_id"], CourseRecord.from_row(r)) for r in rows))

    async def _attempts_by_enrollment(self, ids: list[int]) -> list[list[AttemptRecord]]:
        rows = await self._rows(
            select(m.Attempt).where(m.Attempt.enrollment_id.in_(ids)).order_by(m.Attempt.number)
        )
        return _grouped(ids, ((r["enrollment_id"], AttemptRecord.from_row(r)) for r in rows))

    async def _history_by_enrollment(self, ids: list[int]) -> list[list[HistoryRecord]]:
        rows = await self._rows(
            select(m.HistoryEntry)
            .where(m.HistoryEntry.enrollment_id.in_(ids))
            .order_by(m.HistoryEntry.at, m.HistoryEntry.id)
        )
        return _grouped(ids, ((r["enrollment_id"], HistoryRecord.from_row(r)) for r in rows))

    async def _chapter_progress_by_attempt(
        self, ids: list[int]
    ) -> list[list[ChapterProgressRecord]]:
        rows = await self._rows(
            select(
                m.ChapterProgress.attempt_id,
                m.ChapterProgress.chapter_id,
                m.ChapterProgress.status,
                m.ChapterProgress.progress,
                m.ChapterProgress.completed_at,
            ).where(m.ChapterProgress.attempt_id.in_(ids))
        )
        return _grouped(ids, ((r["attempt_id"], ChapterProgressRecord.from_row(r)) for r in rows))

    async def _quiz_answers_by_attempt(self, ids: list[int]) -> list[list[QuizAnswerRecord]]:
        rows = await self._rows(select(m.QuizAnswer).where(m.QuizAnswer.attempt_id.in_(ids)))
        return _grouped(ids, ((r["attempt_id"], QuizAnswerRecord.from_row(r)) for r in rows))

    async def _notifications_by_user(self, ids: list[int]) -> list[list[NotificationRecord]]:
        rows = await self._rows(
            select(m.Notification)
            .where(m.Notification.user_id.in_(ids))
            .order_by(m.Notification.created_at.desc(), m.Notification.id.desc())
        )
        return _grouped(ids, ((r["user_id"], NotificationRecord.from_row(r)) for r in rows))

    async def _credits_by_user(self, ids: list[int]) -> list[float]:
        """Credits of every course whose current attempt is completed, counted once per course."""
        rows = await self._rows(
            select(
                m.Enrollment.user_id,
                func.coalesce(func.sum(m.Course.credits), 0.0).label("credits"),
            )
            .join(m.Course, m.Course.id == m.Enrollment.course_id)
            .join(
                m.Attempt,
                (m.Attempt.enrollment_id == m.Enrollment.id)
                & (m.Attempt.number == m.Enrollment.attempt_number),
            )
            .where(m.Enrollment.user_id.in_(ids), m.Attempt.completed_at.is_not(None))
            .group_by(m.Enrollment.user_id)
        )
        found = {row["user_id"]: float(row["credits"]) for row in rows}
        return [found.get(key, 0.0) for key in ids]

    async def _learner_counts_by_course(
        self, ids: list[int]
    ) -> list[list[tuple[LearnerState, int]]]:
        query = (
            enrollments_select()
            .with_only_columns(
                m.Enrollment.course_id, m.Attempt.state, func.count().label("learners")
            )
            .where(m.Enrollment.course_id.in_(ids))
            .group_by(m.Enrollment.course_id, m.Attempt.state)
        )
        counts: dict[int, dict[LearnerState, int]] = defaultdict(dict)
        for row in await self._rows(query):
            counts[row["course_id"]][LearnerState(row["state"])] = row["learners"]
        return [[(state, counts[key].get(state, 0)) for state in LearnerState] for key in ids]
