"""Alembic migrations of the core and of every plugin, upgraded together.

Plugins come and go: a database migrated with a plugin that is now left out of
``LMS_PLUGINS`` (or uninstalled) keeps its branch's revision in ``alembic_version``,
which Alembic, not knowing that revision, refuses outright. The upgrade therefore
sets such revisions aside for the time it runs (same transaction) and puts them back
afterwards: the loaded branches are upgraded, the absent plugin's tables and revision
are left alone, and loading the plugin again later upgrades its branch from there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Column, MetaData, String, Table, inspect
from sqlalchemy.engine import Connection

from lms_graph.core import LMS
from lms_graph.models import metadata as core_metadata

HERE = Path(__file__).parent
VERSION_TABLE = "alembic_version"


def alembic_config(lms: LMS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    locations = [HERE / "versions", *(source.versions for source in lms.migration_sources())]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["lms"] = lms
    return config


async def upgrade(lms: LMS, revision: str = "heads") -> None:
    """Bring the database (core and every loaded plugin's branch) up to date; revisions of
    branches not loaded are kept as they are."""
    config = alembic_config(lms)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        absent = _set_aside_unknown(connection, lms, ScriptDirectory.from_config(config))
        command.upgrade(config, revision)
        _put_back(connection, absent)

    async with lms.db.transaction() as conn:
        await conn.run_sync(run)


def _version_table() -> Table:
    return Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False))


def _set_aside_unknown(connection: Connection, lms: LMS, script: ScriptDirectory) -> list[str]:
    """Delete the ``alembic_version`` rows of revisions no loaded branch has (a plugin
    left out or uninstalled), returning them; refuse when that would make Alembic build
    a loaded branch's tables again."""
    current = MigrationContext.configure(connection).get_current_heads()
    absent = [head for head in current if not _known(script, head)]
    if not absent:
        return []
    known = [head for head in current if head not in absent]
    _refuse_rebuilding(connection, lms, script, known, absent)
    table = _version_table()
    connection.execute(table.delete().where(table.c.version_num.in_(absent)))
    return absent


def _put_back(connection: Connection, absent: Sequence[str]) -> None:
    if absent:
        connection.execute(_version_table().insert(), [{"version_num": r} for r in absent])


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:  # "Can't locate revision identified by ..."
        return False


def _refuse_rebuilding(
    connection: Connection,
    lms: LMS,
    script: ScriptDirectory,
    known: Sequence[str],
    absent: Sequence[str],
) -> None:
    """An unknown revision may also be a newer one of a loaded branch (the core or a
    plugin downgraded): setting it aside would run that branch from its first revision
    over tables that exist. Refuse that, naming the branch."""
    found = script.revision_map.iterate_revisions(tuple(known), "base")
    applied = {rev.revision for rev in found}
    existing = set(inspect(connection).get_table_names())
    branches = [("lms-graph", HERE / "versions", core_metadata)] + [
        (f"plugin {source.branch!r}", source.versions, source.metadata)
        for source in lms.migration_sources()
    ]
    for name, versions, metadata in branches:
        folder = versions.resolve()
        ours = {
            rev.revision
            for rev in script.walk_revisions()
            if rev.path is not None and Path(rev.path).resolve().parent == folder
        }
        if ours & applied:
            continue
        built = sorted(set(metadata.tables) & existing)
        if built:
            raise CommandError(
                f"the tables of {name} exist ({', '.join(built)}) but alembic_version names "
                f"no revision of it that this installation knows (unknown: "
                f"{', '.join(sorted(absent))}); was the database migrated by a newer "
                f"version of {name}?"
            )
