"""The plugin's own tables (on its own ``MetaData``) and the core columns it reads.

``ilt_sessions``: one scheduled class of an ILT course. ``ilt_seats``: one row per
learner per session they were placed in, with what became of it. A learner holds
at most one *active* row (``enrolled`` or ``waitlisted``) per attempt; the rest
(``attended``, ``incomplete``, ``no_show``) stay as the record of what happened.
The core's tables are named with ``table()``/``column()``: the plugin imports
nothing of the core's models.
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    column,
    table,
    text,
)

from lms_graph import NAMING_CONVENTION, UTCDateTime


class SeatStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    ATTENDED = "attended"
    INCOMPLETE = "incomplete"
    NO_SHOW = "no_show"
    WAITLISTED = "waitlisted"


ACTIVE = (SeatStatus.ENROLLED.value, SeatStatus.WAITLISTED.value)
"""Statuses a learner holds now: at most one per attempt."""
TAKING = (SeatStatus.ENROLLED.value, SeatStatus.ATTENDED.value, SeatStatus.INCOMPLETE.value)
"""Statuses that occupy a seat of the session's capacity (a no-show frees it)."""


metadata = MetaData(naming_convention=NAMING_CONVENTION)

sessions = Table(
    "ilt_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "course_id",
        Integer,
        ForeignKey("courses.id", ondelete="CASCADE", name="fk_ilt_sessions_course_id_courses"),
        nullable=False,
    ),
    Column("title", String(200), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("location", String(500), nullable=True),
    Column("meeting_link", String(1000), nullable=True),
    Column("capacity", Integer, nullable=False),
    Column("waitlist", Boolean, nullable=False),
    Column(
        "instructor_id",
        Integer,
        ForeignKey("users.id", ondelete="SET NULL", name="fk_ilt_sessions_instructor_id_users"),
        nullable=True,
    ),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_ilt_sessions_course_starts", sessions.c.course_id, sessions.c.starts_at)

seats = Table(
    "ilt_seats",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "session_id",
        Integer,
        ForeignKey("ilt_sessions.id", ondelete="CASCADE", name="fk_ilt_seats_session_id_sessions"),
        nullable=False,
    ),
    Column(
        "enrollment_id",
        Integer,
        ForeignKey("enrollments.id", ondelete="CASCADE", name="fk_ilt_seats_enrollment_id"),
        nullable=False,
        index=True,
    ),
    # CASCADE: only an open attempt is ever deleted (Unassign); a reset keeps the
    # completed attempt, and with it the record of the session attended.
    Column(
        "attempt_id",
        Integer,
        ForeignKey("attempts.id", ondelete="CASCADE", name="fk_ilt_seats_attempt_id_attempts"),
        nullable=False,
        index=True,
    ),
    Column("user_id", Integer, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_ilt_seats_session_status", seats.c.session_id, seats.c.status)
Index(
    "uq_ilt_seats_active_attempt",
    seats.c.attempt_id,
    unique=True,
    sqlite_where=text("status IN ('enrolled', 'waitlisted')"),
    postgresql_where=text("status IN ('enrolled', 'waitlisted')"),
)

# --- the core's columns this plugin reads ----------------------------------------------

courses = table("courses", column("id"), column("title"), column("course_type"), column("kind"))
users = table("users", column("id"), column("active"), column("name"))
enrollments = table(
    "enrollments",
    column("id"),
    column("user_id"),
    column("course_id"),
    column("attempt_number"),
    column("unassigned_at"),
    column("version"),
)
attempts = table(
    "attempts", column("id"), column("enrollment_id"), column("number"), column("completed_at")
)
