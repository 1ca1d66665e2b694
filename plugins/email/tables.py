"""The plugin's tables (on its own ``MetaData``) and the core columns it reads.

``mail_outbox`` holds every mail from the moment it is decided until it is sent or
given up: rows are written in the transaction that decides them (with the notification
they carry), so none is lost, and ``(kind, ref_id)`` is unique, so none is queued twice
(a notification, a certificate, or an attempt's reminder, whoever finds it first).
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    table,
)

from lms_graph import NAMING_CONVENTION, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MailState(enum.StrEnum):
    QUEUED = "QUEUED"
    """Waiting for its (next) attempt, at ``next_attempt_at``."""
    SENDING = "SENDING"
    """Claimed by a process until ``next_attempt_at`` (its lease)."""
    SENT = "SENT"
    FAILED = "FAILED"
    """Refused for good (5xx), or still not sent a day after it was queued."""


class MailKind(enum.StrEnum):
    NOTIFICATION = "notification"
    """``ref_id``: the notification."""
    CERTIFICATE = "certificate"
    """``ref_id``: the certificate."""
    REMINDER_BEFORE = "reminder_before"
    """``ref_id``: the attempt."""
    REMINDER_AFTER = "reminder_after"
    """``ref_id``: the attempt."""


mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("ref_id", Integer, nullable=False),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE", name="fk_mail_outbox_user_id_users"),
        nullable=False,
    ),
    Column(
        "notification_id",
        Integer,
        ForeignKey(
            "notifications.id",
            ondelete="CASCADE",
            name="fk_mail_outbox_notification_id_notifications",
        ),
        nullable=True,
    ),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    # What the templates need (``compose.py``), fixed when the mail is decided.
    Column("content", JSON, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Start of the current delivery window (re-queuing starts a new one).
    Column("queued_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("kind", "ref_id", name="uq_mail_outbox_kind_ref_id"),
    UniqueConstraint("message_id", name="uq_mail_outbox_message_id"),
)
Index("ix_mail_outbox_state_next_attempt_at", mail_outbox.c.state, mail_outbox.c.next_attempt_at)
Index("ix_mail_outbox_user_id_id", mail_outbox.c.user_id, mail_outbox.c.id)
Index("ix_mail_outbox_notification_id", mail_outbox.c.notification_id)

mail_preferences = Table(
    "mail_preferences",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE", name="fk_mail_preferences_user_id_users"),
        primary_key=True,
    ),
    Column("reminders", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

mail_course_settings = Table(
    "mail_course_settings",
    metadata,
    Column(
        "course_id",
        Integer,
        ForeignKey(
            "courses.id", ondelete="CASCADE", name="fk_mail_course_settings_course_id_courses"
        ),
        primary_key=True,
    ),
    Column("reminder_days", Integer, nullable=False),
)

# --- the core's columns (and the certificates plugin's) this plugin reads -----------------

users = table("users", column("id"), column("email"), column("name"), column("active", Boolean))
courses = table("courses", column("id"), column("title"), column("kind"))
enrollments = table(
    "enrollments",
    column("id"),
    column("user_id"),
    column("course_id"),
    column("assignment"),
    column("due_date", Date),
    column("attempt_number"),
    column("unassigned_at", UTCDateTime),
)
attempts = table(
    "attempts",
    column("id"),
    column("enrollment_id"),
    column("number"),
    column("completed_at", UTCDateTime),
)
certificates = table(
    "certificates",
    column("id"),
    column("attempt_id"),
    column("user_id"),
    column("course_id"),
    column("code"),
    column("issued_at", UTCDateTime),
    column("revoked_at", UTCDateTime),
)
