"""``LMS``: the running service — settings, database, plugins and what they registered.

Hooks receive it as ``lms``; it is the handle a plugin uses to reach the database
and call other hooks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from typing import Any

import pluggy

from lms_graph.actions import builtin
from lms_graph.db import Database
from lms_graph.errors import StartupError
from lms_graph.plugin_manager import build_plugin_manager, call_hook, collect
from lms_graph.settings import Settings
from lms_graph.values import ActionDefinition, ActionParam, CourseType, MigrationSource


class LMS:
    def __init__(
        self,
        settings: Settings,
        *,
        plugins: Iterable[object] = (),
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        self.settings = settings
        self.pm = (
            pm if pm is not None else build_plugin_manager(settings.plugins, plugins, core=builtin)
        )
        self.db = Database(settings.database_url, echo=settings.sql_echo)
        self.course_types: dict[str, CourseType] = _registered(
            self.pm, "lms_register_course_types", "course type"
        )
        registered: dict[str, ActionDefinition] = _registered(
            self.pm, "lms_register_actions", "action"
        )
        self._variants = _variants(self.pm, registered, self.course_types)
        self.actions: dict[str, ActionDefinition] = (
            _union(registered, self._variants.values()) if self._variants else registered
        )
        """Every action by key, its params accepting any course type's (``runAction``)."""
        self._menus = {
            course_type: sorted(actions.values(), key=lambda action: action.position)
            for course_type, actions in self._variants.items()
        }
        self.node_resolvers: dict[str, Any] = {}
        """Type name -> ``(context, pk) -> record | None``; filled when the schema is built."""

    async def call_hook(
        self, name: str, *, isolate: bool = False, skip: Collection[object] = (), **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Call a per-request hook with ``lms`` filled in; see ``plugin_manager.call_hook``."""
        return await call_hook(self.pm, name, isolate=isolate, skip=skip, lms=self, **kwargs)

    def actions_for(self, course_type: str) -> dict[str, ActionDefinition]:
        """The actions as a learner of ``course_type`` is offered them (its params)."""
        return self._variants.get(course_type, self.actions)

    def menu_actions(self, course_type: str) -> list[ActionDefinition]:
        """``actions_for(course_type)`` in menu order."""
        found = self._menus.get(course_type)
        if found is None:
            found = sorted(self.actions.values(), key=lambda action: action.position)
        return found

    def implements(self, name: str) -> bool:
        """Whether any plugin implements hook ``name`` (skip building its arguments if not)."""
        return bool(getattr(self.pm.hook, name).get_hookimpls())

    def migration_sources(self) -> list[MigrationSource]:
        return [source for _, source in collect(self.pm, "lms_register_migrations")]

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


def _variants(
    pm: pluggy.PluginManager, actions: dict[str, ActionDefinition], course_types: Iterable[str]
) -> dict[str, dict[str, ActionDefinition]]:
    """Each course type's version of the actions, with the params plugins add for it
    through ``lms_register_action_params``."""
    variants: dict[str, dict[str, ActionDefinition]] = {}
    for course_type in course_types:
        params: dict[str, dict[str, ActionParam]] = {}
        owners: dict[tuple[str, str], str] = {}
        for plugin, answer in collect(pm, "lms_register_action_params", course_type=course_type):
            for key, extra in answer.items():
                if key not in actions:
                    raise StartupError(f"plugin {plugin!r} adds params to unknown action {key!r}")
                current = params.setdefault(key, {p.name: p for p in actions[key].params})
                for param in extra:
                    owner = owners.get((key, param.name))
                    if owner is not None:
                        raise StartupError(
                            f"param {param.name!r} of action {key!r} is changed by both "
                            f"{owner!r} and {plugin!r}"
                        )
                    owners[key, param.name] = plugin
                    current[param.name] = param
        variants[course_type] = {
            key: dataclasses.replace(action, params=tuple(params[key].values()))
            if key in params
            else action
            for key, action in actions.items()
        }
    return variants


def _union(
    actions: dict[str, ActionDefinition], variants: Iterable[dict[str, ActionDefinition]]
) -> dict[str, ActionDefinition]:
    """Actions whose params accept what any course type's version accepts: what
    ``runAction`` validates against (a run may span course types)."""
    versions = list(variants)
    merged: dict[str, ActionDefinition] = {}
    for key, action in actions.items():
        params: dict[str, ActionParam] = {}
        presence: dict[str, int] = {}
        for version in versions:
            for param in version[key].params:
                presence[param.name] = presence.get(param.name, 0) + 1
                known = params.get(param.name)
                if known is None:
                    params[param.name] = param
                    continue
                if known.type != param.type:
                    raise StartupError(
                        f"param {param.name!r} of action {key!r} is a {known.type} for one "
                        f"course type and a {param.type} for another"
                    )
                choices = None
                if known.choices is not None or param.choices is not None:
                    choices = tuple(dict.fromkeys((*(known.choices or ()), *(param.choices or ()))))
                params[param.name] = dataclasses.replace(
                    known, required=known.required and param.required, choices=choices
                )
        merged[key] = dataclasses.replace(
            action,
            params=tuple(
                dataclasses.replace(param, required=False)
                if presence[name] < len(versions)
                else param
                for name, param in params.items()
            ),
        )
    return merged
