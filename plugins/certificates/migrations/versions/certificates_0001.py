"""certificates: one per completed attempt, and per-course validity

Revision ID: certificates_0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "certificates_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("certificates",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credits", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name="fk_certificates_enrollment_id_enrollments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name="fk_certificates_attempt_id_attempts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("code", name="uq_certificates_code"),
    )
    op.create_index("ix_certificates_enrollment_id", "certificates", ["enrollment_id"])
    op.create_index("ix_certificates_attempt_id", "certificates", ["attempt_id"])
    op.create_index("ix_certificates_expires_at", "certificates", ["expires_at"])
    # At most one valid (unrevoked) certificate per attempt.
    op.create_index(
        "uq_certificates_valid_attempt",
        "certificates",
        ["attempt_id"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "certificate_settings",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_certificate_settings_course_id_courses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", name="pk_certificate_settings"),
    )


def downgrade() -> None:
    op.drop_table("certificate_settings")
    op.drop_index("uq_certificates_valid_attempt", table_name="certificates")
    op.drop_index("ix_certificates_expires_at", table_name="certificates")
    op.drop_index("ix_certificates_attempt_id", table_name="certificates")
    op.drop_index("ix_certificates_enrollment_id", table_name="certificates")
    op.drop_table("certificates")
