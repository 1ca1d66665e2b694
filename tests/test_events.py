"""``lms_on_events``: what a transaction did, told once it has committed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph import LMS, Event, hookimpl
from lms_graph.app import create_app
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid

RUN = """
mutation ($input: RunActionInput!) { runAction(input: $input) { succeeded } }
"""


class _Listener:
    name = "listener"

    def __init__(self) -> None:
        self.calls: list[list[Event]] = []

    @hookimpl
    def lms_on_events(self, events: Sequence[Event]) -> None:
        self.calls.append(list(events))


@pytest.fixture
async def listened(lms: LMS) -> AsyncIterator[tuple[LMS, GraphQLClient, _Listener]]:
    listener = _Listener()
    service = LMS(
        make_settings(lms.db.url.render_as_string(hide_password=False)), plugins=[listener]
    )
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield service, GraphQLClient(http), listener
    await service.close()


async def test_hook_lms_on_events_after_a_committed_mass_action(
    listened: tuple[LMS, GraphQLClient, _Listener],
) -> None:
    service, gql, listener = listened
    world = World(service)
    admin = await world.admin()
    learners = [await world.user(), await world.user()]
    course = await world.course()
    ids = await world.assign(course, learners, by=admin)
    listener.calls.clear()
    targets = [gid("Enrollment", pk) for pk in ids]

    await gql.data(
        RUN,
        {"input": {"action": "mark_complete", "enrollmentIds": targets, "dryRun": True}},
        token=admin.token,
    )
    assert listener.calls == []  # a dry run commits nothing, so tells nothing

    await gql.data(
        RUN, {"input": {"action": "mark_complete", "enrollmentIds": targets}}, token=admin.token
    )
    [events] = listener.calls
    assert [event.name for event in events] == [
        "learner_completed",
        "learner_completed",
        "certificate_issued",  # the certificates plugin's own, through emit_event
        "certificate_issued",
        "action_run",
    ]
    assert sorted(event.data["enrollment_id"] for event in events[:2]) == sorted(ids)
    assert sorted(event.data["enrollment_id"] for event in events[2:4]) == sorted(ids)
    assert all(len(event.data["code"]) >= 8 for event in events[2:4])
    assert events[4].data == {
        "action": "mark_complete",
        "actor_id": admin.user.id,
        "succeeded": 2,
        "skipped": 0,
        "failed": 0,
        "enrollment_ids": ids,
    }


async def test_hook_lms_on_events_not_told_of_a_refused_run(
    listened: tuple[LMS, GraphQLClient, _Listener],
) -> None:
    service, gql, listener = listened
    world = World(service)
    admin = await world.admin()
    course = await world.course()
    [pk] = await world.assign(course, [await world.user()], by=admin)
    listener.calls.clear()
    body = await gql(
        RUN,
        {"input": {"action": "update_due_date", "enrollmentIds": [gid("Enrollment", pk)]}},
        token=admin.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert listener.calls == []
