"""A course type decides which actions apply to its learners (``lms_withhold_actions``):
menus, mass-action previews and runs agree, and nothing is offered that could only
come back SKIPPED. A course type re-opens a completion it decided through its state
rule (``LearnerStatus.reopen``), and the core then does what Mark as Incomplete does
(CONTRACT section 11; issue 17, points 2 and 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph.app import create_app
from lms_graph.core import LMS
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.plugins import live_class

RECORD = """
mutation ($id: ID!, $minutes: Int!) {
  recordAttendance(enrollmentId: $id, minutesAttended: $minutes)
}
"""
RUN = """
mutation ($input: RunActionInput!) {
  runAction(input: $input) { succeeded skipped outcomes { enrollmentId status code message } }
}
"""
SEEN = """
query ($id: ID!) {
  enrollment(id: $id) {
    state progress completedAt attempt { number }
    availableActions { key }
    history { action summary actor { id } }
    certificates { code }
    certificateHistory { code revokedAt revokedBy { id } }
    user { credits }
  }
}
"""
PAGE = """
query ($id: ID!) {
  course(id: $id) { learners(first: 50) { edges { node { id availableActions { key } } } } }
}
"""


@pytest.fixture
async def live_lms(lms: LMS, database_url: str) -> AsyncIterator[LMS]:
    """The test database (emptied by ``lms``), served with the live-class plugin too."""
    service = LMS(make_settings(database_url), plugins=[live_class])
    live_class.clear()
    yield service
    live_class.clear()
    await service.close()


@pytest.fixture
async def live(live_lms: LMS) -> AsyncIterator[GraphQLClient]:
    app = create_app(lms=live_lms)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)


async def record(live: GraphQLClient, admin: Actor, enrollment_id: str, minutes: int) -> None:
    await live.data(RECORD, {"id": enrollment_id, "minutes": minutes}, token=admin.token)


async def seen(live: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    return (await live.data(SEEN, {"id": enrollment_id}, token=viewer.token))["enrollment"]


async def run(live: GraphQLClient, admin: Actor, **input_: Any) -> dict[str, Any]:
    data = await live.data(RUN, {"input": input_}, token=admin.token)
    result: dict[str, Any] = data["runAction"]
    return result


def keys(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


async def test_a_withheld_action_is_neither_offered_nor_run(
    live: GraphQLClient, live_lms: LMS
) -> None:
    world = World(live_lms)
    admin = await world.admin()
    course = await world.course("Live class", course_type="live_class", chapters=0)
    other = await world.course("Self-paced")
    absent, present = await world.user("Abe Absent"), await world.user("Pia Present")
    absent_id, present_id = (
        gid("Enrollment", pk) for pk in await world.assign(course, [absent, present], by=admin)
    )
    [self_paced_id] = [gid("Enrollment", pk) for pk in await world.assign(other, [absent], admin)]
    await record(live, admin, present_id, 30)

    # The learner's menu and a page of learners agree.
    assert "mark_complete" not in keys(await seen(live, absent_id, admin))
    assert "mark_complete" in keys(await seen(live, present_id, admin))
    page = await live.data(PAGE, {"id": gid("Course", course.id)}, token=admin.token)
    by_id = {e["node"]["id"]: keys(e["node"]) for e in page["course"]["learners"]["edges"]}
    assert "mark_complete" not in by_id[absent_id]
    assert "mark_complete" in by_id[present_id]

    # The preview and the run agree with them, with the course type's code and reason;
    # a learner of another course type is not the live class's to withhold from.
    ids = [absent_id, present_id, self_paced_id]
    for dry_run in (True, False):
        result = await run(live, admin, action="mark_complete", enrollmentIds=ids, dryRun=dry_run)
        assert [(o["status"], o["code"]) for o in result["outcomes"]] == [
            ("SKIPPED", "NO_ATTENDANCE"),
            ("OK", None),
            ("OK", None),
        ]
        assert result["outcomes"][0]["message"] == live_class.NO_ATTENDANCE.message
    assert (await seen(live, absent_id, admin))["state"] == "NOT_STARTED"
    assert (await seen(live, present_id, admin))["state"] == "COMPLETED"

    # Named by course and filter, the same.
    result = await run(
        live, admin, action="mark_complete", courseId=gid("Course", course.id), dryRun=True
    )
    assert [(o["enrollmentId"], o["code"]) for o in result["outcomes"]] == [
        (absent_id, "NO_ATTENDANCE"),
        (present_id, "NOT_APPLICABLE"),  # completed already: the action's own rule
    ]


async def test_built_in_course_types_offer_no_chapter_insights_without_chapters(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    courses = {
        "ilt without chapters": (await world.course("ILT", course_type="ilt", chapters=0), False),
        "ilt with chapters": (await world.course("ILT 2", course_type="ilt", chapters=1), True),
        "self-paced without chapters": (await world.course("Empty", chapters=0), False),
        "self-paced with chapters": (await world.course("Full", chapters=1), True),
    }
    for name, (course, offered) in courses.items():
        [pk] = await world.assign(course, [learner], by=admin)
        data = await gql.data(
            "query ($id: ID!) { enrollment(id: $id) { availableActions { key } } }",
            {"id": gid("Enrollment", pk)},
            token=admin.token,
        )
        assert ("view_chapter_insights" in keys(data["enrollment"])) is offered, name
        page = await gql.data(PAGE, {"id": gid("Course", course.id)}, token=admin.token)
        [edge] = page["course"]["learners"]["edges"]
        assert ("view_chapter_insights" in keys(edge["node"])) is offered, name


async def test_a_course_type_reopens_a_completion_it_decided(
    live: GraphQLClient, live_lms: LMS
) -> None:
    """Attendance corrected from 60 to 5 minutes: the completion is taken back as Mark as
    Incomplete takes it back (certificate, credits, a history line), with the state and
    progress the course type gives."""
    world = World(live_lms)
    admin = await world.admin()
    course = await world.course("Live class", course_type="live_class", chapters=0, credits=2.0)
    learner = await world.user("Lena")
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)

    await record(live, admin, enrollment_id, 60)
    done = await seen(live, enrollment_id, admin)
    assert (done["state"], done["progress"]) == ("COMPLETED", 100)
    [certificate] = done["certificates"]
    assert done["user"]["credits"] == 2.0

    await record(live, admin, enrollment_id, 5)
    back = await seen(live, enrollment_id, admin)
    assert (back["state"], back["progress"], back["completedAt"]) == ("IN_PROGRESS", 8, None)
    assert back["attempt"]["number"] == 1
    assert back["certificates"] == []
    assert back["certificateHistory"] == [
        {
            "code": certificate["code"],
            "revokedAt": back["certificateHistory"][0]["revokedAt"],
            "revokedBy": None,
        }
    ]
    assert back["certificateHistory"][0]["revokedAt"] is not None
    assert back["user"]["credits"] == 0.0
    assert [h["action"] for h in back["history"]][-2:] == ["completed", "reopened"]
    assert back["history"][-1]["actor"] is None
    assert "mark_complete" in keys(back)  # attended 5 minutes: it may be completed again

    # Attending the rest completes it again, with a new certificate.
    await record(live, admin, enrollment_id, 60)
    again = await seen(live, enrollment_id, admin)
    assert again["state"] == "COMPLETED"
    [renewed] = again["certificates"]
    assert renewed["code"] != certificate["code"]
    assert again["user"]["credits"] == 2.0


async def test_a_completion_the_course_type_did_not_decide_sticks(
    live: GraphQLClient, live_lms: LMS
) -> None:
    """Marked complete by an administrator: the course type leaves it alone, and the core
    never re-opens a completion on its own."""
    world = World(live_lms)
    admin = await world.admin()
    course = await world.course("Live class", course_type="live_class", chapters=0)
    learner = await world.user("Lena")
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await record(live, admin, enrollment_id, 30)
    assert (await run(live, admin, action="mark_complete", enrollmentIds=[enrollment_id]))[
        "succeeded"
    ] == 1
    await record(live, admin, enrollment_id, 10)
    after = await seen(live, enrollment_id, admin)
    assert (after["state"], after["progress"]) == ("COMPLETED", 100)
    assert len(after["certificates"]) == 1
    assert "reopened" not in [h["action"] for h in after["history"]]
