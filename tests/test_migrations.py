"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from lms_graph.core import LMS
from tests.conftest import merged_metadata


async def test_migrated_database_matches_the_models(lms: LMS) -> None:
    # One MetaData with the core's and every plugin's tables, so that plugins' foreign
    # keys to core tables resolve (a plugin's own MetaData cannot sort them).
    target: Any = merged_metadata(lms)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with warnings.catch_warnings():
            # Alembic cannot compare expression indexes (lower(name)) and says so.
            warnings.filterwarnings("ignore", message=".*expression.*")
            diff: list[Any] = compare_metadata(context, target)
        return diff

    async with lms.db.reader() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []
