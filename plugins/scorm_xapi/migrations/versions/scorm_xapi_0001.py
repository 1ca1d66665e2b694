"""scorm_xapi: xAPI statements, SCORM CMI commits and state, xAPI API credentials

Revision ID: scorm_xapi_0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scorm_xapi_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("scorm_xapi",)
depends_on: str | Sequence[str] | None = "0001_core"


def _fk(column: str, target: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "xapi_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("actor_key", sa.String(length=1024), nullable=True),
        sa.Column("object_key", sa.String(length=1024), nullable=True),
        sa.Column("verb_id", sa.String(length=1024), nullable=False),
        sa.Column("activity_id", sa.String(length=1024), nullable=True),
        sa.Column("registration", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("chapter_id", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("stored", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.String(length=36), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        _fk("enrollment_id", "enrollments", "xapi_statements"),
        _fk("attempt_id", "attempts", "xapi_statements"),
        sa.PrimaryKeyConstraint("id", name="pk_xapi_statements"),
        sa.UniqueConstraint("statement_id", name="uq_xapi_statements_statement_id"),
    )
    for name, columns in (
        ("ix_xapi_statements_actor_key_id", ["actor_key", "id"]),
        ("ix_xapi_statements_object_key_id", ["object_key", "id"]),
        ("ix_xapi_statements_verb_id_id", ["verb_id", "id"]),
        ("ix_xapi_statements_activity_id_id", ["activity_id", "id"]),
        ("ix_xapi_statements_user_id_id", ["user_id", "id"]),
        ("ix_xapi_statements_stored", ["stored"]),
        ("ix_xapi_statements_enrollment_id", ["enrollment_id"]),
        ("ix_xapi_statements_attempt_id_id", ["attempt_id", "id"]),
    ):
        op.create_index(name, "xapi_statements", columns)
    op.create_table(
        "scorm_commits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _fk("enrollment_id", "enrollments", "scorm_commits"),
        _fk("attempt_id", "attempts", "scorm_commits"),
        sa.PrimaryKeyConstraint("id", name="pk_scorm_commits"),
    )
    op.create_index("ix_scorm_commits_enrollment_id", "scorm_commits", ["enrollment_id"])
    op.create_index("ix_scorm_commits_attempt_id_id", "scorm_commits", ["attempt_id", "id"])
    op.create_table(
        "scorm_state",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("lesson_status", sa.String(length=16), nullable=True),
        sa.Column("completion_status", sa.String(length=16), nullable=True),
        sa.Column("success_status", sa.String(length=16), nullable=True),
        sa.Column("progress_measure", sa.Float(), nullable=True),
        sa.Column("score_scaled", sa.Float(), nullable=True),
        sa.Column("score_raw", sa.Float(), nullable=True),
        sa.Column("score_min", sa.Float(), nullable=True),
        sa.Column("score_max", sa.Float(), nullable=True),
        sa.Column("suspend_data", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("attempt_id", "attempts", "scorm_state"),
        _fk("enrollment_id", "enrollments", "scorm_state"),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_scorm_state"),
    )
    op.create_index("ix_scorm_state_enrollment_id", "scorm_state", ["enrollment_id"])
    op.create_table(
        "xapi_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("user_id", "users", "xapi_credentials"),
        sa.PrimaryKeyConstraint("id", name="pk_xapi_credentials"),
        sa.UniqueConstraint("key", name="uq_xapi_credentials_key"),
    )
    op.create_index("ix_xapi_credentials_user_id", "xapi_credentials", ["user_id"])


def downgrade() -> None:
    op.drop_table("xapi_credentials")
    op.drop_table("scorm_state")
    op.drop_table("scorm_commits")
    op.drop_table("xapi_statements")
