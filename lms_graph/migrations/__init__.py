"""Alembic migrations of the core and of every plugin, upgraded together."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from lms_graph.core import LMS

HERE = Path(__file__).parent


def alembic_config(lms: LMS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    locations = [HERE / "versions", *(source.versions for source in lms.migration_sources())]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["lms"] = lms
    return config


async def upgrade(lms: LMS, revision: str = "heads") -> None:
    """Bring the database (core and every loaded plugin's branch) up to date."""
    config = alembic_config(lms)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with lms.db.transaction() as conn:
        await conn.run_sync(run)
