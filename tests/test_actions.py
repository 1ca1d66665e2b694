"""What each core learner action does, run through ``runAction`` (CONTRACT section 5),
and who may run it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, World, gid

RUN = """
mutation ($input: RunActionInput!) {
  runAction(input: $input) {
    action dryRun succeeded skipped failed
    outcomes { enrollmentId status code message enrollment { id state progress } }
  }
}
"""

ENROLLMENT = """
query ($id: ID!) {
  enrollment(id: $id) {
    id assignment dueDate assignedBy { id } state progress completedAt
    attempt { number state progress startedAt completedAt }
    attempts { number state progress startedAt completedAt }
    history { action summary note actor { id } }
  }
}
"""

CHAPTERS = "query ($id: ID!) { course(id: $id) { chapters { id kind questions { id } } } }"
START = "mutation ($id: ID!) { startCourse(courseId: $id) { id state } }"
COMPLETE = """
mutation ($e: ID!, $c: ID!) { completeChapter(enrollmentId: $e, chapterId: $c) { state } }
"""
ANSWER = """
mutation ($e: ID!, $q: ID!) { answerQuiz(enrollmentId: $e, questionId: $q, choice: 1) { state } }
"""
CREDITS = "{ viewer { credits } }"
NOTIFICATIONS = "{ viewer { notifications { id kind subject } } }"
MY_LEARNING = "{ myLearning { totalCount edges { node { id state progress } } } }"
LEARNERS = """
query ($id: ID!) {
  course(id: $id) { learners(first: 100) { totalCount edges { node { id user { id } } } } }
}
"""
ASSIGN = """
mutation ($course: ID!, $users: [ID!]!) {
  assignCourse(input: {courseId: $course, userIds: $users}) {
    enrollments { id state progress attempt { number } attempts { number } }
    skipped { reason }
  }
}
"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def run(
    gql: GraphQLClient, actor: Actor | None, action: str, ids: list[str], **extra: Any
) -> dict[str, Any]:
    data = await gql.data(
        RUN,
        {"input": {"action": action, "enrollmentIds": ids, **extra}},
        token=actor.token if actor else None,
    )
    result: dict[str, Any] = data["runAction"]
    return result


async def run_error(
    gql: GraphQLClient, actor: Actor | None, action: str, ids: list[str], **extra: Any
) -> dict[str, Any]:
    return await gql.error(
        RUN,
        {"input": {"action": action, "enrollmentIds": ids, **extra}},
        token=actor.token if actor else None,
    )


async def enrollment(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token)
    return data["enrollment"]


async def chapters(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> list[Any]:
    data = await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=viewer.token)
    found: list[Any] = data["course"]["chapters"]
    return found


async def start(gql: GraphQLClient, course: CourseRecord, learner: Actor) -> None:
    await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)


async def complete_chapter(
    gql: GraphQLClient, course: CourseRecord, learner: Actor, enrollment_id: str, index: int = 0
) -> None:
    content = [c for c in await chapters(gql, course, learner) if c["kind"] == "CONTENT"]
    await gql.data(COMPLETE, {"e": enrollment_id, "c": content[index]["id"]}, token=learner.token)


async def finish(
    gql: GraphQLClient, course: CourseRecord, learner: Actor, enrollment_id: str
) -> None:
    """The learner completes every chapter and answers every question."""
    for chapter in await chapters(gql, course, learner):
        if chapter["kind"] == "CONTENT":
            await gql.data(COMPLETE, {"e": enrollment_id, "c": chapter["id"]}, token=learner.token)
        for question in chapter["questions"]:
            await gql.data(ANSWER, {"e": enrollment_id, "q": question["id"]}, token=learner.token)


async def credits(gql: GraphQLClient, learner: Actor) -> float:
    data = await gql.data(CREDITS, token=learner.token)
    value: float = data["viewer"]["credits"]
    return value


async def count_rows(lms: LMS, table: Any, *where: Any) -> int:
    async with lms.db.reader() as conn:
        statement = select(func.count()).select_from(table)
        if where:
            statement = statement.where(*where)
        return int((await conn.execute(statement)).scalar_one())


async def progress_rows(lms: LMS, enrollment_pk: int) -> tuple[int, int]:
    """Chapter-progress and quiz-answer rows of every attempt of an enrollment."""
    attempts = select(m.Attempt.id).where(m.Attempt.enrollment_id == enrollment_pk)
    chapters_done = await count_rows(
        lms, m.ChapterProgress.__table__, m.ChapterProgress.attempt_id.in_(attempts)
    )
    answers = await count_rows(lms, m.QuizAnswer.__table__, m.QuizAnswer.attempt_id.in_(attempts))
    return chapters_done, answers


def one_outcome(result: dict[str, Any]) -> dict[str, Any]:
    [outcome] = result["outcomes"]
    assert isinstance(outcome, dict)
    return outcome


# --- update_due_date ----------------------------------------------------------------


async def test_update_due_date_makes_the_course_required(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Ada")
    other_admin = await world.admin("Bert")
    instructor = await world.user("Ines")
    course = await world.course()
    await world.instructor(course, instructor)
    self_enrolled = await world.user("Sam")
    await start(gql, course, self_enrolled)
    [sam_id] = [
        e["node"]["id"]
        for e in (await gql.data(MY_LEARNING, token=self_enrolled.token))["myLearning"]["edges"]
    ]
    assigned = await world.user("Ann")
    [ann_pk] = await world.assign(course, [assigned], by=other_admin)
    ann_id = gid("Enrollment", ann_pk)

    before = await enrollment(gql, sam_id, admin)
    assert (before["assignment"], before["dueDate"], before["assignedBy"]) == (
        "OPTIONAL",
        None,
        None,
    )
    due = (today() + dt.timedelta(days=30)).isoformat()
    result = await run(
        gql, instructor, "update_due_date", [sam_id, ann_id], params={"dueDate": due}
    )
    assert result["action"] == "update_due_date"
    assert (result["succeeded"], result["skipped"], result["failed"]) == (2, 0, 0)
    assert [o["enrollmentId"] for o in result["outcomes"]] == [sam_id, ann_id]
    assert {o["status"] for o in result["outcomes"]} == {"OK"}

    sam = await enrollment(gql, sam_id, admin)
    assert (sam["assignment"], sam["dueDate"]) == ("REQUIRED", due)
    # assignedBy was empty: the acting user fills it.
    assert sam["assignedBy"] == {"id": instructor.id}
    assert sam["state"] == "STARTED"
    ann = await enrollment(gql, ann_id, admin)
    assert (ann["assignment"], ann["dueDate"]) == ("REQUIRED", due)
    assert ann["assignedBy"] == {"id": other_admin.id}
    for seen in (sam, ann):
        assert seen["history"][-1]["action"] == "update_due_date"
        assert due in seen["history"][-1]["summary"]
        assert seen["history"][-1]["actor"] == {"id": instructor.id}

    # Neither creates a notification.
    for learner in (self_enrolled, assigned):
        data = await gql.data(NOTIFICATIONS, token=learner.token)
        assert data["viewer"]["notifications"] == []


async def test_update_due_date_to_null_makes_it_optional(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [pk] = await world.assign(course, [learner], by=admin, due=today() + dt.timedelta(days=7))
    enrollment_id = gid("Enrollment", pk)
    assert (await enrollment(gql, enrollment_id, admin))["assignment"] == "REQUIRED"

    result = await run(gql, admin, "update_due_date", [enrollment_id], params={"dueDate": None})
    assert one_outcome(result)["status"] == "OK"
    seen = await enrollment(gql, enrollment_id, admin)
    assert (seen["assignment"], seen["dueDate"]) == ("OPTIONAL", None)
    assert seen["assignedBy"] == {"id": admin.id}
    assert seen["history"][-1]["action"] == "update_due_date"
    data = await gql.data(NOTIFICATIONS, token=learner.token)
    assert data["viewer"]["notifications"] == []


async def test_update_due_date_without_the_param_changes_nothing(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    due = today() + dt.timedelta(days=7)
    [pk] = await world.assign(course, [learner], by=admin, due=due)
    error = await gql.error(
        "mutation($input: RunActionInput!) { runAction(input: $input) { succeeded } }",
        {"input": {"action": "update_due_date", "enrollmentIds": [gid("Enrollment", pk)]}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "dueDate" in error["message"]
    seen = await enrollment(gql, gid("Enrollment", pk), admin)
    assert (seen["assignment"], seen["dueDate"]) == ("REQUIRED", due.isoformat())


async def test_update_due_date_refuses_a_past_or_malformed_date(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    due = today() + dt.timedelta(days=7)
    [pk] = await world.assign(course, [learner], by=admin, due=due)
    enrollment_id = gid("Enrollment", pk)
    before = await enrollment(gql, enrollment_id, admin)

    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    for bad in (yesterday, "31/12/2030", "soon", 42):
        error = await run_error(
            gql, admin, "update_due_date", [enrollment_id], params={"dueDate": bad}
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", bad
        assert "dueDate" in error["message"]
    assert await enrollment(gql, enrollment_id, admin) == before

    # Today is not in the past.
    result = await run(
        gql, admin, "update_due_date", [enrollment_id], params={"dueDate": today().isoformat()}
    )
    assert one_outcome(result)["status"] == "OK"
    assert (await enrollment(gql, enrollment_id, admin))["dueDate"] == today().isoformat()


# --- reset_progress -----------------------------------------------------------------


async def test_reset_progress_of_a_learner_in_progress(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await complete_chapter(gql, course, learner, enrollment_id)
    quiz = next(c for c in await chapters(gql, course, learner) if c["kind"] == "QUIZ")
    await gql.data(
        ANSWER, {"e": enrollment_id, "q": quiz["questions"][0]["id"]}, token=learner.token
    )
    before = await enrollment(gql, enrollment_id, admin)
    assert before["state"] == "IN_PROGRESS"
    assert before["progress"] > 0
    assert await progress_rows(lms, pk) == (2, 1)

    result = await run(gql, admin, "reset_progress", [enrollment_id], note="Start over")
    outcome = one_outcome(result)
    assert outcome["status"] == "OK"
    assert outcome["enrollment"] == {"id": enrollment_id, "state": "NOT_STARTED", "progress": 0}

    after = await enrollment(gql, enrollment_id, admin)
    assert (after["state"], after["progress"], after["completedAt"]) == ("NOT_STARTED", 0, None)
    assert after["attempt"] == {
        "number": 1,
        "state": "NOT_STARTED",
        "progress": 0,
        "startedAt": None,
        "completedAt": None,
    }
    assert after["attempts"] == [after["attempt"]]
    # Chapter progress and quiz answers of the attempt are gone.
    assert await progress_rows(lms, pk) == (0, 0)
    assert after["history"][-1] == {
        "action": "reset_progress",
        "summary": "Progress reset.",
        "note": "Start over",
        "actor": {"id": admin.id},
    }

    # The learner starts over from nothing.
    await start(gql, course, learner)
    again = await enrollment(gql, enrollment_id, admin)
    assert (again["state"], again["progress"]) == ("STARTED", 0)


async def test_reset_progress_of_a_completed_learner_starts_a_new_attempt(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await finish(gql, course, learner, enrollment_id)
    done = await enrollment(gql, enrollment_id, admin)
    assert done["state"] == "COMPLETED"
    first_attempt = done["attempt"]
    assert first_attempt["completedAt"] is not None

    result = await run(gql, admin, "reset_progress", [enrollment_id])
    assert one_outcome(result)["status"] == "OK"

    after = await enrollment(gql, enrollment_id, admin)
    assert (after["state"], after["progress"], after["completedAt"]) == ("NOT_STARTED", 0, None)
    assert after["attempt"] == {
        "number": 2,
        "state": "NOT_STARTED",
        "progress": 0,
        "startedAt": None,
        "completedAt": None,
    }
    # The completed attempt stays on record, untouched, with its progress.
    assert after["attempts"] == [first_attempt, after["attempt"]]
    assert first_attempt["state"] == "COMPLETED"
    assert await progress_rows(lms, pk) == (3, 2)

    # The new attempt takes progress of its own.
    await complete_chapter(gql, course, learner, enrollment_id)
    again = await enrollment(gql, enrollment_id, admin)
    assert again["state"] == "IN_PROGRESS"
    assert [a["number"] for a in again["attempts"]] == [1, 2]
    assert again["attempts"][0] == first_attempt


async def test_reset_progress_of_a_learner_not_started_is_not_applicable(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    before = await enrollment(gql, enrollment_id, admin)
    result = await run(gql, admin, "reset_progress", [enrollment_id])
    assert (result["succeeded"], result["skipped"], result["failed"]) == (0, 1, 0)
    outcome = one_outcome(result)
    assert (outcome["status"], outcome["code"]) == ("SKIPPED", "NOT_APPLICABLE")
    assert "not started" in outcome["message"]
    assert await enrollment(gql, enrollment_id, admin) == before


# --- mark_complete / mark_incomplete ------------------------------------------------


async def test_mark_complete_completes_with_credits(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    started = await world.user("Stan")
    fresh = await world.user("Fred")
    course = await world.course(credits=2.5, quiz=True)
    [started_pk, fresh_pk] = await world.assign(course, [started, fresh], by=admin)
    started_id, fresh_id = gid("Enrollment", started_pk), gid("Enrollment", fresh_pk)
    await start(gql, course, started)
    assert await credits(gql, started) == 0.0

    result = await run(gql, admin, "mark_complete", [started_id, fresh_id])
    assert result["succeeded"] == 2
    for enrollment_id, learner in ((started_id, started), (fresh_id, fresh)):
        seen = await enrollment(gql, enrollment_id, admin)
        assert (seen["state"], seen["progress"]) == ("COMPLETED", 100)
        assert seen["completedAt"] is not None
        assert seen["attempt"]["completedAt"] == seen["completedAt"]
        assert seen["attempt"]["startedAt"] is not None
        assert seen["history"][-1]["action"] == "mark_complete"
        assert await credits(gql, learner) == 2.5
        # The learner's own view agrees.
        mine = await gql.data(MY_LEARNING, token=learner.token)
        assert mine["myLearning"]["edges"][0]["node"]["state"] == "COMPLETED"

    again = await run(gql, admin, "mark_complete", [started_id])
    assert one_outcome(again)["code"] == "NOT_APPLICABLE"
    assert await credits(gql, started) == 2.5


async def test_mark_incomplete_takes_the_completion_back(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user()
    other = await world.user()
    course = await world.course(credits=2.0)
    [pk, other_pk] = await world.assign(course, [learner, other], by=admin)
    enrollment_id, other_id = gid("Enrollment", pk), gid("Enrollment", other_pk)
    await finish(gql, course, learner, enrollment_id)
    assert await credits(gql, learner) == 2.0

    result = await run(gql, admin, "mark_incomplete", [enrollment_id, other_id])
    [mine, theirs] = result["outcomes"]
    assert mine["status"] == "OK"
    assert (theirs["status"], theirs["code"]) == ("SKIPPED", "NOT_APPLICABLE")
    seen = await enrollment(gql, enrollment_id, admin)
    # The chapter completed last is reopened: half of two chapters done, in progress.
    assert (seen["state"], seen["progress"]) == ("IN_PROGRESS", 50)
    assert seen["completedAt"] is None
    assert seen["attempt"]["completedAt"] is None
    assert [a["number"] for a in seen["attempts"]] == [1]
    assert seen["history"][-1]["action"] == "mark_incomplete"
    assert await credits(gql, learner) == 0.0
    insights = "query ($id: ID!) { enrollment(id: $id) { chapterInsights { status } } }"
    data = await gql.data(insights, {"id": enrollment_id}, admin.token)
    assert [c["status"] for c in data["enrollment"]["chapterInsights"]] == [
        "COMPLETED",
        "STARTED",
    ]
    # Finishing that chapter again completes the course again, with its credits.
    await finish(gql, course, learner, enrollment_id)
    assert (await enrollment(gql, enrollment_id, admin))["state"] == "COMPLETED"
    assert await credits(gql, learner) == 2.0


async def test_mark_incomplete_after_mark_complete(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course(credits=1.5)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await run(gql, admin, "mark_complete", [enrollment_id])
    assert await credits(gql, learner) == 1.5
    await run(gql, admin, "mark_incomplete", [enrollment_id])
    seen = await enrollment(gql, enrollment_id, admin)
    assert seen["state"] != "COMPLETED"
    assert seen["completedAt"] is None
    assert await credits(gql, learner) == 0.0
    # Back in the menu's "not completed" column: it can be completed again.
    again = await run(gql, admin, "mark_complete", [enrollment_id])
    assert one_outcome(again)["status"] == "OK"
    assert await credits(gql, learner) == 1.5


# --- make_instructor ----------------------------------------------------------------


async def test_make_instructor_grants_rights_on_that_course(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course("Taught")
    other_course = await world.course("Elsewhere")
    [pk] = await world.assign(course, [learner], by=admin)
    await world.assign(other_course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    course_id = gid("Course", course.id)

    error = await gql.error(LEARNERS, {"id": course_id}, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"

    result = await run(gql, admin, "make_instructor", [enrollment_id])
    assert one_outcome(result)["status"] == "OK"

    data = await gql.data(LEARNERS, {"id": course_id}, token=learner.token)
    assert data["course"]["learners"]["totalCount"] == 1
    instructors = await gql.data(
        "query ($id: ID!) { course(id: $id) { instructors { id } } }",
        {"id": course_id},
        token=admin.token,
    )
    assert instructors["course"]["instructors"] == [{"id": learner.id}]
    # Rights on this course only.
    error = await gql.error(LEARNERS, {"id": gid("Course", other_course.id)}, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    # The learner is still a learner of the course; granting again is not applicable.
    again = await run(gql, admin, "make_instructor", [enrollment_id])
    assert (one_outcome(again)["status"], one_outcome(again)["code"]) == (
        "SKIPPED",
        "NOT_APPLICABLE",
    )
    assert one_outcome(again)["message"] == "This learner is an instructor of this course already."
    seen = await enrollment(gql, enrollment_id, admin)
    assert [h["action"] for h in seen["history"]][-1:] == ["make_instructor"]
    assert seen["history"][-1]["summary"] == "Made an instructor of this course."


INSTRUCTORS = "query ($id: ID!) { course(id: $id) { instructors { id } } }"
MENU_KEYS = "query ($id: ID!) { enrollment(id: $id) { availableActions { key label } } }"


async def menu_keys(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> list[str]:
    data = await gql.data(MENU_KEYS, {"id": enrollment_id}, token=viewer.token)
    return [action["key"] for action in data["enrollment"]["availableActions"]]


async def test_remove_instructor_takes_the_rights_back(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines")  # teaches the course without being a learner
    learner = await world.user("Lena")
    course = await world.course("Taught")
    await world.instructor(course, instructor)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    course_id = gid("Course", course.id)

    # Not an instructor yet: Remove Instructor Rights is neither offered nor run.
    assert "remove_instructor" not in await menu_keys(gql, enrollment_id, admin)
    outcome = one_outcome(await run(gql, admin, "remove_instructor", [enrollment_id]))
    assert (outcome["status"], outcome["code"]) == ("SKIPPED", "NOT_APPLICABLE")
    assert outcome["message"] == "This learner is not an instructor of this course."

    assert (
        one_outcome(await run(gql, instructor, "make_instructor", [enrollment_id]))["status"]
        == "OK"
    )
    keys = await menu_keys(gql, enrollment_id, admin)
    assert "make_instructor" not in keys
    assert keys.index("remove_instructor") == keys.index("view_history") + 3  # same place
    data = await gql.data(INSTRUCTORS, {"id": course_id}, token=admin.token)
    assert sorted(i["id"] for i in data["course"]["instructors"]) == sorted(
        [instructor.id, learner.id]
    )
    notifications = (await gql.data(NOTIFICATIONS, token=learner.token))["viewer"]["notifications"]

    result = await run(gql, admin, "remove_instructor", [enrollment_id], note="Left the team")
    assert one_outcome(result)["status"] == "OK"
    data = await gql.data(INSTRUCTORS, {"id": course_id}, token=admin.token)
    assert data["course"]["instructors"] == [{"id": instructor.id}]
    error = await gql.error(LEARNERS, {"id": course_id}, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    seen = await enrollment(gql, enrollment_id, admin)
    assert seen["history"][-1] == {
        "action": "remove_instructor",
        "summary": "Instructor rights on this course removed.",
        "note": "Left the team",
        "actor": {"id": admin.id},
    }
    # The learner stays enrolled, is told nothing, and is offered Make Instructor again.
    assert seen["state"] == "NOT_STARTED"
    after = (await gql.data(NOTIFICATIONS, token=learner.token))["viewer"]["notifications"]
    assert after == notifications
    keys = await menu_keys(gql, enrollment_id, admin)
    assert "make_instructor" in keys
    assert "remove_instructor" not in keys
    again = one_outcome(await run(gql, admin, "remove_instructor", [enrollment_id]))
    assert (again["status"], again["code"]) == ("SKIPPED", "NOT_APPLICABLE")


async def test_mass_runs_of_make_and_remove_instructor_skip_those_already_there(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learners = [await world.user(f"Learner {i}") for i in range(4)]
    course = await world.course("Taught")
    ids = [gid("Enrollment", pk) for pk in await world.assign(course, learners, by=admin)]
    await world.instructor(course, learners[0])

    made = await run(gql, admin, "make_instructor", ids, dryRun=True)
    assert [o["status"] for o in made["outcomes"]] == ["SKIPPED", "OK", "OK", "OK"]
    assert made["dryRun"] is True
    data = await gql.data(INSTRUCTORS, {"id": gid("Course", course.id)}, token=admin.token)
    assert data["course"]["instructors"] == [{"id": learners[0].id}]

    made = await run(gql, admin, "make_instructor", ids)
    assert [(o["status"], o["code"]) for o in made["outcomes"]] == [
        ("SKIPPED", "NOT_APPLICABLE"),
        ("OK", None),
        ("OK", None),
        ("OK", None),
    ]
    removed = await run(gql, admin, "remove_instructor", ids[:2])
    assert (removed["succeeded"], removed["skipped"]) == (2, 0)
    removed = await run(gql, admin, "remove_instructor", ids)
    assert [(o["status"], o["code"]) for o in removed["outcomes"]] == [
        ("SKIPPED", "NOT_APPLICABLE"),
        ("SKIPPED", "NOT_APPLICABLE"),
        ("OK", None),
        ("OK", None),
    ]
    data = await gql.data(INSTRUCTORS, {"id": gid("Course", course.id)}, token=admin.token)
    assert data["course"]["instructors"] == []
    for eid in ids:
        history = [h["action"] for h in (await enrollment(gql, eid, admin))["history"]]
        assert history.count("remove_instructor") == 1
        assert history.count("make_instructor") == (0 if eid == ids[0] else 1)


# --- unassign -----------------------------------------------------------------------


async def test_unassign_drops_the_attempt_and_the_learner_leaves_every_list(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    stays = await world.user()
    course = await world.course()
    [pk, _] = await world.assign(course, [learner, stays], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await complete_chapter(gql, course, learner, enrollment_id)
    assert (await gql.data(MY_LEARNING, token=learner.token))["myLearning"]["totalCount"] == 1

    result = await run(gql, admin, "unassign", [enrollment_id])
    outcome = one_outcome(result)
    assert outcome["status"] == "OK"
    assert outcome["enrollment"] is None

    assert await enrollment(gql, enrollment_id, admin) is None
    mine = await gql.data(MY_LEARNING, token=learner.token)
    assert mine["myLearning"] == {"totalCount": 0, "edges": []}
    data = await gql.data(LEARNERS, {"id": gid("Course", course.id)}, token=admin.token)
    assert [e["node"]["user"]["id"] for e in data["course"]["learners"]["edges"]] == [stays.id]
    assert await progress_rows(lms, pk) == (0, 0)
    assert await count_rows(lms, m.Attempt.__table__, m.Attempt.enrollment_id == pk) == 0

    # Unassigned learners are not acted on again.
    gone = await run(gql, admin, "unassign", [enrollment_id])
    assert (one_outcome(gone)["status"], one_outcome(gone)["code"]) == ("FAILED", "NOT_FOUND")

    # Assigning again works and starts fresh.
    data = await gql.data(
        ASSIGN, {"course": gid("Course", course.id), "users": [learner.id]}, token=admin.token
    )
    assert data["assignCourse"]["skipped"] == []
    [again] = data["assignCourse"]["enrollments"]
    assert (again["state"], again["progress"]) == ("NOT_STARTED", 0)
    assert again["attempts"] == [{"number": again["attempt"]["number"]}]
    assert (await gql.data(MY_LEARNING, token=learner.token))["myLearning"]["totalCount"] == 1
    await start(gql, course, learner)
    seen = await enrollment(gql, again["id"], admin)
    assert (seen["state"], seen["progress"]) == ("STARTED", 0)


async def test_unassign_a_completed_learner_is_not_applicable(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await finish(gql, course, learner, enrollment_id)
    result = await run(gql, admin, "unassign", [enrollment_id])
    assert one_outcome(result)["code"] == "NOT_APPLICABLE"
    assert (await enrollment(gql, enrollment_id, admin))["state"] == "COMPLETED"


# --- remove -------------------------------------------------------------------------


async def test_remove_deletes_everything_but_the_audit_entry(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await finish(gql, course, learner, enrollment_id)
    await run(gql, admin, "reset_progress", [enrollment_id])
    assert await count_rows(lms, m.HistoryEntry.__table__, m.HistoryEntry.enrollment_id == pk) > 0
    before = dt.datetime.now(dt.UTC)

    result = await run(
        gql, admin, "remove", [enrollment_id], params={"scope": "COURSE"}, note="GDPR request"
    )
    outcome = one_outcome(result)
    assert outcome["status"] == "OK"
    assert outcome["enrollment"] is None
    assert outcome["message"]

    assert await enrollment(gql, enrollment_id, admin) is None
    assert (await gql.data(MY_LEARNING, token=learner.token))["myLearning"]["totalCount"] == 0
    assert await count_rows(lms, m.Enrollment.__table__, m.Enrollment.id == pk) == 0
    assert await count_rows(lms, m.Attempt.__table__, m.Attempt.enrollment_id == pk) == 0
    assert await count_rows(lms, m.HistoryEntry.__table__, m.HistoryEntry.enrollment_id == pk) == 0
    assert await count_rows(lms, m.ChapterProgress.__table__) == 0
    assert await count_rows(lms, m.QuizAnswer.__table__) == 0

    async with lms.db.reader() as conn:
        rows = (await conn.execute(select(m.AuditEntry.__table__))).mappings().all()
    [audit] = rows
    assert audit["action"] == "remove"
    assert audit["actor_id"] == admin.user.id
    assert audit["subject_user_id"] == learner.user.id
    assert audit["course_id"] == course.id
    assert audit["at"] >= before - dt.timedelta(seconds=5)
    assert audit["details"]["enrollment_id"] == pk
    assert audit["details"]["note"] == "GDPR request"

    # Removed for good: acting again finds nobody; assigning again starts a new enrollment.
    gone = await run(gql, admin, "remove", [enrollment_id])
    assert one_outcome(gone)["code"] == "NOT_FOUND"
    [new_pk] = await world.assign(course, [learner], by=admin)
    fresh = await enrollment(gql, gid("Enrollment", new_pk), admin)
    assert [a["number"] for a in fresh["attempts"]] == [1]
    assert [h["action"] for h in fresh["history"]] == ["assigned"]


async def test_remove_takes_only_the_course_scope_in_a_self_paced_course(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    error = await run_error(gql, admin, "remove", [enrollment_id], params={"scope": "EVERYTHING"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # The session scopes exist (ILT) but fit no self-paced learner: skipped, nothing removed.
    for scope in ("SESSION", "BOTH"):
        result = await run(gql, admin, "remove", [enrollment_id], params={"scope": scope})
        outcome = one_outcome(result)
        assert (outcome["status"], outcome["code"]) == ("SKIPPED", "NOT_APPLICABLE")
        assert "instructor-led courses only" in outcome["message"]
    assert await enrollment(gql, enrollment_id, admin) is not None
    # No scope at all means the course.
    result = await run(gql, admin, "remove", [enrollment_id])
    assert one_outcome(result)["status"] == "OK"


# --- history ------------------------------------------------------------------------


async def test_every_mutation_writes_one_history_entry_per_learner_with_the_note(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learners = [await world.user() for _ in range(3)]
    course = await world.course()
    pks = await world.assign(course, learners, by=admin)
    ids = [gid("Enrollment", pk) for pk in pks]
    before = {eid: len((await enrollment(gql, eid, admin))["history"]) for eid in ids}

    await run(gql, admin, "mark_complete", ids, note="  Attended the live workshop  ")
    await run(gql, admin, "reset_progress", ids[:2])
    for eid in ids:
        history = (await enrollment(gql, eid, admin))["history"][before[eid] :]
        expected: list[dict[str, Any]] = [
            {
                "action": "mark_complete",
                "summary": "Marked as complete.",
                "note": "Attended the live workshop",
                "actor": {"id": admin.id},
            }
        ]
        if eid in ids[:2]:
            expected.append(
                {
                    "action": "reset_progress",
                    "summary": "Progress reset.",
                    "note": None,
                    "actor": {"id": admin.id},
                }
            )
        assert history == expected


# --- refusals -----------------------------------------------------------------------


async def test_view_unknown_action_and_bad_params_are_bad_input(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    ids = [gid("Enrollment", pk)]
    before = await enrollment(gql, ids[0], admin)

    for view in ("view_history", "view_chapter_insights", "view_quiz_insights", "view_activity"):
        error = await run_error(gql, admin, view, ids)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", view
    error = await run_error(gql, admin, "teleport", ids)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "teleport" in error["message"]
    # Another course type's actions exist, and fit no self-paced learner.
    outcome = one_outcome(await run(gql, admin, "mark_no_show", ids))
    assert (outcome["status"], outcome["code"]) == ("SKIPPED", "NOT_APPLICABLE")
    error = await run_error(gql, admin, "change_session", ids)
    assert error["message"] == "change_session needs `sessionId` (Session)."
    error = await run_error(gql, admin, "mark_complete", ids, params={"dueDate": "2099-01-01"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "dueDate" in error["message"]
    error = await run_error(gql, admin, "update_due_date", ids, params={"due_date": "2099-01-01"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await run_error(gql, admin, "update_due_date", ids, params=["2099-01-01"])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await run_error(gql, admin, "remove", ids, params={"scope": 1})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await enrollment(gql, ids[0], admin) == before


async def test_naming_the_learners_wrongly_is_bad_input(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [pk] = await world.assign(course, [learner], by=admin)
    course_id = gid("Course", course.id)

    error = await run_error(gql, admin, "mark_complete", [])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await run_error(gql, admin, "mark_complete", [course_id])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await run_error(
        gql, admin, "mark_complete", [gid("Enrollment", pk)], courseId=course_id
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(RUN, {"input": {"action": "mark_complete"}}, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"

    # An unknown enrollment fails alone; the others run.
    result = await run(
        gql, admin, "mark_complete", [gid("Enrollment", 999_999), gid("Enrollment", pk)]
    )
    [missing, found] = result["outcomes"]
    assert (missing["status"], missing["code"]) == ("FAILED", "NOT_FOUND")
    assert missing["enrollment"] is None
    assert found["status"] == "OK"
    assert (result["succeeded"], result["skipped"], result["failed"]) == (1, 0, 1)


async def test_who_may_run_actions(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines")
    stranger = await world.user("Otto")  # instructs another course
    learner = await world.user("Lena")
    course = await world.course("Mine")
    other_course = await world.course("Theirs")
    await world.instructor(course, instructor)
    await world.instructor(other_course, stranger)
    [pk] = await world.assign(course, [learner], by=admin)
    [other_pk] = await world.assign(other_course, [learner], by=admin)
    ids = [gid("Enrollment", pk)]
    await start(gql, course, learner)
    before = await enrollment(gql, ids[0], admin)
    history_rows = await count_rows(lms, m.HistoryEntry.__table__)

    refusals = [
        (stranger, ids, "FORBIDDEN"),
        (learner, ids, "FORBIDDEN"),
        (None, ids, "UNAUTHENTICATED"),
        # One learner outside the instructor's courses refuses the whole run.
        (instructor, [*ids, gid("Enrollment", other_pk)], "FORBIDDEN"),
    ]
    for actor, targets, code in refusals:
        for action in ("mark_complete", "reset_progress", "remove", "make_instructor"):
            error = await run_error(gql, actor, action, targets)
            assert error["extensions"]["code"] == code, (actor, action)
        if targets == ids:
            # Naming the learners by course is refused the same way.
            error = await gql.error(
                RUN,
                {"input": {"action": "mark_complete", "courseId": gid("Course", course.id)}},
                token=actor.token if actor else None,
            )
            assert error["extensions"]["code"] == code, actor
    assert await enrollment(gql, ids[0], admin) == before
    assert await count_rows(lms, m.HistoryEntry.__table__) == history_rows
    assert await count_rows(lms, m.CourseInstructor.__table__) == 2

    result = await run(gql, instructor, "mark_complete", ids)
    assert one_outcome(result)["status"] == "OK"
    assert (await enrollment(gql, ids[0], admin))["history"][-1]["actor"] == {"id": instructor.id}


async def test_a_course_the_viewer_does_not_manage_is_forbidden_even_when_empty(
    gql: GraphQLClient, world: World
) -> None:
    await world.admin()
    learner = await world.user()
    empty = await world.course("Nobody here")
    error = await gql.error(
        RUN,
        {"input": {"action": "mark_complete", "courseId": gid("Course", empty.id)}},
        token=learner.token,
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_a_removed_learners_id_is_never_given_out_again(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    [first] = await world.assign(course, [learner], by=admin)
    await run(gql, admin, "remove", [gid("Enrollment", first)])
    [again] = await world.assign(course, [learner], by=admin)
    assert again > first
    assert await enrollment(gql, gid("Enrollment", first), admin) is None
