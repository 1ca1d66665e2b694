"""Alembic environment: runs on the connection ``lms_graph.migrations`` hands it."""

from __future__ import annotations

from alembic import context

from lms_graph.models import metadata as core_metadata

config = context.config
lms = config.attributes["lms"]
connection = config.attributes["connection"]

target_metadata = [core_metadata, *(source.metadata for source in lms.migration_sources())]

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
