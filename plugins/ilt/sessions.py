"""Write-side rules of sessions: scheduling one, and a learner taking a seat in one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select, update

from lms_graph import BadInput, Forbidden, NotFound, Tx
from lms_graph_plugins.ilt.seats import Placement, lock_for_placing, place
from lms_graph_plugins.ilt.tables import attempts, courses, enrollments, sessions, users

KEY = "ilt"
MAX_CAPACITY = 100_000
MAX_LENGTH = dt.timedelta(days=31)


@dataclasses.dataclass(frozen=True, slots=True)
class SessionSpec:
    course_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    time_zone: str = "UTC"
    location: str | None = None
    meeting_link: str | None = None
    instructor_id: int | None = None
    waitlist: bool = False


def _validated(spec: SessionSpec) -> SessionSpec:
    title = spec.title.strip()
    if not title or len(title) > 200:
        raise BadInput("A session needs a title of 1 to 200 characters.")
    if spec.starts_at.tzinfo is None or spec.ends_at.tzinfo is None:
        raise BadInput("startsAt and endsAt need a UTC offset, e.g. 2026-12-01T09:00:00+01:00.")
    if spec.ends_at <= spec.starts_at:
        raise BadInput("endsAt must be after startsAt.")
    if spec.ends_at - spec.starts_at > MAX_LENGTH:
        raise BadInput("A session lasts at most 31 days.")
    if not 1 <= spec.capacity <= MAX_CAPACITY:
        raise BadInput(f"capacity must be between 1 and {MAX_CAPACITY}.")
    try:
        ZoneInfo(spec.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(
            f"{spec.time_zone!r} is not a time zone; use an IANA name like Europe/Paris."
        ) from None
    location = (spec.location or "").strip() or None
    link = (spec.meeting_link or "").strip() or None
    if location is not None and len(location) > 500:
        raise BadInput("location is at most 500 characters.")
    if link is not None:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 1000:
            raise BadInput("meetingLink must be an http(s) link of at most 1,000 characters.")
    if location is None and link is None:
        raise BadInput("Give the session a location, a meetingLink, or both.")
    return dataclasses.replace(spec, title=title, location=location, meeting_link=link)


async def create_session(tx: Tx, spec: SessionSpec) -> int:
    """Schedule a session of an ILT course: administrators and that course's instructors."""
    tx.viewer.require_user()
    if not tx.viewer.manages(spec.course_id):
        raise Forbidden("Only administrators and this course's instructors may schedule sessions.")
    spec = _validated(spec)
    course = (
        await tx.db.execute(
            select(courses.c.course_type, courses.c.kind).where(courses.c.id == spec.course_id)
        )
    ).first()
    if course is None:
        raise NotFound("There is no course with this ID.")
    if course.course_type != KEY or str(course.kind) != "COURSE":
        raise BadInput("Sessions belong to instructor-led (ilt) courses only.")
    if spec.instructor_id is not None:
        found = (
            await tx.db.execute(select(users.c.active).where(users.c.id == spec.instructor_id))
        ).first()
        if found is None or not found.active:
            raise BadInput("instructorId names no active user.")
    return int(
        (
            await tx.db.execute(
                insert(sessions)
                .values(
                    course_id=spec.course_id,
                    title=spec.title,
                    starts_at=spec.starts_at,
                    ends_at=spec.ends_at,
                    time_zone=spec.time_zone,
                    location=spec.location,
                    meeting_link=spec.meeting_link,
                    capacity=spec.capacity,
                    waitlist=spec.waitlist,
                    instructor_id=spec.instructor_id,
                    created_at=tx.now,
                )
                .returning(sessions.c.id)
            )
        ).scalar_one()
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Own:
    enrollment_id: int
    attempt_id: int
    user_id: int
    course_id: int


async def enroll_in_session(tx: Tx, session_id: int) -> int:
    """The viewer takes a seat in a session of a course they are enrolled in (moving from
    the one they hold); a full session puts them on its waitlist when it keeps one.
    Returns the enrollment ID."""
    user = tx.viewer.require_user()
    course_id = (
        await tx.db.execute(select(sessions.c.course_id).where(sessions.c.id == session_id))
    ).scalar_one_or_none()
    if course_id is None:
        raise NotFound("There is no session with this ID.")
    row = (
        await tx.db.execute(
            select(enrollments.c.id, attempts.c.id.label("attempt_id"), attempts.c.completed_at)
            .join(
                attempts,
                (attempts.c.enrollment_id == enrollments.c.id)
                & (attempts.c.number == enrollments.c.attempt_number),
            )
            .where(
                enrollments.c.user_id == user.id,
                enrollments.c.course_id == course_id,
                enrollments.c.unassigned_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise BadInput(
            "You are not enrolled in this session's course: start the course or ask to be "
            "assigned first."
        )
    if row.completed_at is not None:
        raise BadInput("You have already completed this course.")
    # Claim the learner as runAction does: an administrator's run acting on them at the
    # same time waits for this one and then finds them STALE, instead of both seating them.
    await tx.db.execute(
        update(enrollments)
        .where(enrollments.c.id == row.id)
        .values(version=enrollments.c.version + 1)
    )
    session = await lock_for_placing(tx, session_id, [row.attempt_id])
    if session is None:  # deleted meanwhile, with its course
        raise NotFound("There is no session with this ID.")
    if session.starts_at <= tx.now:
        raise BadInput("This session has already started; choose a later one.")
    learner = _Own(row.id, row.attempt_id, user.id, session.course_id)
    placed = await place(
        tx, session, [learner], waitlist=session.waitlist, action="enroll_in_session"
    )
    outcome = placed[learner.enrollment_id].placement
    if outcome is Placement.FULL:
        raise BadInput("This session is full and keeps no waitlist.", reason="SESSION_FULL")
    if outcome is Placement.CLASH:
        raise BadInput(
            "This session overlaps another session you hold a seat in.", reason="SCHEDULE_CLASH"
        )
    return learner.enrollment_id
