"""The plugin's own tables (on its own ``MetaData``) and the core columns it reads.

The core's tables are named with SQLAlchemy's ``table()``/``column()``: the
plugin imports nothing of the core's models.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    column,
    table,
)

from lms_graph import NAMING_CONVENTION, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _fk(target: str, name: str, ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey(target, ondelete=ondelete, name=name)


xapi_statements = Table(
    "xapi_statements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("statement_id", String(36), nullable=False, unique=True),
    Column("signature", String(64), nullable=False),
    Column("actor_key", String(1024), nullable=True),
    Column("object_key", String(1024), nullable=True),
    Column("verb_id", String(1024), nullable=False),
    Column("activity_id", String(1024), nullable=True),
    Column("registration", String(36), nullable=True),
    Column("user_id", Integer, nullable=True),
    # Set when the statement is about a scorm/xapi course or chapter the actor is
    # enrolled in: what drives progress and what View SCORM/xAPI Activity shows.
    Column(
        "enrollment_id",
        Integer,
        _fk("enrollments.id", "fk_xapi_statements_enrollment_id_enrollments"),
        nullable=True,
    ),
    Column(
        "attempt_id",
        Integer,
        _fk("attempts.id", "fk_xapi_statements_attempt_id_attempts"),
        nullable=True,
    ),
    Column("course_id", Integer, nullable=True),
    Column("chapter_id", Integer, nullable=True),
    Column("progress", Integer, nullable=True),
    Column("stored", UTCDateTime, nullable=False),
    Column("voided_at", UTCDateTime, nullable=True),
    Column("voided_by", String(36), nullable=True),
    # The statement a StatementRef object points at (a voiding statement's target, say):
    # filters return the statements pointing at those they match.
    Column("ref_id", String(36), nullable=True),
    Column("body", JSON, nullable=False),
)
Index("ix_xapi_statements_actor_key_id", xapi_statements.c.actor_key, xapi_statements.c.id)
Index("ix_xapi_statements_object_key_id", xapi_statements.c.object_key, xapi_statements.c.id)
Index("ix_xapi_statements_verb_id_id", xapi_statements.c.verb_id, xapi_statements.c.id)
Index("ix_xapi_statements_activity_id_id", xapi_statements.c.activity_id, xapi_statements.c.id)
Index("ix_xapi_statements_user_id_id", xapi_statements.c.user_id, xapi_statements.c.id)
Index("ix_xapi_statements_stored", xapi_statements.c.stored)
Index("ix_xapi_statements_enrollment_id", xapi_statements.c.enrollment_id)
Index("ix_xapi_statements_attempt_id_id", xapi_statements.c.attempt_id, xapi_statements.c.id)
Index("ix_xapi_statements_ref_id", xapi_statements.c.ref_id)

xapi_statement_links = Table(
    "xapi_statement_links",
    metadata,
    Column(
        "statement_pk",
        Integer,
        _fk("xapi_statements.id", "fk_xapi_statement_links_statement_pk_xapi_statements"),
        primary_key=True,
    ),
    # "activity" or "agent"
    Column("kind", String(8), primary_key=True),
    Column("key", String(1024), primary_key=True),
)
"""Every activity and agent a statement names anywhere (object, context activities,
instructor, team, authority, a SubStatement's): ``related_activities``/``related_agents``."""
Index(
    "ix_xapi_statement_links_kind_key",
    xapi_statement_links.c.kind,
    xapi_statement_links.c.key,
    xapi_statement_links.c.statement_pk,
)

xapi_attachments = Table(
    "xapi_attachments",
    metadata,
    Column("sha2", String(64), primary_key=True),
    Column("content_type", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
)
"""Attachment contents sent as parts of multipart/mixed statements, once per hash."""

scorm_commits = Table(
    "scorm_commits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "enrollment_id",
        Integer,
        _fk("enrollments.id", "fk_scorm_commits_enrollment_id_enrollments"),
        nullable=False,
        index=True,
    ),
    Column(
        "attempt_id",
        Integer,
        _fk("attempts.id", "fk_scorm_commits_attempt_id_attempts"),
        nullable=False,
    ),
    Column("user_id", Integer, nullable=False),
    Column("committed_at", UTCDateTime, nullable=False),
    Column("voided_at", UTCDateTime, nullable=True),
    Column("data", JSON, nullable=False),
)
Index("ix_scorm_commits_attempt_id_id", scorm_commits.c.attempt_id, scorm_commits.c.id)

scorm_state = Table(
    "scorm_state",
    metadata,
    Column(
        "attempt_id",
        Integer,
        _fk("attempts.id", "fk_scorm_state_attempt_id_attempts"),
        primary_key=True,
    ),
    Column(
        "enrollment_id",
        Integer,
        _fk("enrollments.id", "fk_scorm_state_enrollment_id_enrollments"),
        nullable=False,
        index=True,
    ),
    Column("lesson_status", String(16), nullable=True),
    Column("completion_status", String(16), nullable=True),
    Column("success_status", String(16), nullable=True),
    Column("progress_measure", Float, nullable=True),
    Column("score_scaled", Float, nullable=True),
    Column("score_raw", Float, nullable=True),
    Column("score_min", Float, nullable=True),
    Column("score_max", Float, nullable=True),
    Column("suspend_data", String, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

xapi_credentials = Table(
    "xapi_credentials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "user_id",
        Integer,
        _fk("users.id", "fk_xapi_credentials_user_id_users"),
        nullable=False,
        index=True,
    ),
    Column("key", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by_id", Integer, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

xapi_documents = Table(
    "xapi_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    # state, activity_profile or agent_profile
    Column("kind", String(16), nullable=False),
    # SHA-256 of (kind, activity, agent, registration, document id): one row per document.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("activity_id", String(1024), nullable=True),
    Column("agent_key", String(1024), nullable=True),
    Column("registration", String(36), nullable=True),
    Column("document_id", String(1024), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("etag", String(40), nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    # The learner and attempt a State document belongs to (its agent enrolled in the
    # course its activity names; its registration that attempt's): Remove deletes them,
    # a reset clears the attempt's.
    Column("user_id", Integer, nullable=True),
    Column(
        "enrollment_id",
        Integer,
        _fk("enrollments.id", "fk_xapi_documents_enrollment_id_enrollments"),
        nullable=True,
    ),
    Column(
        "attempt_id",
        Integer,
        _fk("attempts.id", "fk_xapi_documents_attempt_id_attempts"),
        nullable=True,
    ),
)
Index(
    "ix_xapi_documents_scope",
    xapi_documents.c.kind,
    xapi_documents.c.activity_id,
    xapi_documents.c.agent_key,
)
Index("ix_xapi_documents_enrollment_id", xapi_documents.c.enrollment_id)
Index("ix_xapi_documents_attempt_id", xapi_documents.c.attempt_id)

# --- the core's columns this plugin reads ----------------------------------------------

users = table(
    "users", column("id"), column("email"), column("name"), column("active"), column("is_admin")
)
courses = table("courses", column("id"), column("course_type"))
chapters = table("chapters", column("id"), column("course_id"))
chapter_progress = table(
    "chapter_progress", column("attempt_id"), column("chapter_id"), column("status")
)
enrollments = table(
    "enrollments",
    column("id"),
    column("user_id"),
    column("course_id"),
    column("attempt_number"),
    column("unassigned_at"),
)
attempts = table(
    "attempts",
    column("id"),
    column("enrollment_id"),
    column("number"),
    column("state"),
    column("progress"),
    column("completed_at"),
)
