"""The one place the plugin manager is built, and how hooks are called at run time."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

import pluggy

from lms_graph import hookspecs
from lms_graph.errors import LMSError, PluginError, StartupError

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lms_graph"


def installed_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points of the ``lms_graph`` group, by name."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def build_plugin_manager(
    allow: Sequence[str] | None = None, extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Add the specs, load the allowed entry points, register ``extra``, check.

    The core's own actions are always registered (as plugin ``core``).
    ``allow`` is the ``LMS_PLUGINS`` allow-list (None: every installed plugin);
    naming a plugin that is not installed is an error. ``extra`` registers
    plugin objects directly (tests use it for fixture plugins).
    """
    from lms_graph.actions import builtin  # the core's own actions; imported late (cycle)

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name="core")
    available = installed_plugins()
    if allow is not None:
        missing = sorted(set(allow) - set(available))
        if missing:
            raise StartupError(
                f"LMS_PLUGINS names plugins that are not installed: {', '.join(missing)}"
                f" (installed: {', '.join(sorted(available)) or 'none'})"
            )
    for name, entry_point in sorted(available.items()):
        if allow is not None and name not in allow:
            continue
        pm.register(entry_point.load(), name=name)
    for plugin in extra:
        pm.register(plugin, name=_plugin_name(plugin))
    pm.check_pending()
    return pm


def _plugin_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return getattr(plugin, "name", None) or type(plugin).__name__


async def call_hook(
    pm: pluggy.PluginManager, name: str, *, isolate: bool = False, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call every implementation of a per-request hook, awaiting async ones.

    Returns ``(plugin name, result)`` for each non-None result, in pluggy's call
    order. An implementation that raises is logged with its plugin's name and
    surfaces as ``PluginError`` (whose text names no internals of the plugin),
    except a refusal (``LMSError``: ``BadInput``, ``Forbidden``, ...), which reaches
    the client as it is; with ``isolate`` the others still run (for deliveries
    after a commit).
    """
    caller = getattr(pm.hook, name)
    results: list[tuple[str, Any]] = []
    for impl in reversed(caller.get_hookimpls()):
        arguments = {arg: kwargs[arg] for arg in impl.argnames}
        try:
            result = impl.function(**arguments)
            if inspect.isawaitable(result):
                result = await result
        except LMSError:
            # A deliberate refusal (BadInput, Forbidden, ...): its sentence is for the client.
            if isolate:
                logger.exception("plugin %r refused in hook %s", impl.plugin_name, name)
                continue
            raise
        except Exception as exc:
            logger.exception("plugin %r failed in hook %s", impl.plugin_name, name)
            if isolate:
                continue
            raise PluginError(impl.plugin_name, name) from exc
        if result is not None:
            results.append((impl.plugin_name, result))
    return results


def collect(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a start-up hook: ``(plugin name, result)`` for each non-None result."""
    caller = getattr(pm.hook, name)
    results: list[tuple[str, Any]] = []
    for impl in reversed(caller.get_hookimpls()):
        result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        if inspect.isawaitable(result):
            raise StartupError(f"plugin {impl.plugin_name!r}: {name} must not be async")
        if result is not None:
            results.append((impl.plugin_name, result))
    return results
