"""enrollments: indexes for a course's learners by assigned-at and by due date; room
on each page for updates (PostgreSQL)

Revision ID: 0003_enrollments_order_indexes
Revises: 0002_import_reports
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_enrollments_order_indexes"
down_revision: str | Sequence[str] | None = "0002_import_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The due-date orders as ``models.due_date_order`` writes them: learners without a due
# date last in either direction.
INDEXES = {
    "ix_enrollments_course_id_assigned_at_id": ["course_id", "assigned_at", "id"],
    "ix_enrollments_course_id_due_asc": [
        "course_id",
        sa.text("coalesce(due_date, '9999-12-30')"),
        "id",
    ],
    "ix_enrollments_course_id_due_desc": [
        "course_id",
        sa.text("coalesce(due_date, '0001-01-02')"),
        "id",
    ],
}


# Mass actions update every learner's enrollment (its version) and attempt at once.
# With a fifth of each page kept free, PostgreSQL writes those new row versions on the
# same page without touching the indexes (a "HOT" update: no indexed column changes).
FILLED = ("enrollments", "attempts")


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "enrollments", columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLED:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLED:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for name in INDEXES:
        op.drop_index(name, table_name="enrollments")
