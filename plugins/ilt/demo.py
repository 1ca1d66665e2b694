"""Demo data (``lms-graph demo``): an ILT course with a full session and its waitlist, a
second session with free seats and a meeting link, and learners still without a seat."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select

from lms_graph import CourseRecord, Tx, ids_param
from lms_graph_plugins.ilt.seats import lock_for_placing, place
from lms_graph_plugins.ilt.sessions import KEY, SessionSpec, create_session
from lms_graph_plugins.ilt.tables import attempts, enrollments


@dataclasses.dataclass(frozen=True, slots=True)
class _Learner:
    enrollment_id: int
    attempt_id: int
    user_id: int
    course_id: int


_LEARNERS = (
    select(enrollments.c.id, attempts.c.id, enrollments.c.user_id)
    .join(
        attempts,
        (attempts.c.enrollment_id == enrollments.c.id)
        & (attempts.c.number == enrollments.c.attempt_number),
    )
    .where(ids_param(enrollments.c.id, "enrollment_ids"))
)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


async def seed(
    tx: Tx, course: CourseRecord, enrollment_ids: Sequence[int], instructor_id: int
) -> None:
    """Learners 0-2 fill "Tuesday morning" (3 seats), 3-4 wait for it, 5-6 sit in
    "Thursday afternoon" (online, 10 seats); the rest have no seat yet."""
    if course.course_type != KEY or len(enrollment_ids) < 7:
        return
    rows = await tx.db.execute(_LEARNERS, {"enrollment_ids": list(enrollment_ids)})
    found = {
        eid: _Learner(eid, attempt_id, user_id, course.id) for eid, attempt_id, user_id in rows
    }
    learners = [found[eid] for eid in enrollment_ids]
    week = tx.now.date() + dt.timedelta(days=7)
    tuesday = week + dt.timedelta(days=(1 - week.weekday()) % 7)
    thursday = tuesday + dt.timedelta(days=2)
    morning = await create_session(
        tx,
        SessionSpec(
            course_id=course.id,
            title="Tuesday morning",
            starts_at=_at(tuesday, 9),
            ends_at=_at(tuesday, 12),
            capacity=3,
            location="Building A, room 2.14",
            instructor_id=instructor_id,
            waitlist=True,
        ),
    )
    afternoon = await create_session(
        tx,
        SessionSpec(
            course_id=course.id,
            title="Thursday afternoon (online)",
            starts_at=_at(thursday, 14),
            ends_at=_at(thursday, 17),
            capacity=10,
            meeting_link="https://meet.example.com/fire-warden",
            instructor_id=instructor_id,
        ),
    )
    for session_id, group, waitlist in (
        (morning, learners[:5], True),
        (afternoon, learners[5:7], False),
    ):
        session = await lock_for_placing(tx, session_id, [learner.attempt_id for learner in group])
        assert session is not None
        await place(tx, session, group, waitlist=waitlist, action="change_session")
