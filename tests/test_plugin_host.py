"""The plugin host: a plugin adds a course type, a field, a mutation, a route and a
state rule without touching the core; bad plugin sets stop start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph import LMS, CourseType, hookimpl
from lms_graph.actions import builtin
from lms_graph.app import create_app
from lms_graph.errors import BadInput, PluginError, StartupError
from lms_graph.plugin_manager import build_plugin_manager, call_hook
from lms_graph.schema import build_schema
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid
from tests.plugins import webinar


@pytest.fixture
async def webinar_lms(lms: LMS) -> AsyncIterator[LMS]:
    """The test database (emptied by ``lms``), served with the webinar plugin too."""
    service = LMS(
        make_settings(str(lms.db.url.render_as_string(hide_password=False))), plugins=[webinar]
    )
    webinar.assigned.clear()
    yield service
    await service.close()


@pytest.fixture
async def webinar_gql(webinar_lms: LMS) -> AsyncIterator[GraphQLClient]:
    app = create_app(lms=webinar_lms)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)


async def test_hook_plugin_adds_course_type_field_mutation_and_route(
    webinar_lms: LMS, webinar_gql: GraphQLClient
) -> None:
    world = World(webinar_lms)
    admin = await world.admin()
    learner = await world.user("Lin")
    course = await world.course("Live Q&A", course_type="webinar", chapters=0)
    [enrollment_id] = await world.assign(course, [learner], by=admin)
    assert [ref.enrollment_id for ref in webinar.assigned] == [enrollment_id]

    types = await webinar_gql.data("{ courseTypes { key label } }", token=admin.token)
    assert {"key": "webinar", "label": "Webinar"} in types["courseTypes"]

    started = await webinar_gql.data(
        "mutation($id: ID!) { startCourse(courseId: $id) { state progress webinarLink } }",
        {"id": gid("Course", course.id)},
        token=learner.token,
    )
    assert started["startCourse"] == {
        "state": "COMPLETED",
        "progress": 100,
        "webinarLink": f"https://webinar.example/{course.id}/{learner.user.id}",
    }
    pong = await webinar_gql.data('mutation { pingWebinar(text: "hi") }', token=admin.token)
    assert pong == {"pingWebinar": "pong: hi"}
    response = await webinar_gql.http.get("/webinar/ping")
    assert response.json() == {"webinar": "ok"}


async def test_plugin_fields_stay_with_their_schema(webinar_lms: LMS, lms: LMS) -> None:
    with_plugin = str(build_schema(webinar_lms))
    without = str(build_schema(lms))
    assert "webinarLink" in with_plugin
    assert "pingWebinar" in with_plugin
    assert "webinarLink" not in without
    assert "pingWebinar" not in without


class _Duplicate:
    name = "duplicate-self-paced"

    @hookimpl
    def lms_register_course_types(self) -> Iterable[CourseType]:
        return [CourseType("self_paced", "Another self-paced")]


def test_duplicate_course_type_stops_start_up() -> None:
    with pytest.raises(StartupError, match="course type 'self_paced' is registered by both") as e:
        LMS(make_settings("sqlite+aiosqlite:///unused.db"), plugins=[_Duplicate()])
    assert "'duplicate-self-paced'" in str(e.value)
    assert "and 'self_paced'" in str(e.value) or "'self_paced' and" in str(e.value)


def test_unknown_plugin_in_allow_list_stops_start_up() -> None:
    with pytest.raises(StartupError, match="not installed: nope"):
        build_plugin_manager(["self_paced", "nope"], core=builtin)


def test_allow_list_excludes_plugins() -> None:
    pm = build_plugin_manager([], core=builtin)
    assert [name for name, _ in pm.list_name_plugin()] == ["core"]


class _Deliverer:
    def __init__(self, name: str, fail: bool) -> None:
        self.name = name
        self.fail = fail
        self.received: list[object] = []

    @hookimpl
    def lms_notify(self, notifications: list[object]) -> None:
        if self.fail:
            raise RuntimeError("mail server down")
        self.received.extend(notifications)


async def test_hook_lms_notify_failure_does_not_stop_other_plugins() -> None:
    failing, working = _Deliverer("failing", True), _Deliverer("working", False)
    pm = build_plugin_manager([], extra=[working, failing], core=builtin)
    results = await call_hook(pm, "lms_notify", isolate=True, lms=None, notifications=["n"])
    assert results == []
    assert working.received == ["n"]
    with pytest.raises(PluginError, match="'failing'"):
        await call_hook(pm, "lms_notify", lms=None, notifications=["n"])


class _Refuser:
    name = "refuser"

    @hookimpl
    def lms_notify(self, notifications: list[object]) -> None:
        raise BadInput("Notifications are paused for this organisation.")


async def test_a_refusal_from_a_hook_reaches_the_caller_as_it_is() -> None:
    """A plugin's ``BadInput`` is a deliberate refusal with a sentence for the client, not a
    failure to mask; isolated calls (after a commit) still just log it."""
    refuser, working = _Refuser(), _Deliverer("working", False)
    pm = build_plugin_manager([], extra=[working, refuser], core=builtin)
    with pytest.raises(BadInput, match="Notifications are paused"):
        await call_hook(pm, "lms_notify", lms=None, notifications=["n"])
    assert await call_hook(pm, "lms_notify", isolate=True, lms=None, notifications=["n"]) == []
    assert working.received == ["n"]
