"""enrollments: an index for a course's learners in assigned-at order

Revision ID: 0003_enrollments_assigned_at
Revises: 0002_import_reports
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_enrollments_assigned_at"
down_revision: str | Sequence[str] | None = "0002_import_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_course_id_assigned_at_id",
        "enrollments",
        ["course_id", "assigned_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_course_id_assigned_at_id", table_name="enrollments")
