"""Mass actions through ``runAction``: many learners, one transaction, an outcome each
(CONTRACT section 5, "Mass actions")."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, update

from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.ids import decode_id
from lms_graph.records import CourseRecord
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.plugins import veto

RUN = """
mutation ($input: RunActionInput!) {
  runAction(input: $input) {
    action dryRun succeeded skipped failed
    outcomes { enrollmentId status code message enrollment { id state progress dueDate } }
  }
}
"""
ENROLLMENT = """
query ($id: ID!) {
  enrollment(id: $id) {
    id state progress dueDate assignment completedAt
    attempt { number state progress completedAt }
    attempts { number state completedAt }
    history { action summary note actor { id } }
  }
}
"""
CHAPTERS = "query ($id: ID!) { course(id: $id) { chapters { id kind questions { id } } } }"
START = "mutation ($id: ID!) { startCourse(courseId: $id) { id state } }"
COMPLETE = """
mutation ($e: ID!, $c: ID!) { completeChapter(enrollmentId: $e, chapterId: $c) { state } }
"""
MY_LEARNING = "{ myLearning { edges { node { id state course { id } } } } }"
CREDITS = "{ viewer { credits } }"

TABLES = (
    m.Enrollment,
    m.Attempt,
    m.ChapterProgress,
    m.QuizAnswer,
    m.HistoryEntry,
    m.AuditEntry,
    m.Notification,
    m.CourseInstructor,
    m.ActionRunRecord,
)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def run_body(gql: GraphQLClient, actor: Actor, action: str, **input_: Any) -> dict[str, Any]:
    return await gql(RUN, {"input": {"action": action, **input_}}, token=actor.token)


async def run(gql: GraphQLClient, actor: Actor, action: str, **input_: Any) -> dict[str, Any]:
    data = await gql.data(RUN, {"input": {"action": action, **input_}}, token=actor.token)
    result: dict[str, Any] = data["runAction"]
    return result


async def run_error(gql: GraphQLClient, actor: Actor, action: str, **input_: Any) -> Any:
    return await gql.error(RUN, {"input": {"action": action, **input_}}, token=actor.token)


async def enrollment(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    return (await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token))["enrollment"]


async def row_counts(lms: LMS) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with lms.db.reader() as conn:
        for model in TABLES:
            table = model.__table__
            statement = select(func.count()).select_from(table)
            counts[model.__tablename__] = int((await conn.execute(statement)).scalar_one())
    return counts


async def chapter_ids(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> list[str]:
    data = await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=viewer.token)
    return [c["id"] for c in data["course"]["chapters"] if c["kind"] == "CONTENT"]


async def put_in_state(
    gql: GraphQLClient, course: CourseRecord, learner: Actor, enrollment_id: str, state: str
) -> None:
    """Drive a learner of a two-chapter self-paced course to ``state`` on their own."""
    if state == "NOT_STARTED":
        return
    await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)
    if state == "STARTED":
        return
    chapters = await chapter_ids(gql, course, learner)
    for chapter in chapters[: 1 if state == "IN_PROGRESS" else None]:
        await gql.data(COMPLETE, {"e": enrollment_id, "c": chapter}, token=learner.token)


async def cohort(
    gql: GraphQLClient,
    world: World,
    course: CourseRecord,
    admin: Actor,
    states: list[str],
    due: dt.date | None = None,
) -> list[tuple[Actor, str]]:
    """One learner per state, assigned together, each driven to their state."""
    learners = [await world.user(f"Learner {i} {state}") for i, state in enumerate(states)]
    pks = await world.assign(course, learners, by=admin, due=due)
    found = []
    for learner, pk, state in zip(learners, pks, states, strict=True):
        enrollment_id = gid("Enrollment", pk)
        await put_in_state(gql, course, learner, enrollment_id, state)
        found.append((learner, enrollment_id))
    return found


def statuses(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(o["enrollmentId"], o["status"], o["code"]) for o in result["outcomes"]]


# --- naming the learners ------------------------------------------------------------


async def test_by_enrollment_ids_some_skipped_with_a_reason(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    states = ["NOT_STARTED", "STARTED", "IN_PROGRESS", "COMPLETED", "NOT_STARTED"]
    learners = await cohort(gql, world, course, admin, states)
    ids = [eid for _, eid in learners]

    result = await run(gql, admin, "reset_progress", enrollmentIds=ids, note="New policy")
    assert result["action"] == "reset_progress"
    assert result["dryRun"] is False
    assert (result["succeeded"], result["skipped"], result["failed"]) == (3, 2, 0)
    assert statuses(result) == [
        (ids[0], "SKIPPED", "NOT_APPLICABLE"),
        (ids[1], "OK", None),
        (ids[2], "OK", None),
        (ids[3], "OK", None),
        (ids[4], "SKIPPED", "NOT_APPLICABLE"),
    ]
    for outcome in result["outcomes"]:
        if outcome["status"] == "SKIPPED":
            assert "Reset Progress" in outcome["message"]
            assert "not started" in outcome["message"]
        assert outcome["enrollment"]["state"] == "NOT_STARTED"

    for eid, state in zip(ids, states, strict=True):
        seen = await enrollment(gql, eid, admin)
        assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0)
        assert seen["attempt"]["number"] == (2 if state == "COMPLETED" else 1)
        last = seen["history"][-1]
        if state == "NOT_STARTED":
            # Skipped, so never changed: no history line either.
            assert last["action"] == "assigned"
        else:
            assert last == {
                "action": "reset_progress",
                "summary": "Progress reset.",
                "note": "New policy",
                "actor": {"id": admin.id},
            }


async def test_by_course_and_filter(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await world.course()
    other_course = await world.course("Other")
    due = today() + dt.timedelta(days=10)
    states = ["NOT_STARTED", "IN_PROGRESS", "NOT_STARTED", "COMPLETED"]
    learners = await cohort(gql, world, course, admin, states, due=due)
    ids = [eid for _, eid in learners]
    [(_, elsewhere)] = await cohort(gql, world, other_course, admin, ["STARTED"], due=due)
    # Three learners (one of them completed, so not overdue) and one elsewhere fall behind.
    past = today() - dt.timedelta(days=3)
    behind = [ids[0], ids[1], ids[3], elsewhere]
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(m.Enrollment)
            .where(m.Enrollment.id.in_([int(_pk(eid)) for eid in behind]))
            .values(due_date=past)
        )

    new_due = (today() + dt.timedelta(days=30)).isoformat()
    result = await run(
        gql,
        admin,
        "update_due_date",
        courseId=gid("Course", course.id),
        filter={"overdue": True},
        params={"dueDate": new_due},
        note="Extension granted",
    )
    assert sorted(statuses(result)) == sorted([(ids[0], "OK", None), (ids[1], "OK", None)])
    assert {o["enrollment"]["dueDate"] for o in result["outcomes"]} == {new_due}
    assert (await enrollment(gql, ids[2], admin))["dueDate"] == due.isoformat()
    assert (await enrollment(gql, ids[3], admin))["dueDate"] == past.isoformat()
    assert (await enrollment(gql, elsewhere, admin))["dueDate"] == past.isoformat()
    assert (await enrollment(gql, ids[0], admin))["history"][-1]["note"] == "Extension granted"

    # By state: every learner not started yet.
    result = await run(
        gql,
        admin,
        "mark_complete",
        courseId=gid("Course", course.id),
        filter={"states": ["NOT_STARTED"]},
    )
    assert sorted(statuses(result)) == sorted([(ids[0], "OK", None), (ids[2], "OK", None)])
    assert (await enrollment(gql, ids[1], admin))["state"] == "IN_PROGRESS"

    # No filter: every learner of the course; the completed ones are skipped.
    result = await run(gql, admin, "mark_complete", courseId=gid("Course", course.id))
    assert sorted(statuses(result)) == sorted(
        [
            (ids[0], "SKIPPED", "NOT_APPLICABLE"),
            (ids[1], "OK", None),
            (ids[2], "SKIPPED", "NOT_APPLICABLE"),
            (ids[3], "SKIPPED", "NOT_APPLICABLE"),
        ]
    )
    assert (await enrollment(gql, elsewhere, admin))["state"] == "STARTED"

    # A filter that matches nobody is refused with a sentence, nothing run.
    error = await run_error(
        gql, admin, "mark_complete", courseId=gid("Course", course.id), filter={"overdue": True}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def _pk(enrollment_id: str) -> int:
    return decode_id(enrollment_id, "Enrollment")


# --- dry run ------------------------------------------------------------------------


async def test_dry_run_returns_the_same_outcomes_and_writes_nothing(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await world.course()
    states = ["NOT_STARTED", "STARTED", "IN_PROGRESS", "COMPLETED"]
    learners = await cohort(gql, world, course, admin, states)
    ids = [eid for _, eid in learners]
    due = (today() + dt.timedelta(days=5)).isoformat()
    runs: list[tuple[str, dict[str, Any]]] = [
        ("reset_progress", {}),
        ("mark_complete", {}),
        ("mark_incomplete", {}),
        ("update_due_date", {"params": {"dueDate": due}}),
        ("make_instructor", {}),
        ("unassign", {}),
        ("remove", {"params": {"scope": "COURSE"}}),
    ]
    before = await row_counts(lms)
    seen_before = [await enrollment(gql, eid, admin) for eid in ids]
    dry_results = {}
    for action, extra in runs:
        dry = await run(gql, admin, action, enrollmentIds=ids, dryRun=True, note="n", **extra)
        assert dry["dryRun"] is True
        assert dry["action"] == action
        # The learners as they are: unchanged.
        assert [o["enrollment"]["state"] for o in dry["outcomes"]] == states
        dry_results[action] = dry
        assert await row_counts(lms) == before, action
        assert [await enrollment(gql, eid, admin) for eid in ids] == seen_before, action

    # The real runs (each on a fresh copy of the same cohort) give the same outcomes.
    for action, extra in runs:
        copy = await cohort(gql, world, course, admin, states)
        copy_ids = [eid for _, eid in copy]
        real = await run(gql, admin, action, enrollmentIds=copy_ids, note="n", **extra)
        dry = dry_results[action]
        assert real["dryRun"] is False
        assert [(o["status"], o["code"], o["message"]) for o in real["outcomes"]] == [
            (o["status"], o["code"], o["message"]) for o in dry["outcomes"]
        ], action
        assert (real["succeeded"], real["skipped"], real["failed"]) == (
            dry["succeeded"],
            dry["skipped"],
            dry["failed"],
        )


# --- idempotency --------------------------------------------------------------------


async def test_idempotency_key_replays_the_first_result(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    other_admin = await world.admin("Other admin")
    course = await world.course()
    learners = await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS", "COMPLETED"])
    ids = [eid for _, eid in learners]

    first = await run(gql, admin, "mark_complete", enrollmentIds=ids, idempotencyKey="run-1")
    assert statuses(first) == [
        (ids[0], "OK", None),
        (ids[1], "OK", None),
        (ids[2], "SKIPPED", "NOT_APPLICABLE"),
    ]
    counts = await row_counts(lms)

    # Sent again (a retry): the first answer, and nothing runs again.
    again = await run(gql, admin, "mark_complete", enrollmentIds=ids, idempotencyKey="run-1")
    assert again == first
    assert await row_counts(lms) == counts

    # The same key with different input is refused.
    for changed in (
        {"action": "reset_progress", "enrollmentIds": ids},
        {"action": "mark_complete", "enrollmentIds": ids[:2]},
        {"action": "mark_complete", "enrollmentIds": ids, "note": "different"},
        {"action": "mark_complete", "courseId": gid("Course", course.id)},
    ):
        body = await gql(RUN, {"input": {**changed, "idempotencyKey": "run-1"}}, token=admin.token)
        assert body["errors"][0]["extensions"]["code"] == "CONFLICT", changed
        assert body["data"] is None
    assert await row_counts(lms) == counts

    # Keys belong to their actor: another admin's "run-1" is a run of its own.
    theirs = await run(gql, other_admin, "mark_complete", enrollmentIds=ids, idempotencyKey="run-1")
    assert {o["code"] for o in theirs["outcomes"]} == {"NOT_APPLICABLE"}
    # A new key is a new run.
    fresh = await run(gql, admin, "mark_complete", enrollmentIds=ids, idempotencyKey="run-2")
    assert {o["code"] for o in fresh["outcomes"]} == {"NOT_APPLICABLE"}


async def test_a_dry_run_does_not_use_up_its_idempotency_key(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await world.course()
    [(_, eid)] = await cohort(gql, world, course, admin, ["STARTED"])
    counts = await row_counts(lms)
    dry = await run(
        gql, admin, "mark_complete", enrollmentIds=[eid], dryRun=True, idempotencyKey="k"
    )
    assert dry["succeeded"] == 1
    assert await row_counts(lms) == counts
    real = await run(gql, admin, "mark_complete", enrollmentIds=[eid], idempotencyKey="k")
    assert (real["dryRun"], real["succeeded"]) == (False, 1)
    assert (await enrollment(gql, eid, admin))["state"] == "COMPLETED"


# --- plugins: veto and atomicity ----------------------------------------------------


@pytest.fixture
async def veto_lms(lms: LMS, database_url: str) -> AsyncIterator[LMS]:
    """The test database (emptied by ``lms``), served with the veto plugin too."""
    service = LMS(make_settings(database_url), plugins=[veto])
    veto.clear()
    yield service
    veto.clear()
    await service.close()


@pytest.fixture
async def veto_gql(veto_lms: LMS) -> AsyncIterator[GraphQLClient]:
    app = create_app(lms=veto_lms)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)


async def test_a_plugin_veto_skips_that_learner_with_the_plugins_code(
    veto_gql: GraphQLClient, world: World
) -> None:
    gql = veto_gql
    admin = await world.admin()
    course = await world.course()
    learners = await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS", "NOT_STARTED"])
    ids = [eid for _, eid in learners]
    veto.vetoed.add(_pk(ids[1]))
    before = await enrollment(gql, ids[1], admin)

    result = await run(gql, admin, "reset_progress", enrollmentIds=ids)
    assert statuses(result) == [
        (ids[0], "OK", None),
        (ids[1], "SKIPPED", veto.CODE),
        (ids[2], "SKIPPED", "NOT_APPLICABLE"),
    ]
    assert result["outcomes"][1]["message"] == veto.REASON
    assert (result["succeeded"], result["skipped"], result["failed"]) == (1, 2, 0)
    assert await enrollment(gql, ids[1], admin) == before
    # The plugin was asked once, about the learners the action applies to only.
    assert veto.seen == [("reset_progress", [_pk(ids[0]), _pk(ids[1])], {})]

    # Any action, params included.
    due = (today() + dt.timedelta(days=3)).isoformat()
    result = await run(gql, admin, "update_due_date", enrollmentIds=ids, params={"dueDate": due})
    assert [o["code"] for o in result["outcomes"]] == [None, veto.CODE, None]
    assert veto.seen[-1][2] == {"dueDate": dt.date.fromisoformat(due)}


async def test_a_failing_hook_fails_the_whole_run_and_writes_nothing(
    veto_gql: GraphQLClient, world: World, veto_lms: LMS
) -> None:
    gql = veto_gql
    admin = await world.admin()
    course = await world.course()
    learners = await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS", "COMPLETED"])
    ids = [eid for _, eid in learners]
    counts = await row_counts(veto_lms)
    seen = [await enrollment(gql, eid, admin) for eid in ids]
    veto.fail_reset = True

    for dry_run in (False, True):
        body = await run_body(
            gql, admin, "reset_progress", enrollmentIds=ids, dryRun=dry_run, idempotencyKey="x"
        )
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "secret detail" not in error["message"]
        assert "archive" not in error["message"]
        assert body["data"] is None
        assert await row_counts(veto_lms) == counts
        assert [await enrollment(gql, eid, admin) for eid in ids] == seen

    # Once the plugin works again the same run (same key) goes through: nothing was claimed.
    veto.fail_reset = False
    result = await run(gql, admin, "reset_progress", enrollmentIds=ids, idempotencyKey="x")
    assert [o["status"] for o in result["outcomes"]] == ["OK", "OK", "OK"]


async def test_reset_hook_hears_of_each_learner_once_with_the_attempt_cleared(
    veto_gql: GraphQLClient, world: World, veto_lms: LMS
) -> None:
    gql = veto_gql
    admin = await world.admin()
    _, curriculum_id, members, _ = await _curriculum_learner(gql, world, admin)
    await run(gql, admin, "mark_complete", enrollmentIds=[curriculum_id])
    course = await world.course()
    [(_, open_id)] = await cohort(gql, world, course, admin, ["IN_PROGRESS"])

    # The curriculum and one of its courses named together: each is reset once.
    named = [curriculum_id, members["first"], open_id]
    result = await run(gql, admin, "reset_progress", enrollmentIds=named)
    assert [o["status"] for o in result["outcomes"]] == ["OK", "OK", "OK"]
    refs = {ref.enrollment_id: ref for ref in veto.resets}
    assert len(veto.resets) == len(refs) == 4
    async with veto_lms.db.reader() as conn:
        attempts = {
            (row.enrollment_id, row.number): row.id
            for row in await conn.execute(
                select(m.Attempt.enrollment_id, m.Attempt.number, m.Attempt.id)
            )
        }
    for eid in (curriculum_id, members["first"], members["second"]):
        seen = await enrollment(gql, eid, admin)
        assert [a["state"] for a in seen["attempts"]] == ["COMPLETED", "NOT_STARTED"], eid
        assert [h["action"] for h in seen["history"]].count("reset_progress") == 1, eid
        ref = refs[_pk(eid)]
        # The hook is told about the new attempt, number and ID alike.
        assert ref.attempt_number == 2
        assert ref.attempt_id == attempts[(_pk(eid), 2)]
    assert refs[_pk(open_id)].attempt_number == 1
    assert refs[_pk(open_id)].attempt_id == attempts[(_pk(open_id), 1)]


# --- the cap ------------------------------------------------------------------------


@pytest.fixture
async def capped_gql(lms: LMS, database_url: str) -> AsyncIterator[GraphQLClient]:
    service = LMS(make_settings(database_url, max_action_targets=2))
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)
    await service.close()


async def test_more_learners_than_the_cap_are_refused(
    capped_gql: GraphQLClient, world: World, lms: LMS
) -> None:
    gql = capped_gql
    admin = await world.admin()
    course = await world.course()
    learners = await cohort(gql, world, course, admin, ["STARTED", "STARTED", "STARTED"])
    ids = [eid for _, eid in learners]
    counts = await row_counts(lms)

    error = await run_error(gql, admin, "mark_complete", enrollmentIds=ids)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "2" in error["message"]
    error = await run_error(gql, admin, "mark_complete", courseId=gid("Course", course.id))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await row_counts(lms) == counts
    assert {(await enrollment(gql, eid, admin))["state"] for eid in ids} == {"STARTED"}

    # The same learner named twice counts once.
    result = await run(gql, admin, "mark_complete", enrollmentIds=[ids[0], ids[1], ids[0]])
    assert statuses(result) == [(ids[0], "OK", None), (ids[1], "OK", None)]


# --- curricula ----------------------------------------------------------------------


async def _curriculum_learner(
    gql: GraphQLClient, world: World, admin: Actor
) -> tuple[Actor, str, dict[str, str], list[CourseRecord]]:
    first = await world.course("First", chapters=1, credits=1.0)
    second = await world.course("Second", chapters=1, credits=2.0)
    curriculum = await world.curriculum("Path", [first, second])
    learner = await world.user("Lena")
    [pk] = await world.assign(curriculum, [learner], by=admin)
    mine = await gql.data(MY_LEARNING, token=learner.token)
    by_course = {e["node"]["course"]["id"]: e["node"]["id"] for e in mine["myLearning"]["edges"]}
    members = {
        "first": by_course[gid("Course", first.id)],
        "second": by_course[gid("Course", second.id)],
    }
    return learner, gid("Enrollment", pk), members, [first, second]


async def test_mark_complete_on_a_curriculum_completes_its_courses(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner, curriculum_id, members, [first, _] = await _curriculum_learner(gql, world, admin)
    # The learner finished the first course on their own already.
    [chapter] = await chapter_ids(gql, first, learner)
    await gql.data(COMPLETE, {"e": members["first"], "c": chapter}, token=learner.token)
    finished_first = await enrollment(gql, members["first"], admin)
    assert finished_first["state"] == "COMPLETED"
    assert (await enrollment(gql, curriculum_id, admin))["state"] == "IN_PROGRESS"

    result = await run(gql, admin, "mark_complete", enrollmentIds=[curriculum_id], note="RPL")
    assert statuses(result) == [(curriculum_id, "OK", None)]

    curriculum = await enrollment(gql, curriculum_id, admin)
    assert (curriculum["state"], curriculum["progress"]) == ("COMPLETED", 100)
    second = await enrollment(gql, members["second"], admin)
    assert (second["state"], second["progress"]) == ("COMPLETED", 100)
    assert second["completedAt"] is not None
    assert second["history"][-1]["action"] == "mark_complete"
    assert second["history"][-1]["note"] == "RPL"
    # A course completed before is left as it was.
    assert await enrollment(gql, members["first"], admin) == finished_first
    assert (await gql.data(CREDITS, token=learner.token))["viewer"]["credits"] == 3.0


async def test_reset_on_a_curriculum_resets_its_courses(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner, curriculum_id, members, [first, _] = await _curriculum_learner(gql, world, admin)
    [chapter] = await chapter_ids(gql, first, learner)
    await gql.data(COMPLETE, {"e": members["first"], "c": chapter}, token=learner.token)
    await run(gql, admin, "mark_complete", enrollmentIds=[curriculum_id])

    result = await run(gql, admin, "reset_progress", enrollmentIds=[curriculum_id])
    assert statuses(result) == [(curriculum_id, "OK", None)]
    for eid in (curriculum_id, members["first"], members["second"]):
        seen = await enrollment(gql, eid, admin)
        assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0), eid
        assert [a["state"] for a in seen["attempts"]] == ["COMPLETED", "NOT_STARTED"], eid
        assert seen["history"][-1]["action"] == "reset_progress", eid


async def test_marking_the_courses_of_a_curriculum_complete_completes_it(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner, curriculum_id, members, _ = await _curriculum_learner(gql, world, admin)

    await run(gql, admin, "mark_complete", enrollmentIds=[members["first"]])
    curriculum = await enrollment(gql, curriculum_id, admin)
    assert (curriculum["state"], curriculum["progress"]) == ("IN_PROGRESS", 50)

    await run(gql, admin, "mark_complete", enrollmentIds=[members["second"]])
    curriculum = await enrollment(gql, curriculum_id, admin)
    assert (curriculum["state"], curriculum["progress"]) == ("COMPLETED", 100)
    assert curriculum["completedAt"] is not None
    assert (await gql.data(CREDITS, token=learner.token))["viewer"]["credits"] == 3.0


# --- concurrency --------------------------------------------------------------------


@pytest.mark.parametrize("action", ["reset_progress", "mark_complete"])
async def test_concurrent_runs_on_the_same_learners_lose_no_update(
    gql: GraphQLClient, world: World, lms: LMS, action: str
) -> None:
    if lms.db.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: nothing runs concurrently")
    admin = await world.admin()
    course = await world.course()
    state = "COMPLETED" if action == "reset_progress" else "IN_PROGRESS"
    learners = await cohort(gql, world, course, admin, [state] * 12)
    ids = [eid for _, eid in learners]

    for round_ in range(3):
        if round_:
            # Back to the starting state for another round.
            undo = "mark_complete" if action == "reset_progress" else "reset_progress"
            await run(gql, admin, undo, enrollmentIds=ids)
        history_before = {eid: len((await enrollment(gql, eid, admin))["history"]) for eid in ids}
        attempts_before = {eid: len((await enrollment(gql, eid, admin))["attempts"]) for eid in ids}
        first, second = await asyncio.gather(
            run(gql, admin, action, enrollmentIds=ids),
            run(gql, admin, action, enrollmentIds=list(reversed(ids))),
        )
        one = {o["enrollmentId"]: o for o in first["outcomes"]}
        two = {o["enrollmentId"]: o for o in second["outcomes"]}
        for eid in ids:
            pair = [one[eid], two[eid]]
            oks = [o for o in pair if o["status"] == "OK"]
            assert len(oks) == 1, (round_, eid, pair)
            [other] = [o for o in pair if o["status"] != "OK"]
            assert other["status"] == "SKIPPED"
            assert other["code"] in {"STALE", "NOT_APPLICABLE"}, other
            seen = await enrollment(gql, eid, admin)
            # Exactly one run's work shows: one history line, one new attempt at most.
            assert len(seen["history"]) == history_before[eid] + 1
            assert seen["history"][-1]["action"] == action
            if action == "reset_progress":
                assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0)
                assert len(seen["attempts"]) == attempts_before[eid] + 1
                assert seen["attempt"]["number"] == len(seen["attempts"])
            else:
                assert (seen["state"], seen["progress"]) == ("COMPLETED", 100)
                assert len(seen["attempts"]) == attempts_before[eid]


async def test_the_same_idempotency_key_sent_twice_at_once_runs_once(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    if lms.db.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: nothing runs concurrently")
    admin = await world.admin()
    course = await world.course()
    learners = await cohort(gql, world, course, admin, ["IN_PROGRESS"] * 5)
    ids = [eid for _, eid in learners]
    request = {"input": {"action": "mark_complete", "enrollmentIds": ids, "idempotencyKey": "k"}}
    bodies = await asyncio.gather(
        gql(RUN, request, token=admin.token), gql(RUN, request, token=admin.token)
    )
    done = [body["data"]["runAction"] for body in bodies if not body.get("errors")]
    refused = [body["errors"][0] for body in bodies if body.get("errors")]
    assert done
    assert done[0]["succeeded"] == 5
    # The other one either replayed the first result or was told to send it again.
    assert all(result == done[0] for result in done)
    assert [error["extensions"]["code"] for error in refused] in ([], ["CONFLICT"])
    again = await run(gql, admin, "mark_complete", enrollmentIds=ids, idempotencyKey="k")
    assert again == done[0]
    for eid in ids:
        history = (await enrollment(gql, eid, admin))["history"]
        assert [h["action"] for h in history].count("mark_complete") == 1
