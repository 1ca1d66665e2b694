"""``Session``, ``Course.sessions``, ``Enrollment.session`` (and its waitlist and seat
record), ``createSession`` and ``enrollInSession``.

Every field that reads seats goes through a per-request loader keyed by what the
page holds (course, attempt, enrollment, session IDs): a page of learners costs
one statement per field selected, whatever its size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLResolveInfo
from sqlalchemy import and_, func, select
from strawberry.dataloader import DataLoader

from lms_graph import (
    CourseRecord,
    EnrollmentRecord,
    GraphQLExtension,
    Node,
    decode_id,
    ids_param,
    write,
)
from lms_graph.types import Course, Enrollment, User
from lms_graph_plugins.ilt.sessions import SessionSpec, create_session, enroll_in_session
from lms_graph_plugins.ilt.tables import ACTIVE, TAKING, SeatStatus, attempts, seats, sessions


@dataclasses.dataclass(slots=True, eq=False)
class SessionRecord:
    typename: ClassVar[str] = "Session"
    id: int
    course_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str
    location: str | None
    meeting_link: str | None
    capacity: int
    waitlist: bool
    instructor_id: int | None


COLUMNS = tuple(getattr(sessions.c, name) for name in SessionRecord.__slots__)


def _record(row: Any) -> SessionRecord:
    return SessionRecord(**{name: row._mapping[name] for name in SessionRecord.__slots__})


@dataclasses.dataclass(frozen=True, slots=True)
class _Counts:
    taken: int = 0
    waiting: int = 0


@dataclasses.dataclass(slots=True)
class HeldRecord:
    """An attempt's current seat or waitlist place."""

    status: str
    session: SessionRecord
    position: int


@dataclasses.dataclass(slots=True)
class SeatRecord:
    status: str
    session: SessionRecord
    attempt_number: int
    since: dt.datetime


Load = Callable[[list[int]], Awaitable[list[Any]]]


def _loader(info: strawberry.Info, name: str, load: Load) -> DataLoader[int, Any]:
    return info.context.loaders.get(f"ilt.{name}", load)


def _sessions_by_id(info: strawberry.Info) -> DataLoader[int, SessionRecord | None]:
    return _loader(info, "sessions", _sessions_by_id_batch(info.context))


# The loaders' statements, built once (SQLAlchemy then reuses their compiled form): the
# page's keys are bound as one parameter, however many there are.
_SESSIONS_BY_ID = select(*COLUMNS).where(ids_param(sessions.c.id, "ids"))
_SESSIONS_BY_COURSE = (
    select(*COLUMNS)
    .where(ids_param(sessions.c.course_id, "course_ids"))
    .order_by(sessions.c.starts_at, sessions.c.id)
)
_COUNTS = (
    select(
        seats.c.session_id,
        func.count().filter(seats.c.status.in_(TAKING)),
        func.count().filter(seats.c.status == SeatStatus.WAITLISTED.value),
    )
    .where(ids_param(seats.c.session_id, "session_ids"))
    .group_by(seats.c.session_id)
)
_EARLIER = seats.alias("earlier")
_POSITION = (
    select(func.count())
    .where(
        _EARLIER.c.session_id == seats.c.session_id,
        _EARLIER.c.status == SeatStatus.WAITLISTED.value,
        (_EARLIER.c.created_at < seats.c.created_at)
        | and_(_EARLIER.c.created_at == seats.c.created_at, _EARLIER.c.id <= seats.c.id),
    )
    .scalar_subquery()
)
_HELD_BY_ATTEMPT = (
    select(seats.c.attempt_id, seats.c.status, _POSITION.label("position"), *COLUMNS)
    .join(sessions, sessions.c.id == seats.c.session_id)
    .where(ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status.in_(ACTIVE))
)
_SEATS_BY_ENROLLMENT = (
    select(
        seats.c.enrollment_id,
        seats.c.status,
        seats.c.updated_at,
        attempts.c.number,
        *COLUMNS,
    )
    .join(sessions, sessions.c.id == seats.c.session_id)
    .join(attempts, attempts.c.id == seats.c.attempt_id)
    .where(ids_param(seats.c.enrollment_id, "enrollment_ids"))
    .order_by(seats.c.created_at, seats.c.id)
)


def _sessions_by_course(info: strawberry.Info) -> DataLoader[int, list[SessionRecord]]:
    db = info.context.db

    async def load(course_ids: list[int]) -> list[list[SessionRecord]]:
        rows = await db.execute(_SESSIONS_BY_COURSE, {"course_ids": list(course_ids)})
        found: dict[int, list[SessionRecord]] = defaultdict(list)
        for row in rows:
            found[row.course_id].append(_record(row))
        return [found[pk] for pk in course_ids]

    return _loader(info, "sessions_by_course", load)


def _counts(info: strawberry.Info) -> DataLoader[int, _Counts]:
    db = info.context.db

    async def load(session_ids: list[int]) -> list[_Counts]:
        rows = await db.execute(_COUNTS, {"session_ids": list(session_ids)})
        found = {pk: _Counts(taken, waiting) for pk, taken, waiting in rows}
        return [found.get(pk, _Counts()) for pk in session_ids]

    return _loader(info, "counts", load)


def _held_by_attempt(info: strawberry.Info) -> DataLoader[int, HeldRecord | None]:
    db = info.context.db

    async def load(attempt_ids: list[int]) -> list[HeldRecord | None]:
        rows = await db.execute(_HELD_BY_ATTEMPT, {"attempt_ids": list(attempt_ids)})
        found = {row.attempt_id: HeldRecord(row.status, _record(row), row.position) for row in rows}
        return [found.get(pk) for pk in attempt_ids]

    return _loader(info, "held_by_attempt", load)


def _seats_by_enrollment(info: strawberry.Info) -> DataLoader[int, list[SeatRecord]]:
    db = info.context.db

    async def load(enrollment_ids: list[int]) -> list[list[SeatRecord]]:
        rows = await db.execute(_SEATS_BY_ENROLLMENT, {"enrollment_ids": list(enrollment_ids)})
        found: dict[int, list[SeatRecord]] = defaultdict(list)
        for row in rows:
            found[row.enrollment_id].append(
                SeatRecord(row.status, _record(row), row.number, row.updated_at)
            )
        return [found[pk] for pk in enrollment_ids]

    return _loader(info, "seats_by_enrollment", load)


@strawberry.type(description="A scheduled class of an instructor-led (ILT) course.")
class Session(Node):
    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo) -> bool:
        return getattr(obj, "typename", None) == "Session"

    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str = strawberry.field(
        description="The IANA time zone the session is held in, e.g. Europe/Paris."
    )
    location: str | None
    meeting_link: str | None
    capacity: int = strawberry.field(description="Seats in all.")

    @strawberry.field(description="Whether a learner finding it full may join its waitlist.")
    def waitlist_enabled(self, root: strawberry.Parent[SessionRecord]) -> bool:
        return root.waitlist

    @strawberry.field(description="Seats taken: enrolled, attended or incomplete (not no-shows).")
    async def seats_taken(
        self, root: strawberry.Parent[SessionRecord], info: strawberry.Info
    ) -> int:
        return (await _counts(info).load(root.id)).taken

    @strawberry.field(description="Seats still free.")
    async def seats_left(
        self, root: strawberry.Parent[SessionRecord], info: strawberry.Info
    ) -> int:
        return max(0, root.capacity - (await _counts(info).load(root.id)).taken)

    @strawberry.field(description="Learners waiting for a seat.")
    async def waitlist_count(
        self, root: strawberry.Parent[SessionRecord], info: strawberry.Info
    ) -> int:
        return (await _counts(info).load(root.id)).waiting

    @strawberry.field
    def course(self, root: strawberry.Parent[SessionRecord], info: strawberry.Info) -> Course:
        return info.context.loaders.courses.load(root.course_id)

    @strawberry.field(description="Who teaches it; null when nobody was named.")
    def instructor(
        self, root: strawberry.Parent[SessionRecord], info: strawberry.Info
    ) -> User | None:
        if root.instructor_id is None:
            return None
        return info.context.loaders.users.load(root.instructor_id)


@strawberry.enum(description="What became of a learner's seat.")
class SeatState(enum.Enum):
    ENROLLED = "enrolled"
    ATTENDED = "attended"
    INCOMPLETE = "incomplete"
    NO_SHOW = "no_show"
    WAITLISTED = "waitlisted"


@strawberry.type(description="A learner's seat (or waitlist place) in a session, and its fate.")
class SessionSeat:
    session: Session
    attempt_number: int
    since: dt.datetime = strawberry.field(description="When the seat last changed.")

    @strawberry.field
    def status(self, root: strawberry.Parent[SeatRecord]) -> SeatState:
        return SeatState(root.status)


@strawberry.type
class CourseSessions:
    @strawberry.field(description="The course's sessions, soonest first (ILT courses).")
    async def sessions(
        self, root: strawberry.Parent[CourseRecord], info: strawberry.Info
    ) -> list[Session]:
        if root.course_type != "ilt":
            return []
        return await _sessions_by_course(info).load(root.id)


@strawberry.type
class EnrollmentSessions:
    @strawberry.field(description="The session whose seat the learner holds now; null: none.")
    async def session(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> Session | None:
        held = await _held_by_attempt(info).load(root.attempt_id)
        return held.session if held and held.status == SeatStatus.ENROLLED.value else None

    @strawberry.field(description="The session whose waitlist the learner is on; null: none.")
    async def waitlisted_session(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> Session | None:
        held = await _held_by_attempt(info).load(root.attempt_id)
        return held.session if held and held.status == SeatStatus.WAITLISTED.value else None

    @strawberry.field(description="1 for the next learner to get a seat; null: not waiting.")
    async def waitlist_position(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> int | None:
        held = await _held_by_attempt(info).load(root.attempt_id)
        return held.position if held and held.status == SeatStatus.WAITLISTED.value else None

    @strawberry.field(
        description="Every seat the learner had in this course, oldest first: sessions "
        "attended, no-shows, incompletes, the one held and the waitlist place."
    )
    async def session_seats(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> list[SessionSeat]:
        return await _seats_by_enrollment(info).load(root.id)


@strawberry.input
class CreateSessionInput:
    course_id: strawberry.ID
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    time_zone: str = "UTC"
    location: str | None = None
    meeting_link: str | None = None
    instructor_id: strawberry.ID | None = None
    waitlist: bool = strawberry.field(
        default=False, description="When full, let learners join a waitlist (enrollInSession)."
    )


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Schedule a session of an ILT course (administrators and the course's "
        "instructors)."
    )
    async def create_session(self, info: strawberry.Info, input: CreateSessionInput) -> Session:
        ctx = info.context
        ctx.require_user()
        spec = SessionSpec(
            course_id=decode_id(input.course_id, "Course"),
            title=input.title,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            capacity=input.capacity,
            time_zone=input.time_zone,
            location=input.location,
            meeting_link=input.meeting_link,
            instructor_id=(
                decode_id(input.instructor_id, "User") if input.instructor_id is not None else None
            ),
            waitlist=input.waitlist,
        )
        async with write(ctx.lms, ctx.viewer) as tx:
            pk = await create_session(tx, spec)
        ctx.fresh_loaders()
        return await _sessions_by_id(info).load(pk)

    @strawberry.mutation(
        description="Take a seat in a session of a course you are enrolled in, moving from "
        "the one you hold; when it is full, join its waitlist if it keeps one "
        "(else SESSION_FULL)."
    )
    async def enroll_in_session(
        self, info: strawberry.Info, session_id: strawberry.ID
    ) -> Enrollment:
        ctx = info.context
        ctx.require_user()
        pk = decode_id(session_id, "Session")
        async with write(ctx.lms, ctx.viewer) as tx:
            enrollment_id = await enroll_in_session(tx, pk)
        return await ctx.fresh_loaders().enrollments.load(enrollment_id)


async def session_node(context: Any, pk: int) -> SessionRecord | None:
    """``node(id)`` of a session: whoever may see its course sees it."""
    loader = context.loaders.get("ilt.sessions", _sessions_by_id_batch(context))
    record: SessionRecord | None = await loader.load(pk)
    if record is None:
        return None
    course = await context.lms.node_resolvers["Course"](context, record.course_id)
    return record if course is not None else None


def _sessions_by_id_batch(context: Any) -> Load:
    async def load(ids: list[int]) -> list[SessionRecord | None]:
        rows = await context.db.execute(_SESSIONS_BY_ID, {"ids": list(ids)})
        found = {row.id: _record(row) for row in rows}
        return [found.get(pk) for pk in ids]

    return load


def extension() -> GraphQLExtension:
    return GraphQLExtension(
        mutation=SessionMutation,
        fields={"Course": [CourseSessions], "Enrollment": [EnrollmentSessions]},
        types=(Session, SessionSeat),
        nodes={"Session": session_node},
    )
