"""attendance proofs

Revision ID: attendance_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "attendance_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("attendance",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "attendance_proofs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=False, index=True),
        sa.Column("attempt_id", sa.Integer(), nullable=False, unique=True),
        sa.Column("proof_url", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_comment", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("attendance_proofs")
