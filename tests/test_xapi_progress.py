"""xAPI statements driving state and progress, View SCORM/xAPI Activity, and the
lifecycle of SCORM/xAPI learners (reset, remove, mark complete, mass actions)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from lms_graph import Viewer, write
from lms_graph.core import LMS
from lms_graph_plugins.scorm_xapi.demo import seed
from lms_graph_plugins.scorm_xapi.progress import CMI5_PROGRESS
from lms_graph_plugins.scorm_xapi.tables import scorm_commits, xapi_statements
from tests.helpers import GraphQLClient, World, gid
from tests.test_actions import complete_chapter, one_outcome, run, start
from tests.test_xapi_lrs import ADL, auth, iris, post, state, statement, xapi_learner

ACTIVITY = """
query ($id: ID!, $first: Int, $after: String) {
  enrollment(id: $id) {
    activity(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { kind at statementId verb activityId statement data } }
    }
  }
}
"""
MENU = "query ($id: ID!) { enrollment(id: $id) { state availableActions { key label kind } } }"
MASS = "query ($id: ID!) { course(id: $id) { massActions { key } } }"
HISTORY = "query ($id: ID!) { enrollment(id: $id) { history { action } certificates { code } } }"


async def rows(lms: LMS, table: Any, *where: Any) -> int:
    async with lms.db.reader() as conn:
        query = select(func.count()).select_from(table)
        if where:
            query = query.where(*where)
        return int((await conn.execute(query)).scalar_one())


# --- verbs moving state and progress -------------------------------------------------------

VERBS: list[tuple[str, list[tuple[str, str]], tuple[str, int]]] = [
    ("initialized", [("initialized", "course")], ("STARTED", 0)),
    ("launched", [("launched", "course")], ("STARTED", 0)),
    ("progressed on a chapter", [("progressed", "chapter0")], ("IN_PROGRESS", 0)),
    ("answered on a chapter", [("answered", "chapter0")], ("IN_PROGRESS", 0)),
    ("experienced on a chapter", [("experienced", "chapter1")], ("IN_PROGRESS", 0)),
    ("failed on a chapter", [("failed", "chapter0")], ("IN_PROGRESS", 0)),
    (
        "completed a chapter",
        [("launched", "course"), ("completed", "chapter0")],
        ("IN_PROGRESS", 50),
    ),
    ("passed a chapter", [("passed", "chapter1")], ("IN_PROGRESS", 50)),
    (
        "the same chapter twice",
        [("completed", "chapter0"), ("passed", "chapter0")],
        ("IN_PROGRESS", 50),
    ),
    (
        "completed every chapter",
        [("completed", "chapter0"), ("passed", "chapter1")],
        ("COMPLETED", 100),
    ),
    ("completed the course", [("launched", "course"), ("completed", "course")], ("COMPLETED", 100)),
    ("passed the course", [("passed", "course")], ("COMPLETED", 100)),
    ("failed the course", [("failed", "course")], ("IN_PROGRESS", 0)),
]


@pytest.mark.parametrize(("case", "sent", "expected"), VERBS, ids=[case for case, _, _ in VERBS])
async def test_verbs_move_state_and_progress(
    client: AsyncClient,
    world: World,
    gql: GraphQLClient,
    case: str,
    sent: list[tuple[str, str]],
    expected: tuple[str, int],
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, chapter_iris = await iris(gql, course, admin)
    targets = {"course": course_iri, "chapter0": chapter_iris[0], "chapter1": chapter_iris[1]}
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)
    for verb, target in sent:
        response = await post(client, learner, statement(learner, verb, targets[target]))
        assert response.status_code == 200, response.text
    assert await state(gql, enrollment_id, admin) == expected


async def test_cmi5_progress_extension_sets_progress(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    progressed = statement(
        learner, "progressed", course_iri, result={"extensions": {CMI5_PROGRESS: 40}}
    )
    await post(client, learner, progressed)
    assert await state(gql, enrollment_id, admin) == ("IN_PROGRESS", 40)


async def test_completing_the_course_completes_it_for_good_and_issues_a_certificate(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "completed", course_iri))
    data = await gql.data(HISTORY, {"id": enrollment_id}, token=admin.token)
    assert "completed" in [line["action"] for line in data["enrollment"]["history"]]
    assert len(data["enrollment"]["certificates"]) == 1
    await post(client, learner, statement(learner, "failed", course_iri))
    assert await state(gql, enrollment_id, admin) == ("COMPLETED", 100)


async def test_unknown_activities_and_other_course_types_are_stored_without_progress(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, _course, enrollment_id = await xapi_learner(world)
    self_paced = await world.course("Plain", course_type="self_paced")
    [plain_pk] = await world.assign(self_paced, [learner], by=admin)
    plain_iri, _ = await iris(gql, self_paced, admin)
    for object_id in (
        "https://example.com/some/other/activity",
        "urn:lms-graph:course:999999",
        "urn:lms-graph:chapter:999999",
        plain_iri,
    ):
        response = await post(client, learner, statement(learner, "completed", object_id))
        assert response.status_code == 200
    assert await rows(lms, xapi_statements) == 4
    assert await rows(lms, xapi_statements, xapi_statements.c.enrollment_id.is_not(None)) == 0
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)
    assert await state(gql, gid("Enrollment", plain_pk), admin) == ("NOT_STARTED", 0)


async def test_statements_of_a_learner_not_enrolled_are_stored_without_progress(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, _, course, _ = await xapi_learner(world)
    stranger = await world.user("Sam Stranger")
    course_iri, _ = await iris(gql, course, admin)
    assert (
        await post(client, stranger, statement(stranger, "launched", course_iri))
    ).status_code == 200
    assert await rows(lms, xapi_statements, xapi_statements.c.user_id == stranger.user.id) == 1


async def test_voiding_a_chapter_completion_takes_its_progress_back(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    _, chapter_iris = await iris(gql, course, admin)
    [done] = (await post(client, learner, statement(learner, "completed", chapter_iris[0]))).json()
    assert await state(gql, enrollment_id, admin) == ("IN_PROGRESS", 50)
    voiding = {
        "actor": {"mbox": f"mailto:{learner.user.email}"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": done},
    }
    other = await world.user("Olga Other")
    assert (
        await post(client, other, {**voiding, "actor": {"mbox": f"mailto:{other.user.email}"}})
    ).status_code == 403
    assert (await post(client, learner, voiding)).status_code == 200
    assert await state(gql, enrollment_id, admin) == ("STARTED", 0)


async def test_a_batch_costs_the_same_statements_for_2_or_6_learners(
    client: AsyncClient, world: World, gql: GraphQLClient, statements: Any
) -> None:
    admin = await world.admin()
    counts = []
    for size in (2, 6):
        course = await world.course(f"Batch {size}", course_type="xapi")
        learners = [await world.user(f"Learner {size}.{i}") for i in range(size)]
        await world.assign(course, learners, by=admin)
        course_iri, _ = await iris(gql, course, admin)
        body = [statement(learner, "launched", course_iri) for learner in learners]
        statements.reset()
        assert (await post(client, admin, body)).status_code == 200
        counts.append(statements.count)
        ours = [s for s in statements.statements if "xapi_statements" in s]
        # duplicates, the INSERT (returning the keys its links need), the status rule's read
        assert len(ours) == 3, ours
        links = [s for s in statements.statements if "xapi_statement_links" in s]
        assert len(links) == 1, links
    assert counts[0] == counts[1]


# --- View SCORM/xAPI Activity ----------------------------------------------------------------


async def test_activity_view_for_admins_newest_first_with_keyset_paging(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    course_iri, chapter_iris = await iris(gql, course, admin)
    sent = []
    for verb, target in (("launched", course_iri), ("experienced", chapter_iris[0])):
        sent += (await post(client, learner, statement(learner, verb, target))).json()
    commit = await client.post(
        f"/scorm/runtime/{enrollment_id}",
        json={"cmi.core.lesson_status": "incomplete", "cmi.core.session_time": "00:01:00"},
        headers={"Authorization": f"Bearer {learner.token}"},
    )
    assert commit.status_code == 200
    sent += (await post(client, learner, statement(learner, "completed", chapter_iris[1]))).json()
    data = await gql.data(ACTIVITY, {"id": enrollment_id, "first": 2}, token=admin.token)
    activity = data["enrollment"]["activity"]
    assert activity["totalCount"] == 4
    first = [edge["node"] for edge in activity["edges"]]
    assert [node["kind"] for node in first] == ["STATEMENT", "CMI"]
    assert first[0]["statementId"] == sent[2]
    assert first[0]["verb"] == ADL + "completed"
    assert first[0]["activityId"] == chapter_iris[1]
    assert first[0]["statement"]["id"] == sent[2]
    assert first[1]["data"]["cmi.core.lesson_status"] == "incomplete"
    assert activity["pageInfo"]["hasNextPage"] is True
    data = await gql.data(
        ACTIVITY,
        {"id": enrollment_id, "first": 2, "after": activity["pageInfo"]["endCursor"]},
        token=admin.token,
    )
    rest = data["enrollment"]["activity"]
    assert [edge["node"]["statementId"] for edge in rest["edges"]] == [sent[1], sent[0]]
    assert rest["pageInfo"]["hasNextPage"] is False
    bad = await gql.error(ACTIVITY, {"id": enrollment_id, "after": "garbage"}, token=admin.token)
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    too_many = await gql.error(ACTIVITY, {"id": enrollment_id, "first": 101}, token=admin.token)
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"


async def test_activity_view_is_refused_to_instructors_and_learners(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    instructor = await world.user("Ian Instructor")
    await world.instructor(course, instructor)
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    for viewer in (instructor, learner):
        error = await gql.error(ACTIVITY, {"id": enrollment_id}, token=viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_view_activity_menu_item_for_admins_in_started_in_progress_completed(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    instructor = await world.user("Ian Instructor")
    await world.instructor(course, instructor)
    course_iri, chapter_iris = await iris(gql, course, admin)

    async def menu(viewer: Any) -> tuple[str, list[str]]:
        data = await gql.data(MENU, {"id": enrollment_id}, token=viewer.token)
        keys = [action["key"] for action in data["enrollment"]["availableActions"]]
        return data["enrollment"]["state"], keys

    assert "view_activity" not in (await menu(admin))[1]  # NOT_STARTED
    for verb, target, expected in (
        ("launched", course_iri, "STARTED"),
        ("experienced", chapter_iris[0], "IN_PROGRESS"),
        ("completed", course_iri, "COMPLETED"),
    ):
        await post(client, learner, statement(learner, verb, target))
        current, keys = await menu(admin)
        assert current == expected
        assert "view_activity" in keys
        assert "view_activity" not in (await menu(instructor))[1]
    data = await gql.data(MENU, {"id": enrollment_id}, token=admin.token)
    [item] = [a for a in data["enrollment"]["availableActions"] if a["key"] == "view_activity"]
    assert item == {"key": "view_activity", "label": "View SCORM/xAPI Activity", "kind": "VIEW"}


async def test_self_paced_learners_never_see_view_activity(
    world: World, gql: GraphQLClient
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course("Plain")
    [pk] = await world.assign(course, [learner], by=admin)
    await gql.data(
        "mutation ($id: ID!) { startCourse(courseId: $id) { id } }",
        {"id": gid("Course", course.id)},
        token=learner.token,
    )
    data = await gql.data(MENU, {"id": gid("Enrollment", pk)}, token=admin.token)
    assert "view_activity" not in [a["key"] for a in data["enrollment"]["availableActions"]]


async def test_mass_actions_of_scorm_and_xapi_courses(world: World, gql: GraphQLClient) -> None:
    admin = await world.admin()
    for course_type in ("scorm", "xapi"):
        course = await world.course(course_type, course_type=course_type)
        data = await gql.data(MASS, {"id": gid("Course", course.id)}, token=admin.token)
        assert [a["key"] for a in data["course"]["massActions"]] == [
            "reset_progress",
            "mark_complete",
            "mark_incomplete",
            "remove",
            "update_due_date",
        ]


# --- lifecycle -------------------------------------------------------------------------------


async def test_reset_voids_the_attempts_statements_and_clears_cmi(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    _, chapter_iris = await iris(gql, course, admin)
    [done] = (await post(client, learner, statement(learner, "completed", chapter_iris[0]))).json()
    await client.post(
        f"/scorm/runtime/{enrollment_id}",
        json={"cmi.progress_measure": 0.7},
        headers={"Authorization": f"Bearer {learner.token}"},
    )
    assert await state(gql, enrollment_id, admin) == ("IN_PROGRESS", 70)
    outcome = one_outcome(await run(gql, admin, "reset_progress", [enrollment_id]))
    assert outcome["status"] == "OK"
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)
    data = await gql.data(ACTIVITY, {"id": enrollment_id}, token=admin.token)
    assert data["enrollment"]["activity"]["totalCount"] == 0
    # kept for audit, as voided
    assert await rows(lms, xapi_statements, xapi_statements.c.voided_at.is_not(None)) == 1
    assert await rows(lms, scorm_commits, scorm_commits.c.voided_at.is_not(None)) == 1
    voided = await client.get(
        "/xapi/statements", params={"voidedStatementId": done}, headers=auth(admin)
    )
    assert voided.status_code == 200
    # a new statement after the reset starts again from zero
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    assert await state(gql, enrollment_id, admin) == ("STARTED", 0)


async def test_reset_of_a_completed_learner_keeps_the_completed_attempts_record(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "completed", course_iri))
    assert (await state(gql, enrollment_id, admin))[0] == "COMPLETED"
    one_outcome(await run(gql, admin, "reset_progress", [enrollment_id]))
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)
    assert await rows(lms, xapi_statements, xapi_statements.c.voided_at.is_(None)) == 1
    data = await gql.data(ACTIVITY, {"id": enrollment_id}, token=admin.token)
    assert data["enrollment"]["activity"]["totalCount"] == 0  # the new attempt has none


async def test_remove_deletes_statements_and_cmi(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    other = await world.user("Olga Other")
    await world.assign(course, [other], by=admin)
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    await post(client, other, statement(other, "launched", course_iri))
    await client.post(
        f"/scorm/runtime/{enrollment_id}",
        json={"cmi.core.lesson_status": "incomplete"},
        headers={"Authorization": f"Bearer {learner.token}"},
    )
    outcome = one_outcome(await run(gql, admin, "remove", [enrollment_id]))
    assert outcome["status"] == "OK"
    assert await rows(lms, xapi_statements, xapi_statements.c.user_id == learner.user.id) == 0
    assert await rows(lms, scorm_commits) == 0
    assert await rows(lms, xapi_statements, xapi_statements.c.user_id == other.user.id) == 1


async def test_mark_complete_records_a_waived_statement(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    dry = one_outcome(await run(gql, admin, "mark_complete", [enrollment_id], dryRun=True))
    assert dry["status"] == "OK"
    assert await rows(lms, xapi_statements) == 1
    outcome = one_outcome(await run(gql, admin, "mark_complete", [enrollment_id]))
    assert outcome["status"] == "OK"
    assert await state(gql, enrollment_id, admin) == ("COMPLETED", 100)
    data = await gql.data(ACTIVITY, {"id": enrollment_id, "first": 1}, token=admin.token)
    [edge] = data["enrollment"]["activity"]["edges"]
    waived = edge["node"]["statement"]
    assert waived["verb"]["id"] == "https://w3id.org/xapi/adl/verbs/waived"
    assert waived["actor"]["mbox"] == f"mailto:{learner.user.email}"
    assert waived["object"]["id"] == course_iri
    assert waived["result"]["extensions"] == {
        "https://w3id.org/xapi/cmi5/result/extensions/reason": "Administrative"
    }
    assert waived["authority"]["mbox"] == f"mailto:{admin.user.email}"
    uuid.UUID(waived["id"])
    history = await gql.data(HISTORY, {"id": enrollment_id}, token=admin.token)
    assert "mark_complete" in [line["action"] for line in history["enrollment"]["history"]]


async def test_unassign_drops_the_attempts_statements_and_cmi(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world, course_type="scorm")
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    await client.post(
        f"/scorm/runtime/{enrollment_id}",
        json={"cmi.core.lesson_status": "incomplete"},
        headers={"Authorization": f"Bearer {learner.token}"},
    )
    assert one_outcome(await run(gql, admin, "unassign", [enrollment_id]))["status"] == "OK"
    assert await rows(lms, xapi_statements) == 0
    assert await rows(lms, scorm_commits) == 0


@pytest.mark.parametrize("course_type", ["scorm", "xapi"])
async def test_demo_seed_puts_learners_in_every_state(
    world: World, gql: GraphQLClient, lms: LMS, course_type: str
) -> None:
    admin = await world.admin()
    course = await world.course("Demo", course_type=course_type, chapters=0)
    learners = [await world.user(f"Demo {i}") for i in range(6)]
    ids = await world.assign(course, learners, by=admin)
    async with write(lms, Viewer(user=admin.user)) as tx:
        await seed(tx, course, ids)
    found = [await state(gql, gid("Enrollment", pk), admin) for pk in ids]
    assert found == [
        ("NOT_STARTED", 0),
        ("STARTED", 0),
        ("IN_PROGRESS", 35),
        ("IN_PROGRESS", 70),
        ("COMPLETED", 100),
        ("COMPLETED", 100),
    ]
    data = await gql.data(ACTIVITY, {"id": gid("Enrollment", ids[3])}, token=admin.token)
    kinds = [edge["node"]["kind"] for edge in data["enrollment"]["activity"]["edges"]]
    assert kinds.count("CMI") == (1 if course_type == "scorm" else 0)


async def test_chapters_completed_in_the_app_and_by_statements_add_up(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    _, chapter_iris = await iris(gql, course, admin)
    await start(gql, course, learner)
    await complete_chapter(gql, course, learner, enrollment_id, 0)
    assert await state(gql, enrollment_id, admin) == ("IN_PROGRESS", 50)
    await post(client, learner, statement(learner, "completed", chapter_iris[0]))
    assert await state(gql, enrollment_id, admin) == ("IN_PROGRESS", 50)  # the same chapter
    await post(client, learner, statement(learner, "passed", chapter_iris[1]))
    assert await state(gql, enrollment_id, admin) == ("COMPLETED", 100)
