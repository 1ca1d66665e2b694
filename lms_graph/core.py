"""``LMS``: the running service — settings, database, plugins and what they registered.

Hooks receive it as ``lms``; it is the handle a plugin uses to reach the database
and call other hooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from lms_graph.db import Database
from lms_graph.errors import StartupError
from lms_graph.plugin_manager import build_plugin_manager, call_hook, collect
from lms_graph.settings import Settings
from lms_graph.values import ActionDefinition, CourseType, MigrationSource


class LMS:
    def __init__(
        self,
        settings: Settings,
        *,
        plugins: Iterable[object] = (),
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        self.settings = settings
        self.pm = pm if pm is not None else build_plugin_manager(settings.plugins, plugins)
        self.db = Database(settings.database_url, echo=settings.sql_echo)
        self.course_types: dict[str, CourseType] = _registered(
            self.pm, "lms_register_course_types", "course type"
        )
        self.actions: dict[str, ActionDefinition] = _registered(
            self.pm, "lms_register_actions", "action"
        )
        self.node_resolvers: dict[str, Any] = {}
        """Type name -> ``(context, pk) -> record | None``; filled when the schema is built."""

    async def call_hook(
        self, name: str, *, isolate: bool = False, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Call a per-request hook with ``lms`` filled in; see ``plugin_manager.call_hook``."""
        return await call_hook(self.pm, name, isolate=isolate, lms=self, **kwargs)

    def implements(self, name: str) -> bool:
        """Whether any plugin implements hook ``name`` (skip building its arguments if not)."""
        return bool(getattr(self.pm.hook, name).get_hookimpls())

    def migration_sources(self) -> list[MigrationSource]:
        return [source for _, source in collect(self.pm, "lms_migrations")]

    async def close(self) -> None:
        await self.db.dispose()


def _registered(pm: pluggy.PluginManager, hook: str, what: str) -> dict[str, Any]:
    """Everything plugins register through ``hook``, by key; a key claimed twice stops start-up."""
    found: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for plugin, items in collect(pm, hook):
        for item in items:
            if item.key in owners:
                raise StartupError(
                    f"{what} {item.key!r} is registered by both {owners[item.key]!r} and {plugin!r}"
                )
            owners[item.key] = plugin
            found[item.key] = item
    return found
