"""certificates: who revoked each one

Revision ID: certificates_0002
Revises: certificates_0001
Create Date: 2027-01-18
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "certificates_0002"
down_revision: str | Sequence[str] | None = "certificates_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: a plain ALTER TABLE ADD COLUMN on both
    # databases (no table copy on SQLite).
    op.add_column("certificates", sa.Column("revoked_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # A plain column (no index, no constraint): ALTER TABLE DROP COLUMN on both databases
    # (SQLite 3.35 and later), no table copy.
    op.drop_column("certificates", "revoked_by_id")
