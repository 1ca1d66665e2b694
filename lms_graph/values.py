"""Value types that hooks receive and return. Re-exported by ``lms_graph``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import MetaData


class SQLExecutor(Protocol):
    """What a hook's ``db`` offers: ``await db.execute(statement)`` (SQLAlchemy Core)."""

    async def execute(self, statement: Any, params: Any = None, /) -> Any: ...


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
    chapters_progress: int = 0
    """The chapters' own progress added up (0-100 each, what Chapter Insights shows: a
    completed chapter 100, a quiz chapter its share of questions answered); a
    curriculum's: 100 per completed course."""

    @property
    def work_done(self) -> int:
        """The course's progress, 0-100: the mean of its chapters' progress, so answered
        questions count toward their chapter; 100 only once every chapter is completed."""
        total = self.chapters_total
        if not total:
            return 0
        if self.chapters_completed >= total:
            return 100
        done = max(self.chapters_progress, 100 * self.chapters_completed)
        return min(99, round(done / total))


@dataclasses.dataclass(frozen=True, slots=True)
class LearnerStatus:
    """A plugin's decision: the learner's state and progress (0-100).

    A decision of COMPLETED on an attempt not yet completed completes it, with
    every lifecycle consequence (``lms_on_completed``). On an attempt already
    completed a decision counts only with ``reopen=True`` and a state other than
    COMPLETED: the completion is taken back as Mark as Incomplete takes it back
    (``lms_on_incomplete``: certificate and credits; a history line), and the
    attempt gets this state and progress. Re-open only completions your course
    type decided.
    """

    state: LearnerState
    progress: int
    reopen: bool = False


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
class Event:
    """Something that happened, told to ``lms_on_events`` once it is committed.

    ``name`` is one of ``action_run`` (``action``, ``actor_id``, ``succeeded``,
    ``skipped``, ``failed``, ``enrollment_ids`` of the OK learners) or
    ``learner_completed`` (``enrollment_id``, ``user_id``, ``course_id``,
    ``attempt_number``), or a plugin's own (``emit_event``), e.g. the certificates
    plugin's ``certificate_issued``; ``data`` holds JSON-ready values only.
    """

    name: str
    at: dt.datetime
    data: Mapping[str, Any]


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


class ActionKind(enum.StrEnum):
    VIEW = "VIEW"
    MUTATION = "MUTATION"


class OutcomeStatus(enum.StrEnum):
    OK = "OK"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@dataclasses.dataclass(frozen=True, slots=True)
class ActionParam:
    """One input of an action, enough for a dashboard to draw its form.

    ``type`` is a GraphQL-ish type name: ``Date``, ``String``, ``ID``, ``Boolean``
    or ``Enum`` (with ``choices``). Values arrive in ``runAction(params:)``
    under ``name`` (camelCase).
    """

    name: str
    type: str
    required: bool
    label: str
    choices: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MenuLearner:
    """What a menu rule may look at for one learner (loaded in one batch per page)."""

    enrollment_id: int
    user_id: int
    course_id: int
    course_type: str
    course_kind: CourseKind
    state: LearnerState
    has_quiz: bool
    attempt_number: int
    attempt_id: int
    version: int
    viewer_is_admin: bool
    facts: Mapping[str, Any]
    """What plugins said of this learner through ``lms_learner_facts``, merged."""
    is_instructor: bool = False
    """Whether the learner holds instructor rights on this course (Make Instructor)."""
    has_chapters: bool = True
    """Whether the course has chapters of its own (a curriculum has none)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one learner in an action run."""

    status: OutcomeStatus
    code: str | None = None
    message: str | None = None

    @classmethod
    def ok(cls, message: str | None = None) -> Outcome:
        return cls(OutcomeStatus.OK, None, message)

    @classmethod
    def skipped(cls, code: str, message: str) -> Outcome:
        return cls(OutcomeStatus.SKIPPED, code, message)


@dataclasses.dataclass(frozen=True, slots=True)
class ActionDefinition:
    """A learner action: its menu entry, the rule for when it shows, and what it does.

    ``applies`` decides, per learner, whether the action is in that learner's
    menu (and so whether ``runAction`` may run it on them). ``run`` (MUTATION
    actions) receives the learners it applies to, all at once, inside the run's
    transaction, and returns an ``Outcome`` per enrollment ID; learners it
    leaves out count as OK. ``summary`` gives the history line of an OK learner.
    ``position`` orders the menu. ``mass`` marks actions offered in
    ``Course.massActions`` by default. ``not_applicable`` gives the sentence of the
    NOT_APPLICABLE outcome of a learner ``applies`` leaves out (default: one naming the
    learner's state). ``applies_in_states``, when set, says that ``applies`` is exactly
    ``learner.state in applies_in_states``: ``runAction`` may then decide and claim in SQL,
    handing ``run`` (and hooks) learners read as columns, each ``MenuLearner`` built only
    when looked at (``services.learner_columns``). ``new_attempt_in_claim`` names the
    states whose learners ``run`` moves on to a new attempt: the claim then advances their
    attempt number together with their version (each enrollment written once), and ``run``
    finds them in ``ActionContext.moved_on`` (not when a plugin may perform the action
    itself through ``lms_perform_action``: it would act after the claim).
    """

    key: str
    label: str
    kind: ActionKind
    position: int
    applies: Callable[[MenuLearner], bool]
    run: Callable[..., Awaitable[Mapping[int, Outcome] | None]] | None = None
    description: str | None = None
    destructive: bool = False
    confirm: str | None = None
    params: tuple[ActionParam, ...] = ()
    summary: Callable[[Mapping[str, Any]], str] | None = None
    in_menu: bool = True
    mass: bool = False
    not_applicable: Callable[[MenuLearner], str] | None = None
    applies_in_states: frozenset[LearnerState] | None = None
    new_attempt_in_claim: frozenset[LearnerState] | None = None
