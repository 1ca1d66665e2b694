"""scorm_xapi: xAPI documents, attachments, statement links and StatementRef targets

Revision ID: scorm_xapi_0002
Revises: scorm_xapi_0001
Create Date: 2026-12-06
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "scorm_xapi_0002"
down_revision: str | Sequence[str] | None = "scorm_xapi_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=1024), nullable=True),
        sa.Column("agent_key", sa.String(length=1024), nullable=True),
        sa.Column("registration", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name="fk_xapi_documents_enrollment_id_enrollments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name="fk_xapi_documents_attempt_id_attempts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_xapi_documents"),
        sa.UniqueConstraint("key_hash", name="uq_xapi_documents_key_hash"),
    )
    op.create_index(
        "ix_xapi_documents_scope", "xapi_documents", ["kind", "activity_id", "agent_key"]
    )
    op.create_index("ix_xapi_documents_enrollment_id", "xapi_documents", ["enrollment_id"])
    op.create_index("ix_xapi_documents_attempt_id", "xapi_documents", ["attempt_id"])


    op.create_table(
        "xapi_attachments",
        sa.Column("sha2", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha2", name="pk_xapi_attachments"),
    )
    op.create_table(
        "xapi_statement_links",
        sa.Column("statement_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_pk"],
            ["xapi_statements.id"],
            name="fk_xapi_statement_links_statement_pk_xapi_statements",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("statement_pk", "kind", "key", name="pk_xapi_statement_links"),
    )
    op.create_index(
        "ix_xapi_statement_links_kind_key",
        "xapi_statement_links",
        ["kind", "key", "statement_pk"],
    )
    with op.batch_alter_table("xapi_statements") as batch:
        batch.add_column(sa.Column("ref_id", sa.String(length=36), nullable=True))
    op.create_index("ix_xapi_statements_ref_id", "xapi_statements", ["ref_id"])
    _backfill()


def _rows() -> Iterator[tuple[int, Any]]:
    bind = op.get_bind()
    statements = sa.table("xapi_statements", sa.column("id"), sa.column("body", sa.JSON()))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(statements.c.id, statements.c.body)
            .where(statements.c.id > last)
            .order_by(statements.c.id)
            .limit(1000)
        ).all()
        if not rows:
            return
        yield from ((row[0], row[1]) for row in rows)
        last = rows[-1][0]


def _backfill() -> None:
    """Statements stored before: their links and StatementRef targets."""
    from lms_graph_plugins.scorm_xapi.links import links_of, ref_of

    bind = op.get_bind()
    statements = sa.table("xapi_statements", sa.column("id"), sa.column("ref_id"))
    links = sa.table(
        "xapi_statement_links", sa.column("statement_pk"), sa.column("kind"), sa.column("key")
    )
    for pk, body in _rows():
        if not isinstance(body, dict):
            continue
        found = [{"statement_pk": pk, "kind": k, "key": v} for k, v in links_of(body)]
        if found:
            bind.execute(sa.insert(links), found)
        ref = ref_of(body)
        if ref is not None:
            bind.execute(sa.update(statements).where(statements.c.id == pk).values(ref_id=ref))


def downgrade() -> None:
    op.drop_index("ix_xapi_statements_ref_id", "xapi_statements")
    with op.batch_alter_table("xapi_statements") as batch:
        batch.drop_column("ref_id")
    op.drop_table("xapi_statement_links")
    op.drop_table("xapi_attachments")
    op.drop_table("xapi_documents")
