"""The one place the plugin manager is built, and how hooks are called at run time.

Every hook is called through pluggy (``pm.hook.<name>(...)``), so ``firstresult``, hook
wrappers and call tracing apply. What pluggy has no notion of, the manager adds to each
implementation as it registers (``LMSPluginManager``): whose answer is whose, a failure
named after its plugin, and, for deliveries after a commit, the others running on.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import inspect
import logging
import warnings
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from contextvars import ContextVar
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
    allow: Sequence[str] | None = None, extra: Iterable[object] = (), *, core: object
) -> LMSPluginManager:
    """Add the specs, load the allowed entry points, register ``extra``, check.

    ``core``, the core's own actions (``lms_graph.actions.builtin``, which the caller
    passes: this module stays below them), is always registered (as plugin ``core``).
    ``allow`` is the ``LMS_PLUGINS`` allow-list (None: every installed plugin);
    naming a plugin that is not installed is an error. ``extra`` registers
    plugin objects directly (tests use it for fixture plugins).
    """
    pm = LMSPluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(core, name="core")
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


BY_A_WRAPPER = "(hook wrapper)"
"""The plugin name given to an answer that no implementation returned (a hook wrapper
put it in the hook's result)."""


@dataclasses.dataclass
class _Call:
    """One call of a hook through ``call_hook`` or ``collect``: its implementations'
    answers, by plugin, in call order."""

    hook: str
    isolate: bool
    answers: list[tuple[str, object]] = dataclasses.field(default_factory=list)


_CALL: ContextVar[_Call | None] = ContextVar("lms_graph_hook_call", default=None)


class LMSPluginManager(pluggy.PluginManager):
    """pluggy's manager, with the project's rules applied to each plugin as it registers.

    - An implementation under a deprecated hook name (``hookspecs.DEPRECATED_NAMES``)
      is read as one of the new hook, with a ``DeprecationWarning`` naming the new name.
    - Implementations of start-up hooks (``lms_register_*``) and of first-wins hooks
      (``firstresult``) must be plain functions: to pluggy a coroutine is an answer, so
      an ``async def`` one would win before it has decided. One stops start-up here.
    - pluggy has no per-implementation callback, so each implementation's function is
      replaced by one that calls it and, within ``call_hook``/``collect``, records its
      answer under its plugin's name, and names its plugin when it fails (``_failed``).
      Hook wrappers (``wrapper=True``, ``hookwrapper=True``) are left as they are.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        new = hookspecs.DEPRECATED_NAMES.get(name)
        if opts is None or new is None or opts.get("specname"):
            return opts
        renamed = opts.copy()  # the marker's own dict: pluggy completes what it gets in place
        renamed["specname"] = new
        return renamed

    def register(self, plugin: object, name: str | None = None) -> str | None:
        old_names = [
            old
            for old in hookspecs.DEPRECATED_NAMES
            if self.parse_hookimpl_opts(plugin, old) is not None
        ]
        plugin_name = super().register(plugin, name)
        if plugin_name is None:  # a blocked name
            return None
        try:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                        _require_plain(caller, impl)
                        # What pluggy calls: it has no per-implementation seam but this.
                        impl.function = _attributed(caller.name, impl)  # type: ignore[misc]
        except StartupError:
            self.unregister(plugin)
            raise
        for old in old_names:
            warnings.warn(
                f"plugin {plugin_name!r} implements hook {old}, a deprecated name: rename it "
                f"{hookspecs.DEPRECATED_NAMES[old]} (the old name goes in the next release)",
                DeprecationWarning,
                stacklevel=2,
            )
        return plugin_name


def _require_plain(caller: pluggy.HookCaller, impl: pluggy.HookImpl) -> None:
    first_wins = caller.spec is not None and caller.spec.opts["firstresult"]
    if (first_wins or hookspecs.runs_at_startup(caller.name)) and inspect.iscoroutinefunction(
        impl.function
    ):
        raise StartupError(f"plugin {impl.plugin_name!r}: {caller.name} must not be async")


def _attributed(hook: str, impl: pluggy.HookImpl) -> Callable[..., object]:
    """What pluggy calls instead of ``impl.function`` (same arguments, same answer)."""
    function, plugin = impl.function, impl.plugin_name

    @functools.wraps(function)
    def implementation(*args: object, **kwargs: object) -> object:
        call = _CALL.get()
        if call is not None and call.hook != hook:
            call = None  # another hook, called by hand from inside an implementation
        try:
            answer = function(*args, **kwargs)
        except Exception as exc:
            _failed(plugin, hook, exc, isolate=call is not None and call.isolate)
            return None
        if call is not None and answer is not None:
            call.answers.append((plugin, answer))
        return answer

    return implementation


def _failed(plugin: str, hook: str, exc: Exception, *, isolate: bool) -> None:
    """Called while handling ``exc``: log it with the plugin's name and, unless ``isolate``,
    raise what the caller gets: a refusal as it is, anything else as ``PluginError``,
    whose text names no internals of the plugin."""
    if isinstance(exc, LMSError | StartupError):
        # A deliberate refusal (BadInput, Forbidden, ...; a wrong setting at start-up):
        # its sentence is for the client or the operator.
        if not isolate:
            raise exc
        logger.exception("plugin %r refused in hook %s", plugin, hook)
        return
    logger.exception("plugin %r failed in hook %s", plugin, hook)
    if not isolate:
        raise PluginError(plugin, hook) from exc


def _answers(
    pm: pluggy.PluginManager,
    name: str,
    isolate: bool,
    kwargs: dict[str, Any],
    skip: Collection[object] = (),
) -> list[tuple[str, Any]]:
    """Call hook ``name`` through pluggy: its result as ``(plugin name, answer)`` pairs."""
    caller: pluggy.HookCaller = (
        pm.subset_hook_caller(name, skip) if skip else getattr(pm.hook, name)
    )
    call = _Call(name, isolate)
    token = _CALL.set(call)
    try:
        outcome = caller(**kwargs)
    except BaseException:
        _close(answer for _, answer in call.answers)
        raise
    finally:
        _CALL.reset(token)
    if caller.spec is not None and caller.spec.opts["firstresult"]:
        outcome = [] if outcome is None else [outcome]
    # pluggy returns the answers themselves, after any hook wrapper had its say (it may
    # drop, reorder or add some): pair each with the plugin that returned that object.
    owners: dict[int, deque[str]] = {}
    for plugin, answer in call.answers:
        owners.setdefault(id(answer), deque()).append(plugin)
    return [(_owner(owners, answer), answer) for answer in outcome]


def _owner(owners: dict[int, deque[str]], answer: object) -> str:
    plugins = owners.get(id(answer))
    return plugins.popleft() if plugins else BY_A_WRAPPER


def _close(answers: Iterable[object]) -> None:
    """Close coroutines that will not be awaited (no "never awaited" warning)."""
    for answer in answers:
        if inspect.iscoroutine(answer):
            answer.close()


async def call_hook(
    pm: pluggy.PluginManager,
    name: str,
    *,
    isolate: bool = False,
    skip: Collection[object] = (),
    **kwargs: Any,
) -> list[tuple[str, Any]]:
    """Call a per-request hook through pluggy, then await the coroutines of its
    ``async def`` implementations, in call order.

    Returns ``(plugin name, result)`` for each non-None result, in pluggy's call order
    (a first-wins hook: the first one only). Names come from the implementations as
    ``LMSPluginManager`` wraps them (a value only a hook wrapper produced is
    ``BY_A_WRAPPER``'s). An implementation that raises is logged with its plugin's
    name and surfaces as ``PluginError`` (whose text names no internals of the plugin),
    except a refusal (``LMSError``: ``BadInput``, ``Forbidden``, ...), which reaches the
    client as it is; with ``isolate`` the others still run and nothing is raised (for
    deliveries after a commit). ``skip``: plugins (the objects) whose implementations are
    not called this time.
    """
    answers = _answers(pm, name, isolate, kwargs, skip)
    results: list[tuple[str, Any]] = []
    done = 0
    try:
        for plugin, answer in answers:
            done += 1
            if inspect.isawaitable(answer):
                try:
                    answer = await answer
                except Exception as exc:
                    _failed(plugin, name, exc, isolate=isolate)
                    continue
            if answer is not None:
                results.append((plugin, answer))
    finally:
        _close(answer for _, answer in answers[done:])
    return results


def collect(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a start-up hook through pluggy: ``(plugin name, result)`` for each non-None
    result (see ``call_hook``); its implementations are plain functions. A
    ``StartupError`` an implementation raises (a wrong setting) stops start-up as it is;
    anything else, as ``PluginError`` naming the plugin."""
    return _answers(pm, name, False, kwargs)
