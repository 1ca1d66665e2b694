"""``lms_register_action_params`` and ``lms_perform_action``: a course type's own part
of the core's actions, with the params it adds (CONTRACT section 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph import ActionParam, hookimpl
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.errors import StartupError
from lms_graph.ids import decode_id
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid
from tests.plugins import perform
from tests.test_mass_actions import cohort, enrollment, row_counts, run, run_error

MASS_ACTIONS = """
query ($id: ID!) {
  course(id: $id) { massActions { key params { name type required choices } } }
}
"""


@pytest.fixture
async def perform_lms(lms: LMS, database_url: str) -> AsyncIterator[LMS]:
    """The test database (emptied by ``lms``), served with the fixture plugin too."""
    service = LMS(make_settings(database_url), plugins=[perform])
    perform.clear()
    yield service
    perform.clear()
    await service.close()


@pytest.fixture
async def perform_gql(perform_lms: LMS) -> AsyncIterator[GraphQLClient]:
    app = create_app(lms=perform_lms)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)


def _pk(global_id: str) -> int:
    return decode_id(global_id, "Enrollment")


async def test_added_params_show_in_the_action_and_replace_by_name(
    perform_gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    data = await perform_gql.data(MASS_ACTIONS, {"id": gid("Course", course.id)}, admin.token)
    params = {action["key"]: action["params"] for action in data["course"]["massActions"]}
    assert params["mark_complete"] == [
        {"name": "external", "type": "Boolean", "required": False, "choices": None}
    ]
    assert params["remove"] == [
        {"name": "scope", "type": "Enum", "required": False, "choices": ["COURSE", "ARCHIVE"]}
    ]


async def test_added_param_is_validated_like_the_actions_own(
    perform_gql: GraphQLClient, world: World, perform_lms: LMS
) -> None:
    admin = await world.admin()
    course = await world.course()
    [(_, eid)] = await cohort(perform_gql, world, course, admin, ["STARTED"])
    counts = await row_counts(perform_lms)
    error = await run_error(
        perform_gql, admin, "mark_complete", enrollmentIds=[eid], params={"external": "yes"}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`external` must be true or false" in error["message"]
    error = await run_error(
        perform_gql, admin, "remove", enrollmentIds=[eid], params={"scope": "NOPE"}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`scope` must be one of COURSE, ARCHIVE" in error["message"]
    assert await row_counts(perform_lms) == counts
    assert perform.calls == []


async def test_learners_the_plugin_answers_for_skip_the_actions_own_run(
    perform_gql: GraphQLClient, world: World
) -> None:
    gql = perform_gql
    admin = await world.admin()
    course = await world.course()
    ids = [eid for _, eid in await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS"])]

    result = await run(gql, admin, "mark_complete", enrollmentIds=ids, params={"external": True})
    assert [(o["status"], o["message"]) for o in result["outcomes"]] == [
        ("OK", "Recorded as completed elsewhere."),
        ("OK", "Recorded as completed elsewhere."),
    ]
    assert perform.calls == [("mark_complete", [_pk(eid) for eid in ids], True)]
    for eid, state in zip(ids, ["STARTED", "IN_PROGRESS"], strict=True):
        learner = await enrollment(gql, eid, admin)
        # The core did not complete them; the OK outcome still got the action's history line.
        assert learner["state"] == state
        assert learner["completedAt"] is None
        assert learner["history"][-1]["action"] == "mark_complete"


async def test_learners_left_out_go_on_to_the_core_and_refused_ones_change_nothing(
    perform_gql: GraphQLClient, world: World
) -> None:
    gql = perform_gql
    admin = await world.admin()
    course = await world.course()
    ids = [eid for _, eid in await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS"])]
    perform.refused.add(_pk(ids[1]))
    before = await enrollment(gql, ids[1], admin)

    result = await run(gql, admin, "mark_complete", enrollmentIds=ids)
    assert [(o["status"], o["code"]) for o in result["outcomes"]] == [
        ("OK", None),
        ("SKIPPED", perform.CODE),
    ]
    assert result["outcomes"][1]["message"] == perform.REASON
    assert (await enrollment(gql, ids[0], admin))["state"] == "COMPLETED"
    assert await enrollment(gql, ids[1], admin) == before  # no history line either


async def test_dry_runs_ask_the_plugin_and_roll_its_part_back(
    perform_gql: GraphQLClient, world: World, perform_lms: LMS
) -> None:
    gql = perform_gql
    admin = await world.admin()
    course = await world.course()
    [(_, eid)] = await cohort(gql, world, course, admin, ["STARTED"])
    counts = await row_counts(perform_lms)
    result = await run(
        gql, admin, "mark_complete", enrollmentIds=[eid], params={"external": True}, dryRun=True
    )
    assert (result["dryRun"], result["succeeded"]) == (True, 1)
    assert len(perform.calls) == 1
    assert await row_counts(perform_lms) == counts


async def test_the_plugin_hears_only_of_learners_that_passed_rules_and_claims(
    perform_gql: GraphQLClient, world: World
) -> None:
    gql = perform_gql
    admin = await world.admin()
    course = await world.course()
    ids = [eid for _, eid in await cohort(gql, world, course, admin, ["STARTED", "COMPLETED"])]
    await run(gql, admin, "mark_complete", enrollmentIds=ids)
    # The completed learner is NOT_APPLICABLE: never offered to the plugin.
    assert perform.calls == [("mark_complete", [_pk(ids[0])], False)]


async def test_params_added_for_one_course_type_show_only_for_it(
    perform_gql: GraphQLClient, world: World, perform_lms: LMS
) -> None:
    admin = await world.admin()
    course = await world.course()
    [(_, eid)] = await cohort(perform_gql, world, course, admin, ["STARTED"])
    menu = "query ($id: ID!) { enrollment(id: $id) { availableActions { key params { name } } } }"
    data = await perform_gql.data(menu, {"id": eid}, admin.token)
    params = {a["key"]: a["params"] for a in data["enrollment"]["availableActions"]}
    assert params["mark_complete"] == [{"name": "external"}]
    # The core's own version stays as it was for other course types.
    for course_type in set(perform_lms.course_types) - {"self_paced"}:
        mark_complete = perform_lms.actions_for(course_type)["mark_complete"]
        assert [param.name for param in mark_complete.params] == []
    # runAction accepts what any course type's version accepts.
    assert [param.name for param in perform_lms.actions["mark_complete"].params] == ["external"]
    assert perform_lms.actions["mark_complete"].params[0].required is False


class _AddsTo:
    def __init__(self, name: str, params: Mapping[str, Sequence[ActionParam]]) -> None:
        self.name = name
        self.params = params

    @hookimpl
    def lms_register_action_params(self) -> Mapping[str, Sequence[ActionParam]]:
        return self.params


def _lms(*plugins: Any) -> LMS:
    return LMS(make_settings("sqlite+aiosqlite:///unused.db"), plugins=plugins)


def test_params_for_an_unknown_action_stop_start_up() -> None:
    plugin = _AddsTo("typo", {"mark_compleet": [ActionParam("x", "String", False, "X")]})
    with pytest.raises(StartupError, match="plugin 'typo' adds params to unknown action"):
        _lms(plugin)


def test_one_param_changed_by_two_plugins_stops_start_up() -> None:
    scope = [ActionParam("scope", "Enum", False, "Scope", ("COURSE", "X"))]
    plugins: Iterable[Any] = [
        _AddsTo("first", {"remove": scope}),
        _AddsTo("second", {"remove": scope}),
    ]
    with pytest.raises(StartupError, match="param 'scope' of action 'remove' is changed by both"):
        _lms(*plugins)
