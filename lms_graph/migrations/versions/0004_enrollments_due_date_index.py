"""enrollments: an index by due date, for sweeps across courses (due-date reminders)

Revision ID: 0004_enrollments_due_date_index
Revises: 0003_enrollments_order_indexes
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_enrollments_due_date_index"
down_revision: str | Sequence[str] | None = "0003_enrollments_order_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_enrollments_due_date", "enrollments", ["due_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_enrollments_due_date", table_name="enrollments")
