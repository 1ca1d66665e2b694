"""Plain rows handed to GraphQL: fields are attributes, so resolving them is cheap.

These are what a plugin's GraphQL field receives as its parent
(``strawberry.Parent[EnrollmentRecord]``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, Self

from lms_graph.values import AssignmentType, ChapterKind, CourseKind, LearnerState


class _NotLoaded(enum.Enum):
    NOT_LOADED = "not loaded"


NOT_LOADED: Final = _NotLoaded.NOT_LOADED
"""An optional relation the query that built the record did not fetch (None is a value)."""

NotLoaded = Literal[_NotLoaded.NOT_LOADED]


def _fields_of(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


class _Record:
    typename: ClassVar[str]
    _columns: ClassVar[tuple[str, ...]]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        return cls(**{name: row[name] for name in cls._columns if name in row})

    @classmethod
    def from_tuple(cls, names: Sequence[str], prefix: str = "") -> Callable[[Sequence[Any]], Self]:
        """A builder of records from plain row tuples whose columns are ``names``
        (the record's fields, each under ``prefix`` + its name; absent ones left out)."""
        fields = [name for name in cls._columns if prefix + name in names]
        positions = [names.index(prefix + name) for name in fields]
        if fields and tuple(fields) == cls._columns[: len(fields)]:
            # The leading fields, in order: passed by position, the cheapest call.
            make: Any = cls
            if len(positions) == 1:
                only = positions[0]
                return lambda row: make(row[only])
            pick = operator.itemgetter(*positions)
            return lambda row: make(*pick(row))

        def build(row: Sequence[Any]) -> Any:
            return cls(**dict(zip(fields, [row[i] for i in positions], strict=True)))

        return build


@dataclasses.dataclass(slots=True, eq=False)
class UserRecord(_Record):
    typename: ClassVar[str] = "User"
    id: int
    email: str | None
    employee_id: str | None
    name: str
    active: bool
    is_admin: bool


@dataclasses.dataclass(slots=True, eq=False)
class CourseRecord(_Record):
    typename: ClassVar[str] = "Course"
    id: int
    title: str
    kind: CourseKind
    course_type: str
    credits: float


@dataclasses.dataclass(slots=True, eq=False)
class ChapterRecord(_Record):
    typename: ClassVar[str] = "Chapter"
    id: int
    course_id: int
    title: str
    kind: ChapterKind | str
    position: int


@dataclasses.dataclass(slots=True, eq=False)
class QuestionRecord(_Record):
    typename: ClassVar[str] = "Question"
    id: int
    chapter_id: int
    prompt: str
    choices: list[str]
    correct_choice: int
    position: int


@dataclasses.dataclass(slots=True, eq=False)
class EnrollmentRecord(_Record):
    """An enrollment joined with its current attempt (and, when loaded, its user)."""

    typename: ClassVar[str] = "Enrollment"
    id: int
    user_id: int
    course_id: int
    assignment: AssignmentType
    due_date: dt.date | None
    assigned_by_id: int | None
    assigned_at: dt.datetime
    message: str | None
    attempt_number: int
    version: int
    attempt_id: int
    state: LearnerState
    progress: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    has_quiz: bool | None = None
    """Whether the course has a quiz chapter, when the page query read it (for menus)."""
    is_instructor: bool | None = None
    """Whether the learner holds instructor rights on the course, when the page query
    read it (for menus)."""
    has_chapters: bool | None = None
    """Whether the course has chapters, when the page query read it (for menus)."""
    user: UserRecord | None = None
    course: CourseRecord | None = None
    assigned_by: UserRecord | NotLoaded | None = NOT_LOADED
    """Who assigned the course, when the page that loaded this learner joined them in."""
    menu: Sequence[Any] | None = None
    """The viewer's menu, when the page that loaded this learner prefetched it."""


@dataclasses.dataclass(slots=True, eq=False)
class AttemptRecord(_Record):
    typename: ClassVar[str] = "Attempt"
    id: int
    enrollment_id: int
    number: int
    state: LearnerState
    progress: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None


@dataclasses.dataclass(slots=True, eq=False)
class HistoryRecord(_Record):
    typename: ClassVar[str] = "HistoryEvent"
    id: int
    enrollment_id: int
    actor_id: int | None
    at: dt.datetime
    action: str
    summary: str
    note: str | None


@dataclasses.dataclass(slots=True, eq=False)
class NotificationRecord(_Record):
    typename: ClassVar[str] = "Notification"
    id: int
    user_id: int
    kind: str
    subject: str
    body: str | None
    created_at: dt.datetime


@dataclasses.dataclass(slots=True, eq=False)
class ChapterProgressRecord(_Record):
    """A learner's progress in one chapter, for one attempt (no row: not started)."""

    typename: ClassVar[str] = "ChapterProgress"
    attempt_id: int
    chapter_id: int
    status: str
    progress: int
    completed_at: dt.datetime | None


@dataclasses.dataclass(slots=True, eq=False)
class QuizAnswerRecord(_Record):
    """A learner's answer to one question, for one attempt."""

    typename: ClassVar[str] = "QuizAnswer"
    attempt_id: int
    question_id: int
    choice: int
    correct: bool
    answered_at: dt.datetime


for _cls in (
    UserRecord,
    CourseRecord,
    ChapterRecord,
    QuestionRecord,
    EnrollmentRecord,
    AttemptRecord,
    HistoryRecord,
    NotificationRecord,
    ChapterProgressRecord,
    QuizAnswerRecord,
):
    _cls._columns = _fields_of(_cls)
