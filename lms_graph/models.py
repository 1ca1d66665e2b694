"""The core tables, as SQLAlchemy 2 typed mappings.

The ORM classes are used as table definitions: services and loaders query them
with Core statements on a connection (set-based, no identity map), which keeps
writes bulk and reads cheap. Plugins keep their own tables on their own
``MetaData`` (see ``lms_graph.hookspecs.lms_register_migrations``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func, literal

from lms_graph.values import AssignmentType, CourseKind, LearnerState

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg reads ``timestamptz`` as aware datetimes already: nothing to do per
        # value (a page of learners holds hundreds).
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        enum.Enum: Enum(enum.Enum, native_enum=False, length=32),
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    employee_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Learners are listed by name, case-insensitively: the first page of a large course
# walks this index instead of sorting every learner.
Index("ix_users_lower_name", func.lower(User.name))


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[CourseKind] = mapped_column()
    course_type: Mapped[str] = mapped_column(String(64))
    credits: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CurriculumCourse(Base):
    """The ordered member courses of a curriculum."""

    __tablename__ = "curriculum_courses"

    curriculum_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)


class Chapter(Base):
    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("course_id", "position"),)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"))
    prompt: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(JSON)
    correct_choice: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("chapter_id", "position"),)


class CourseInstructor(Base):
    __tablename__ = "course_instructors"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Enrollment(Base):
    """A learner's place in a course: the assignment and which attempt is current.

    ``version`` grows with every write, so a set-based update can check that a
    learner is still as it was read (optimistic concurrency). An unassigned
    enrollment keeps its older attempts on record but leaves every list.
    """

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    assignment: Mapped[AssignmentType] = mapped_column()
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    message: Mapped[str | None] = mapped_column(Text)
    attempt_number: Mapped[int] = mapped_column(Integer, default=1)
    unassigned_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index("ix_enrollments_course_id_id", "course_id", "id"),
        # A course's learners in assigned-at order (the dashboard's "recently assigned"),
        # a page read off the index instead of sorting the whole course.
        Index("ix_enrollments_course_id_assigned_at_id", "course_id", "assigned_at", "id"),
        # Sweeps across courses by due date (the e-mail plugin's reminders) read a range
        # of this index instead of every enrollment.
        Index("ix_enrollments_due_date", "due_date"),
    )


# Not ``date.min``/``date.max``: asyncpg sends those as -infinity/infinity, which the
# dates written into the SQL below would not equal.
NO_DUE_DATE_FIRST = dt.date(1, 1, 2)
NO_DUE_DATE_LAST = dt.date(9999, 12, 30)


def due_date_order(descending: bool) -> Any:
    """The due date as learners are ordered by it: those without one come last in either
    direction. Written into the SQL as a literal, so the indexes below serve it."""
    missing = NO_DUE_DATE_FIRST if descending else NO_DUE_DATE_LAST
    return func.coalesce(Enrollment.due_date, literal(missing, Date, literal_execute=True))


# A course's learners by due date, each direction read off an index (a page instead of
# sorting the whole course).
Index(
    "ix_enrollments_course_id_due_asc",
    Enrollment.course_id,
    due_date_order(descending=False),
    Enrollment.id,
)
Index(
    "ix_enrollments_course_id_due_desc",
    Enrollment.course_id,
    due_date_order(descending=True),
    Enrollment.id,
)


class Attempt(Base):
    """One try at a course. ``state`` and ``progress`` are decided by the course
    type's plugin whenever progress changes, and stored so lists can filter,
    sort and count by them in SQL."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[LearnerState] = mapped_column(default=LearnerState.NOT_STARTED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("enrollment_id", "number"),)


class ChapterProgress(Base):
    __tablename__ = "chapter_progress"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    chapter_id: Mapped[int] = mapped_column(
        ForeignKey("chapters.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuizAnswer(Base):
    __tablename__ = "quiz_answers"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    choice: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HistoryEntry(Base):
    """One line of a learner's history in a course; goes when the learner is removed."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column()


class AuditEntry(Base):
    """What outlives a removal: who did what to whom, when. No foreign keys on purpose."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    subject_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    course_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column()


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column()


class ActionRunRecord(Base):
    """The result of an action run sent with an idempotency key, to answer retries."""

    __tablename__ = "action_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("actor_id", "idempotency_key"),)


class ImportReportRow(Base):
    """The report of one CSV import (dry runs too), kept so that any worker can answer
    ``importReport(id)`` and serve the non-imported list later.

    ``failures`` holds every failed row as ``[row, email, employee ID, code]`` (the
    reason follows from the code); ``idempotency_key`` and ``request_hash`` answer a
    retried upload with this report.
    """

    __tablename__ = "import_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_count: Mapped[int] = mapped_column(Integer)
    failed_count: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    failures: Mapped[list[Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("actor_id", "idempotency_key"),)


metadata = Base.metadata

# IDs are public (global IDs, links, idempotent results): SQLite must never hand out a
# deleted row's ID again, which its default rowid allocation does.
for _table in metadata.tables.values():
    if "id" in _table.c and _table.c.id.primary_key:
        _table.dialect_options["sqlite"]["autoincrement"] = True
