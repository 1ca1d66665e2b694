"""Value types that hooks receive and return. Re-exported by ``lms_graph``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import MetaData


class LearnerState(enum.StrEnum):
    NOT_STARTED = "NOT_STARTED"
    STARTED = "STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    ENROLLED_IN_SESSION = "ENROLLED_IN_SESSION"
    COMPLETED = "COMPLETED"


class AssignmentType(enum.StrEnum):
    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"


class CourseKind(enum.StrEnum):
    COURSE = "COURSE"
    CURRICULUM = "CURRICULUM"


class ChapterKind(enum.StrEnum):
    CONTENT = "CONTENT"
    QUIZ = "QUIZ"


@dataclasses.dataclass(frozen=True, slots=True)
class CourseType:
    """A kind of course a plugin teaches the service (``self_paced``, ``ilt``, ...)."""

    key: str
    label: str
    description: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class LearnerProgress:
    """What is known of one learner's current attempt, for deciding its state.

    Counts cover the course's chapters (a curriculum's: its member courses).
    """

    enrollment_id: int
    attempt_id: int
    user_id: int
    course_id: int
    course_type: str
    course_kind: CourseKind
    attempt_number: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    chapters_total: int
    chapters_started: int
    chapters_completed: int
    questions_total: int
    questions_answered: int


@dataclasses.dataclass(frozen=True, slots=True)
class LearnerStatus:
    """A plugin's decision: the learner's state and progress (0-100).

    A decision of COMPLETED on an attempt not yet completed completes it, with
    every lifecycle consequence (``lms_on_completed``).
    """

    state: LearnerState
    progress: int


@dataclasses.dataclass(frozen=True, slots=True)
class LearnerRef:
    """One learner in one course, as lifecycle hooks receive it (always in batches)."""

    enrollment_id: int
    user_id: int
    course_id: int
    course_type: str
    attempt_id: int | None
    attempt_number: int


@dataclasses.dataclass(frozen=True, slots=True)
class MigrationSource:
    """A plugin's own tables: its ``MetaData`` and its Alembic versions folder.

    The folder's first revision carries ``branch_labels = (branch,)`` and
    ``depends_on`` the core's first revision, so ``lms-graph db upgrade``
    upgrades every branch together.
    """

    branch: str
    versions: Path
    metadata: MetaData


@dataclasses.dataclass(frozen=True, slots=True)
class GraphQLExtension:
    """What a plugin adds to the GraphQL schema.

    ``query``/``mutation``: strawberry types whose fields join ``Query``/``Mutation``.
    ``fields``: for a core type name (``"Enrollment"``, ``"Course"``, ``"User"``,
    ``"Chapter"``), strawberry types whose fields are added to it; their
    resolvers receive the core record (``EnrollmentRecord`` ...) as parent.
    ``types``: extra types to include even if no field names them.
    ``nodes``: for a type name of the plugin's own ``Node`` types, an async
    ``(context, pk) -> record | None`` so that ``node(id)`` finds them
    (None when the viewer may not see it).
    """

    query: type | None = None
    mutation: type | None = None
    fields: Mapping[str, Sequence[type]] = dataclasses.field(default_factory=dict)
    types: Sequence[type] = ()
    nodes: Mapping[str, Callable[[Any, int], Awaitable[Any]]] = dataclasses.field(
        default_factory=dict
    )


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationMessage:
    """A notification stored for a user; plugins may also deliver it elsewhere."""

    id: int
    user_id: int
    kind: str
    subject: str
    body: str | None
    created_at: dt.datetime
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
