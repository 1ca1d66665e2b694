"""``POST /scorm/runtime/{enrollmentId}``: SCORM 1.2 and 2004 CMI commits driving state
and progress, their validation (400, nothing stored) and who may commit."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select

from lms_graph.core import LMS
from lms_graph_plugins.scorm_xapi.tables import scorm_commits, scorm_state
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.test_xapi_lrs import state, xapi_learner


async def commit(
    client: AsyncClient, enrollment_id: str, viewer: Actor | None, data: Any
) -> Response:
    headers = {"Authorization": f"Bearer {viewer.token}"} if viewer else {}
    return await client.post(f"/scorm/runtime/{enrollment_id}", json=data, headers=headers)


async def commits(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(scorm_commits))).scalar_one()
        )


CMI: list[tuple[str, list[dict[str, Any]], tuple[str, int]]] = [
    ("1.2 not attempted", [{"cmi.core.lesson_status": "not attempted"}], ("STARTED", 0)),
    ("1.2 browsed", [{"cmi.core.lesson_status": "browsed"}], ("IN_PROGRESS", 0)),
    ("1.2 incomplete", [{"cmi.core.lesson_status": "incomplete"}], ("IN_PROGRESS", 0)),
    ("1.2 failed", [{"cmi.core.lesson_status": "failed"}], ("IN_PROGRESS", 0)),
    ("1.2 completed", [{"cmi.core.lesson_status": "completed"}], ("COMPLETED", 100)),
    ("1.2 passed", [{"cmi.core.lesson_status": "passed"}], ("COMPLETED", 100)),
    (
        "1.2 score",
        [{"cmi.core.score.raw": "50", "cmi.core.score.min": "0", "cmi.core.score.max": "100"}],
        ("IN_PROGRESS", 0),
    ),
    ("1.2 suspend data", [{"cmi.suspend_data": "page=3"}], ("IN_PROGRESS", 0)),
    ("2004 completion incomplete", [{"cmi.completion_status": "incomplete"}], ("IN_PROGRESS", 0)),
    ("2004 completion completed", [{"cmi.completion_status": "completed"}], ("COMPLETED", 100)),
    ("2004 not attempted", [{"cmi.completion_status": "not attempted"}], ("STARTED", 0)),
    ("2004 completion unknown", [{"cmi.completion_status": "unknown"}], ("STARTED", 0)),
    ("2004 success passed", [{"cmi.success_status": "passed"}], ("COMPLETED", 100)),
    ("2004 success failed", [{"cmi.success_status": "failed"}], ("IN_PROGRESS", 0)),
    ("2004 success unknown", [{"cmi.success_status": "unknown"}], ("STARTED", 0)),
    ("2004 progress measure", [{"cmi.progress_measure": 0.45}], ("IN_PROGRESS", 45)),
    ("2004 progress measure 0", [{"cmi.progress_measure": "0"}], ("STARTED", 0)),
    ("2004 scaled score", [{"cmi.score.scaled": 0.8}], ("IN_PROGRESS", 0)),
    ("2004 raw score", [{"cmi.score.raw": "7.5", "cmi.score.max": "10"}], ("IN_PROGRESS", 0)),
    (
        "blank values leave elements unset",
        [{"cmi.core.lesson_status": "", "cmi.core.score.raw": ""}],
        ("STARTED", 0),
    ),
    (
        "commits merge",
        [
            {"cmi.progress_measure": 0.3},
            {"cmi.completion_status": "incomplete", "cmi.location": "p4"},
        ],
        ("IN_PROGRESS", 30),
    ),
    (
        "a later commit completes",
        [{"cmi.completion_status": "incomplete"}, {"cmi.completion_status": "completed"}],
        ("COMPLETED", 100),
    ),
]


@pytest.mark.parametrize(("case", "sent", "expected"), CMI, ids=[case for case, _, _ in CMI])
async def test_cmi_values_move_state_and_progress(
    client: AsyncClient,
    world: World,
    gql: GraphQLClient,
    lms: LMS,
    case: str,
    sent: list[dict[str, Any]],
    expected: tuple[str, int],
) -> None:
    admin, learner, _, enrollment_id = await xapi_learner(world, course_type="scorm")
    for data in sent:
        response = await commit(client, enrollment_id, learner, data)
        assert response.status_code == 200, response.text
    assert response.json() == {
        "enrollmentId": enrollment_id,
        "state": expected[0],
        "progress": expected[1],
    }
    assert await state(gql, enrollment_id, admin) == expected
    assert await commits(lms) == len(sent)


INVALID: list[tuple[Any, str]] = [
    ({"cmi.core.lesson_status": "done"}, "cmi.core.lesson_status must be one of"),
    ({"cmi.completion_status": "passed"}, "cmi.completion_status must be one of"),
    ({"cmi.success_status": "completed"}, "cmi.success_status must be one of"),
    ({"cmi.progress_measure": 1.5}, "between 0 and 1"),
    ({"cmi.score.scaled": -2}, "between -1 and 1"),
    ({"cmi.core.score.raw": "lots"}, "must be a number"),
    ({"cmi.score.raw": True}, "must be a number"),
    ({"cmi.score.raw": 11, "cmi.score.max": 10}, "between min and max"),
    ({"cmi.score.min": 10, "cmi.score.max": 5}, "min must not be above its max"),
    ({"cmi.suspend_data": 42}, "cmi.suspend_data must be text"),
    ({"progress": 1}, "not a SCORM data model element"),
    ({"cmi.core.lesson_status": {"value": "passed"}}, "string or a number"),
    ({}, "non-empty JSON object"),
    ([{"cmi.core.lesson_status": "passed"}], "non-empty JSON object"),
]


async def test_invalid_commits_are_400_and_store_nothing(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, _, enrollment_id = await xapi_learner(world, course_type="scorm")
    for data, reason in INVALID:
        response = await commit(client, enrollment_id, learner, data)
        assert response.status_code == 400, (data, response.text)
        assert reason in response.json()["error"], (reason, response.json())
    # a valid element beside an invalid one is not stored either
    mixed = {"cmi.core.lesson_status": "passed", "cmi.progress_measure": 7}
    assert (await commit(client, enrollment_id, learner, mixed)).status_code == 400
    assert await commits(lms) == 0
    async with lms.db.reader() as conn:
        assert (await conn.execute(select(func.count()).select_from(scorm_state))).scalar_one() == 0
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)


async def test_who_may_commit(client: AsyncClient, world: World, lms: LMS) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    other = await world.user("Olga Other")
    instructor = await world.user("Ian Instructor")
    await world.instructor(course, instructor)
    data = {"cmi.core.lesson_status": "incomplete"}
    assert (await commit(client, enrollment_id, None, data)).status_code == 401
    assert (await commit(client, enrollment_id, other, data)).status_code == 403
    assert (await commit(client, enrollment_id, instructor, data)).status_code == 403
    assert await commits(lms) == 0
    assert (await commit(client, enrollment_id, admin, data)).status_code == 200
    assert (await commit(client, enrollment_id, learner, data)).status_code == 200
    assert (await commit(client, "not-an-id", learner, data)).status_code == 400
    assert (await commit(client, gid("Enrollment", 999_999), admin, data)).status_code == 404
    assert (await commit(client, gid("Course", course.id), admin, data)).status_code == 400
    plain = await world.course("Plain", course_type="self_paced")
    [pk] = await world.assign(plain, [learner], by=admin)
    refused = await commit(client, gid("Enrollment", pk), learner, data)
    assert refused.status_code == 400
    assert "not a SCORM or xAPI course" in refused.json()["error"]
    assert await commits(lms) == 2


async def test_an_xapi_course_accepts_cmi_too(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, _, enrollment_id = await xapi_learner(world, course_type="xapi")
    assert (
        await commit(client, enrollment_id, learner, {"cmi.completion_status": "completed"})
    ).status_code == 200
    assert await state(gql, enrollment_id, admin) == ("COMPLETED", 100)
