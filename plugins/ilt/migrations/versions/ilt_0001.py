"""ilt: sessions of instructor-led courses and the learners' seats in them

Revision ID: ilt_0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ilt_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("ilt",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "ilt_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("meeting_link", sa.String(length=1000), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("waitlist", sa.Boolean(), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_ilt_sessions_course_id_courses",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["users.id"],
            name="fk_ilt_sessions_instructor_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ilt_sessions"),
    )
    op.create_index("ix_ilt_sessions_course_starts", "ilt_sessions", ["course_id", "starts_at"])
    op.create_table(
        "ilt_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ilt_sessions.id"],
            name="fk_ilt_seats_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name="fk_ilt_seats_enrollment_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name="fk_ilt_seats_attempt_id_attempts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ilt_seats"),
    )
    op.create_index("ix_ilt_seats_enrollment_id", "ilt_seats", ["enrollment_id"])
    op.create_index("ix_ilt_seats_attempt_id", "ilt_seats", ["attempt_id"])
    op.create_index("ix_ilt_seats_user_id", "ilt_seats", ["user_id"])
    op.create_index("ix_ilt_seats_session_status", "ilt_seats", ["session_id", "status"])
    # A learner holds at most one seat or waitlist place at a time per attempt.
    op.create_index(
        "uq_ilt_seats_active_attempt",
        "ilt_seats",
        ["attempt_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('enrolled', 'waitlisted')"),
        postgresql_where=sa.text("status IN ('enrolled', 'waitlisted')"),
    )


def downgrade() -> None:
    op.drop_index("uq_ilt_seats_active_attempt", table_name="ilt_seats")
    op.drop_index("ix_ilt_seats_session_status", table_name="ilt_seats")
    op.drop_index("ix_ilt_seats_user_id", table_name="ilt_seats")
    op.drop_index("ix_ilt_seats_attempt_id", table_name="ilt_seats")
    op.drop_index("ix_ilt_seats_enrollment_id", table_name="ilt_seats")
    op.drop_table("ilt_seats")
    op.drop_index("ix_ilt_sessions_course_starts", table_name="ilt_sessions")
    op.drop_table("ilt_sessions")
