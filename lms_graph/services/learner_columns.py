"""Learners of a mass action read as rows, for set-based code: a ``MenuLearner`` is
built only for the learner someone looks at one by one.

Building ten thousand frozen ``MenuLearner``s costs more than the hand-written
statements of a mass action; the core's actions only need their IDs and states as
columns (``rows_of``), so runs of plain-state actions (``applies_in_states``) hand
``run`` a ``LearnerColumns``, which is still a ``Sequence[MenuLearner]`` for any
code that iterates it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, overload

from lms_graph.values import CourseKind, LearnerState, MenuLearner


class LearnerLike(Protocol):
    """What set-based code reads of a learner: a ``MenuLearner`` or a ``LearnerRow``."""

    @property
    def enrollment_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def course_id(self) -> int: ...
    @property
    def course_type(self) -> str: ...
    @property
    def course_kind(self) -> CourseKind: ...
    @property
    def state(self) -> LearnerState: ...
    @property
    def attempt_id(self) -> int: ...
    @property
    def attempt_number(self) -> int: ...
    @property
    def version(self) -> int: ...


class LearnerRow(NamedTuple):
    """One learner as read for a plain-state action (``mass_claims.read_learners``)."""

    enrollment_id: int
    version: int
    state: LearnerState
    user_id: int
    course_id: int
    course_type: str
    course_kind: CourseKind
    attempt_id: int
    attempt_number: int


@dataclasses.dataclass(frozen=True, slots=True)
class CourseDetails:
    """What a ``MenuLearner`` holds besides its row: per course, whether it has a quiz and
    chapters; who of the learners is an instructor there; whether the viewer is an admin.
    (No ``facts``: runs read as columns only when no plugin answers ``lms_learner_facts``.)"""

    has_quiz: Mapping[int, bool]
    has_chapters: Mapping[int, bool]
    instructors: Collection[tuple[int, int]]
    """(course ID, user ID) pairs."""
    viewer_is_admin: bool


_NO_FACTS: Mapping[str, Any] = {}


class LearnerColumns(Sequence[MenuLearner]):
    """Learners as rows; indexing or iterating builds each ``MenuLearner``."""

    __slots__ = ("details", "rows")

    def __init__(self, rows: Sequence[LearnerRow], details: CourseDetails) -> None:
        self.rows = rows
        self.details = details

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> MenuLearner: ...
    @overload
    def __getitem__(self, index: slice) -> LearnerColumns: ...
    def __getitem__(self, index: int | slice) -> MenuLearner | LearnerColumns:
        if isinstance(index, slice):
            return LearnerColumns(self.rows[index], self.details)
        return self._learner(self.rows[index])

    def __iter__(self) -> Iterator[MenuLearner]:
        return map(self._learner, self.rows)

    def _learner(self, row: LearnerRow) -> MenuLearner:
        details = self.details
        return MenuLearner(
            enrollment_id=row.enrollment_id,
            user_id=row.user_id,
            course_id=row.course_id,
            course_type=row.course_type,
            course_kind=row.course_kind,
            state=row.state,
            has_quiz=details.has_quiz[row.course_id],
            attempt_number=row.attempt_number,
            attempt_id=row.attempt_id,
            version=row.version,
            viewer_is_admin=details.viewer_is_admin,
            facts=_NO_FACTS,
            is_instructor=(row.course_id, row.user_id) in details.instructors,
            has_chapters=details.has_chapters[row.course_id],
        )

    def where(self, keep: Callable[[LearnerRow], bool]) -> LearnerColumns:
        return LearnerColumns([row for row in self.rows if keep(row)], self.details)


def rows_of(learners: Sequence[MenuLearner]) -> Sequence[LearnerLike]:
    """The learners as set-based code reads them: a ``LearnerColumns``' rows as they are
    (no ``MenuLearner`` built), any other sequence itself."""
    if isinstance(learners, LearnerColumns):
        return learners.rows
    return learners


def keep(learners: Sequence[MenuLearner], ids: Collection[int]) -> Sequence[MenuLearner]:
    """The learners whose enrollment ID is in ``ids``, in their order, of the same kind."""
    if isinstance(learners, LearnerColumns):
        return learners.where(lambda row: row.enrollment_id in ids)
    return [learner for learner in learners if learner.enrollment_id in ids]


def without(learners: Sequence[MenuLearner], ids: Collection[int]) -> Sequence[MenuLearner]:
    """The learners whose enrollment ID is not in ``ids``, in their order, of the same kind."""
    if not ids:
        return learners
    if isinstance(learners, LearnerColumns):
        return learners.where(lambda row: row.enrollment_id not in ids)
    return [learner for learner in learners if learner.enrollment_id not in ids]
