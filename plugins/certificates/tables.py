"""The plugin's own tables (on its own ``MetaData``) and the core columns it reads.

The core's tables are named with SQLAlchemy's ``table()``/``column()``: the
plugin imports nothing of the core's models.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
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

metadata = MetaData(naming_convention=NAMING_CONVENTION)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "enrollment_id",
        Integer,
        ForeignKey(
            "enrollments.id",
            ondelete="CASCADE",
            name="fk_certificates_enrollment_id_enrollments",
        ),
        nullable=False,
        index=True,
    ),
    # CASCADE: only an attempt that was never completed is ever deleted (Unassign
    # drops the current, open attempt); a reset starts a new attempt and keeps the
    # completed one, so its certificate stays on record.
    Column(
        "attempt_id",
        Integer,
        ForeignKey("attempts.id", ondelete="CASCADE", name="fk_certificates_attempt_id_attempts"),
        nullable=False,
        index=True,
    ),
    Column("attempt_number", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("course_id", Integer, nullable=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # Who removed it (Remove Certificate, Mark as Incomplete, a new certificate replacing
    # an expired one); null when not revoked, or revoked by the course type itself.
    # No foreign key, like user_id: users are deactivated, never deleted.
    Column("revoked_by_id", Integer, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True, index=True),
    Column("credits", Float, nullable=False),
)
Index(
    "uq_certificates_valid_attempt",
    certificates.c.attempt_id,
    unique=True,
    sqlite_where=text("revoked_at IS NULL"),
    postgresql_where=text("revoked_at IS NULL"),
)

certificate_settings = Table(
    "certificate_settings",
    metadata,
    Column(
        "course_id",
        Integer,
        ForeignKey(
            "courses.id", ondelete="CASCADE", name="fk_certificate_settings_course_id_courses"
        ),
        primary_key=True,
    ),
    Column("valid_days", Integer, nullable=False),
)

# --- the core's columns this plugin reads ----------------------------------------------

users = table("users", column("id"), column("name"))
courses = table("courses", column("id"), column("title"), column("credits"))
enrollments = table(
    "enrollments", column("id"), column("user_id"), column("course_id"), column("unassigned_at")
)
attempts = table("attempts", column("id"), column("enrollment_id"), column("number"))
