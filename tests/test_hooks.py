"""Hooks are called through pluggy with their declared semantics: hook wrappers and call
tracing see every call, a first-wins hook stops at its first answer, ``async def``
implementations are awaited, failures name their plugin, and the deprecated start-up hook
names still work, with a warning."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

import pluggy
import pytest

from lms_graph import LMS, CourseType, GraphQLExtension, MigrationSource, hookimpl
from lms_graph.errors import PluginError, StartupError
from lms_graph.hookspecs import DEPRECATED_NAMES
from lms_graph.plugin_manager import BY_A_WRAPPER, call_hook, collect
from tests.conftest import make_settings


def _lms(*plugins: object) -> LMS:
    """A service with the core and ``plugins`` only (no installed plugin); no database
    is touched."""
    return LMS(make_settings("sqlite+aiosqlite:///unused.db", plugins=()), plugins=plugins)


class _SyncNotify:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.received: list[object] = []

    @hookimpl
    def lms_notify(self, notifications: Sequence[object]) -> str:
        if self.fail:
            raise RuntimeError(f"{self.name} is down")
        self.received.extend(notifications)
        return self.name


class _AsyncNotify:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.received: list[object] = []

    @hookimpl
    async def lms_notify(self, notifications: Sequence[object]) -> str:
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError(f"{self.name} is down")
        self.received.extend(notifications)
        return self.name


class _Wrapper:
    """A new-style hook wrapper around a start-up and a per-request hook."""

    name = "wrapper"

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @hookimpl(wrapper=True)
    def lms_register_course_types(self) -> Generator[None, Any, Any]:
        result = yield
        self.seen.append(("lms_register_course_types", result))
        return result

    @hookimpl(wrapper=True)
    def lms_notify(self, notifications: Sequence[object]) -> Generator[None, Any, Any]:
        result = yield
        self.seen.append(("lms_notify", list(result)))
        return result


class _Webinar:
    name = "webinar"

    @hookimpl
    def lms_register_course_types(self) -> Iterable[CourseType]:
        return [CourseType("webinar", "Webinar")]


async def test_hook_wrapper_sees_start_up_and_per_request_calls() -> None:
    wrapper, webinar, mailer = _Wrapper(), _Webinar(), _SyncNotify("mailer")
    lms = _lms(webinar, mailer, wrapper)
    [(hook, course_types)] = wrapper.seen
    assert hook == "lms_register_course_types"
    assert [CourseType("webinar", "Webinar")] in course_types
    assert "webinar" in lms.course_types

    assert await lms.call_hook("lms_notify", notifications=["n"]) == [("mailer", "mailer")]
    assert wrapper.seen[-1] == ("lms_notify", ["mailer"])


class _Replacing:
    """A hook wrapper that answers in place of the implementations."""

    name = "replacing"

    @hookimpl(wrapper=True)
    def lms_notify(self) -> Generator[None, Any, Any]:
        yield
        return ["from the wrapper"]


async def test_hook_wrapper_result_is_the_hooks_result() -> None:
    mailer = _SyncNotify("mailer")
    lms = _lms(mailer, _Replacing())
    assert await lms.call_hook("lms_notify", notifications=["n"]) == [
        (BY_A_WRAPPER, "from the wrapper")
    ]
    assert mailer.received == ["n"]


async def test_hook_calls_are_seen_by_call_monitoring_and_tracing() -> None:
    lms = _lms(_SyncNotify("mailer"))
    calls: list[str] = []
    results: list[object] = []

    def before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        calls.append(hook)

    def after(
        outcome: pluggy.Result[Any],
        hook: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        results.append(outcome.get_result())

    undo = lms.pm.add_hookcall_monitoring(before, after)
    await lms.call_hook("lms_notify", notifications=["n"])
    collect(lms.pm, "lms_register_actions")
    undo()
    assert calls == ["lms_notify", "lms_register_actions"]
    assert results[0] == ["mailer"]

    written: list[str] = []
    lms.pm.trace.root.setwriter(written.append)
    undo = lms.pm.enable_tracing()
    await lms.call_hook("lms_notify", notifications=["n"])
    undo()
    assert any("lms_notify" in line for line in written)


class _Offers:
    def __init__(self, name: str, keys: list[str] | None) -> None:
        self.name = name
        self.keys = keys
        self.called = False

    @hookimpl
    def lms_mass_actions(self, course: object) -> list[str] | None:
        self.called = True
        return self.keys


async def test_hook_lms_mass_actions_stops_at_the_first_answer() -> None:
    """Registered last, called first: ``silent`` passes, ``first`` answers, ``second``
    is never called."""
    second, first, silent = (
        _Offers("second", ["remove"]),
        _Offers("first", ["assign"]),
        _Offers("silent", None),
    )
    lms = _lms(second, first, silent)
    assert await lms.call_hook("lms_mass_actions", course=None) == [("first", ["assign"])]
    assert silent.called
    assert first.called
    assert not second.called


class _AsyncOffers:
    name = "async-offers"

    @hookimpl
    async def lms_mass_actions(self, course: object) -> list[str]:
        return ["assign"]


def test_async_implementation_of_a_first_wins_hook_stops_start_up() -> None:
    with pytest.raises(StartupError, match="'async-offers': lms_mass_actions must not be async"):
        _lms(_AsyncOffers())


class _AsyncCourseTypes:
    name = "async-types"

    @hookimpl
    async def lms_register_course_types(self) -> Iterable[CourseType]:
        return []


def test_async_implementation_of_a_start_up_hook_stops_start_up() -> None:
    with pytest.raises(
        StartupError, match="'async-types': lms_register_course_types must not be async"
    ):
        _lms(_AsyncCourseTypes())


async def test_async_implementations_are_awaited_in_call_order() -> None:
    """Registered last, called first; sync and async answers keep that order."""
    lms = _lms(_AsyncNotify("c"), _SyncNotify("b"), _AsyncNotify("a"))
    assert await lms.call_hook("lms_notify", notifications=["n"]) == [
        ("a", "a"),
        ("b", "b"),
        ("c", "c"),
    ]


@pytest.mark.parametrize("kind", [_SyncNotify, _AsyncNotify])
async def test_a_failing_plugin_surfaces_as_plugin_error_naming_it(
    kind: type[_SyncNotify | _AsyncNotify], caplog: pytest.LogCaptureFixture
) -> None:
    after = _AsyncNotify("after")
    lms = _lms(after, kind("broken", fail=True), _SyncNotify("before"))
    with (
        caplog.at_level(logging.ERROR, "lms_graph.plugin_manager"),
        pytest.raises(PluginError, match="plugin 'broken' failed in hook lms_notify") as failed,
    ):
        await lms.call_hook("lms_notify", notifications=["n"])
    assert failed.value.plugin == "broken"
    assert "broken is down" not in str(failed.value)
    assert "plugin 'broken' failed in hook lms_notify" in caplog.text
    assert after.received == []  # the call stopped at the failure; nothing left un-awaited


@pytest.mark.parametrize("kind", [_SyncNotify, _AsyncNotify])
async def test_isolate_keeps_the_other_plugins_running(
    kind: type[_SyncNotify | _AsyncNotify], caplog: pytest.LogCaptureFixture
) -> None:
    before, after = _SyncNotify("before"), _AsyncNotify("after")
    lms = _lms(after, kind("broken", fail=True), before)
    with caplog.at_level(logging.ERROR, "lms_graph.plugin_manager"):
        results = await lms.call_hook("lms_notify", isolate=True, notifications=["n"])
    assert results == [("before", "before"), ("after", "after")]
    assert before.received == after.received == ["n"]
    assert "plugin 'broken' failed in hook lms_notify" in caplog.text


class _OldNames:
    """A plugin written against the hook names of 0.1."""

    name = "old-names"

    @hookimpl
    def lms_migrations(self) -> MigrationSource | None:
        return None

    @hookimpl
    def lms_graphql(self) -> GraphQLExtension:
        return GraphQLExtension()

    @hookimpl
    def lms_routes(self, lms: LMS) -> list[object]:
        return ["route"]

    @hookimpl
    def lms_background(self, lms: LMS) -> list[object]:
        return ["work"]


def test_deprecated_hook_names_still_work_and_warn() -> None:
    plugin = _OldNames()
    with pytest.warns(DeprecationWarning, match="a deprecated name") as warned:
        lms = _lms(plugin)
    messages = sorted(str(warning.message) for warning in warned)
    assert messages == sorted(
        f"plugin 'old-names' implements hook {old}, a deprecated name: rename it {new}"
        " (the old name goes in the next release)"
        for old, new in DEPRECATED_NAMES.items()
    )
    assert not any(hasattr(lms.pm.hook, old) for old in DEPRECATED_NAMES)
    assert collect(lms.pm, "lms_register_migrations") == []
    [(owner, extension)] = collect(lms.pm, "lms_register_graphql")
    assert owner == "old-names"
    assert isinstance(extension, GraphQLExtension)
    assert collect(lms.pm, "lms_register_routes", lms=lms) == [("old-names", ["route"])]
    assert collect(lms.pm, "lms_register_background", lms=lms) == [("old-names", ["work"])]


async def test_call_hook_takes_the_plugin_manager_directly() -> None:
    lms = _lms(_SyncNotify("mailer"))
    assert await call_hook(lms.pm, "lms_notify", lms=None, notifications=["n"]) == [
        ("mailer", "mailer")
    ]
