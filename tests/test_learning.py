"""The learner's side: starting courses, completing chapters, answering quizzes."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select

from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, World, gid

ENROLLMENT_FIELDS = """
  id assignment dueDate message state progress completedAt
  user { id } course { id } assignedBy { id }
  attempt { number state progress startedAt completedAt }
"""

START = f"mutation ($id: ID!) {{ startCourse(courseId: $id) {{ {ENROLLMENT_FIELDS} }} }}"

COMPLETE = f"""
mutation ($e: ID!, $c: ID!) {{
  completeChapter(enrollmentId: $e, chapterId: $c) {{ {ENROLLMENT_FIELDS} }}
}}
"""

ANSWER = f"""
mutation ($e: ID!, $q: ID!, $choice: Int!) {{
  answerQuiz(enrollmentId: $e, questionId: $q, choice: $choice) {{ {ENROLLMENT_FIELDS} }}
}}
"""

ENROLLMENT = f"""
query ($id: ID!) {{
  enrollment(id: $id) {{
    {ENROLLMENT_FIELDS}
    attempts {{ number state progress startedAt completedAt }}
    history {{ at action summary actor {{ id name }} }}
  }}
}}
"""

CHAPTERS = """
query ($id: ID!) { course(id: $id) { chapters { id kind questions { id } } } }
"""


async def _chapters(gql: GraphQLClient, course: CourseRecord, actor: Actor) -> list[Any]:
    data = await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=actor.token)
    chapters: list[Any] = data["course"]["chapters"]
    return chapters


async def _enrollment(gql: GraphQLClient, enrollment_id: str, actor: Actor) -> dict[str, Any]:
    data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=actor.token)
    enrollment: dict[str, Any] = data["enrollment"]
    return enrollment


async def _complete(
    gql: GraphQLClient, actor: Actor, enrollment_id: str, chapter_id: str
) -> dict[str, Any]:
    data = await gql.data(COMPLETE, {"e": enrollment_id, "c": chapter_id}, token=actor.token)
    enrollment: dict[str, Any] = data["completeChapter"]
    return enrollment


async def _answer(
    gql: GraphQLClient, actor: Actor, enrollment_id: str, question_id: str, choice: int
) -> dict[str, Any]:
    data = await gql.data(
        ANSWER, {"e": enrollment_id, "q": question_id, "choice": choice}, token=actor.token
    )
    enrollment: dict[str, Any] = data["answerQuiz"]
    return enrollment


async def _credits(gql: GraphQLClient, actor: Actor) -> float:
    data = await gql.data("{ viewer { credits } }", token=actor.token)
    credits: float = data["viewer"]["credits"]
    return credits


async def test_start_course_self_enrolls_as_optional(gql: GraphQLClient, world: World) -> None:
    learner = await world.user("Lena")
    course = await world.course("Open course")
    before = dt.datetime.now(dt.UTC)
    data = await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)
    enrollment = data["startCourse"]
    assert enrollment["user"] == {"id": learner.id}
    assert enrollment["course"] == {"id": gid("Course", course.id)}
    assert enrollment["assignment"] == "OPTIONAL"
    assert enrollment["assignedBy"] is None
    assert enrollment["dueDate"] is None
    assert enrollment["state"] == "STARTED"
    assert enrollment["progress"] == 0
    assert enrollment["completedAt"] is None
    assert enrollment["attempt"]["number"] == 1
    assert enrollment["attempt"]["state"] == "STARTED"
    started_at = dt.datetime.fromisoformat(enrollment["attempt"]["startedAt"])
    assert started_at >= before - dt.timedelta(seconds=1)

    my = await gql.data(
        "{ myLearning { totalCount edges { node { id state } } } }", token=learner.token
    )
    assert my["myLearning"]["totalCount"] == 1
    assert my["myLearning"]["edges"][0]["node"] == {"id": enrollment["id"], "state": "STARTED"}

    # Starting again changes nothing: the same enrollment, one "started" line.
    again = await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)
    assert again["startCourse"]["id"] == enrollment["id"]
    assert again["startCourse"]["attempt"]["startedAt"] == enrollment["attempt"]["startedAt"]
    history = (await _enrollment(gql, enrollment["id"], learner))["history"]
    assert [line["action"] for line in history] == ["assigned", "started"]
    assert all(line["actor"] == {"id": learner.id, "name": "Lena"} for line in history)


async def test_start_assigned_course_keeps_the_assignment(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Ada")
    learner = await world.user("Lena")
    course = await world.course()
    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)
    [pk] = await world.assign(course, [learner], by=admin, due=due, message="Go")

    data = await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)
    enrollment = data["startCourse"]
    assert enrollment["id"] == gid("Enrollment", pk)
    assert enrollment["assignment"] == "REQUIRED"
    assert enrollment["assignedBy"] == {"id": admin.id}
    assert enrollment["dueDate"] == due.isoformat()
    assert enrollment["message"] == "Go"
    assert enrollment["state"] == "STARTED"


async def test_start_unknown_course_is_not_found(gql: GraphQLClient, world: World) -> None:
    learner = await world.user("Lena")
    error = await gql.error(START, {"id": gid("Course", 999_999)}, token=learner.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    my = await gql.data("{ myLearning { totalCount } }", token=learner.token)
    assert my["myLearning"]["totalCount"] == 0


async def test_completing_chapters_completes_the_course(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Ada")
    learner = await world.user("Lena")
    course = await world.course("Two chapters", chapters=2, credits=2.5)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    first, second = await _chapters(gql, course, learner)
    assert await _credits(gql, learner) == 0.0

    # Completing a chapter without starting first starts the course too.
    after_first = await _complete(gql, learner, enrollment_id, first["id"])
    assert after_first["state"] == "IN_PROGRESS"
    assert after_first["progress"] == 50
    assert after_first["completedAt"] is None
    assert after_first["attempt"]["startedAt"] is not None
    assert await _credits(gql, learner) == 0.0

    # Completing the same chapter twice counts once.
    again = await _complete(gql, learner, enrollment_id, first["id"])
    assert (again["state"], again["progress"]) == ("IN_PROGRESS", 50)

    done = await _complete(gql, learner, enrollment_id, second["id"])
    assert done["state"] == "COMPLETED"
    assert done["progress"] == 100
    completed_at = dt.datetime.fromisoformat(done["completedAt"])
    assert completed_at >= dt.datetime.fromisoformat(done["attempt"]["startedAt"])
    assert done["attempt"]["completedAt"] == done["completedAt"]
    assert await _credits(gql, learner) == 2.5

    seen = await _enrollment(gql, enrollment_id, learner)
    assert seen["attempts"] == [done["attempt"]]
    assert [line["action"] for line in seen["history"]] == [
        "assigned",
        "started",
        "chapter_completed",
        "chapter_completed",
        "chapter_completed",
        "completed",
    ]
    assert seen["history"][0]["actor"] == {"id": admin.id, "name": "Ada"}
    assert {line["actor"]["id"] for line in seen["history"][1:]} == {learner.id}
    times = [dt.datetime.fromisoformat(line["at"]) for line in seen["history"]]
    assert times == sorted(times)

    # The admin sees the same on the learner, credits included.
    query = "query ($id: ID!) { node(id: $id) { ... on User { credits } } }"
    data = await gql.data(query, {"id": learner.id}, token=admin.token)
    assert data["node"]["credits"] == 2.5


async def _answers(lms: LMS, enrollment_pk: int) -> list[tuple[int, bool]]:
    async with lms.db.reader() as conn:
        rows = await conn.execute(
            select(m.QuizAnswer.choice, m.QuizAnswer.correct)
            .join(m.Attempt, m.Attempt.id == m.QuizAnswer.attempt_id)
            .where(m.Attempt.enrollment_id == enrollment_pk)
            .order_by(m.QuizAnswer.question_id)
        )
        return [(row.choice, row.correct) for row in rows]


async def test_quiz_chapter_completes_when_every_question_is_answered(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course("Quizzed", quiz=True, credits=1.5)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    first, second, quiz = await _chapters(gql, course, learner)
    assert quiz["kind"] == "QUIZ"
    sum_question, sky_question = (q["id"] for q in quiz["questions"])

    await _complete(gql, learner, enrollment_id, first["id"])
    after_content = await _complete(gql, learner, enrollment_id, second["id"])
    assert (after_content["state"], after_content["progress"]) == ("IN_PROGRESS", 67)

    # Wrong answer ("2 + 2?" is "4", choice 1): counted, marked wrong; the quiz goes on,
    # half answered (answered questions count toward their chapter).
    after_wrong = await _answer(gql, learner, enrollment_id, sum_question, 0)
    assert (after_wrong["state"], after_wrong["progress"]) == ("IN_PROGRESS", 83)
    assert after_wrong["completedAt"] is None
    assert await _answers(lms, pk) == [(0, False)]

    # Changing the answer replaces it (still one answer for the question).
    await _answer(gql, learner, enrollment_id, sum_question, 1)
    assert await _answers(lms, pk) == [(1, True)]

    # Right answer to the last question: the quiz chapter and the course complete.
    done = await _answer(gql, learner, enrollment_id, sky_question, 0)
    assert (done["state"], done["progress"]) == ("COMPLETED", 100)
    assert done["completedAt"] is not None
    assert await _answers(lms, pk) == [(1, True), (0, True)]
    assert await _credits(gql, learner) == 1.5


async def test_wrong_answers_still_complete_the_quiz(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course("Only a quiz", chapters=0, quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    [quiz] = await _chapters(gql, course, learner)
    first, second = (q["id"] for q in quiz["questions"])

    after_one = await _answer(gql, learner, enrollment_id, first, 0)
    # Answering is meaningful progress even before the quiz chapter is complete, and
    # shows: one of two questions answered is half the quiz.
    assert (after_one["state"], after_one["progress"]) == ("IN_PROGRESS", 50)
    done = await _answer(gql, learner, enrollment_id, second, 1)
    assert (done["state"], done["progress"]) == ("COMPLETED", 100)
    assert await _answers(lms, pk) == [(0, False), (1, False)]


async def test_answer_out_of_range_is_bad_input(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    *_, quiz = await _chapters(gql, course, learner)
    question = quiz["questions"][0]["id"]

    for choice in (2, -1):
        error = await gql.error(
            ANSWER, {"e": enrollment_id, "q": question, "choice": choice}, token=learner.token
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", choice
    assert await _answers(lms, pk) == []
    seen = await _enrollment(gql, enrollment_id, learner)
    assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0)
    assert [line["action"] for line in seen["history"]] == ["assigned"]


async def test_quiz_chapter_cannot_be_completed_directly(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course(quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    *_, quiz = await _chapters(gql, course, learner)
    error = await gql.error(
        COMPLETE, {"e": gid("Enrollment", pk), "c": quiz["id"]}, token=learner.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    seen = await _enrollment(gql, gid("Enrollment", pk), learner)
    assert seen["state"] == "NOT_STARTED"


async def test_acting_on_another_learners_enrollment_is_not_found(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    owner = await world.user("Owner")
    intruder = await world.user("Intruder")
    course = await world.course(quiz=True)
    [owner_pk, _] = await world.assign(course, [owner, intruder], by=admin)
    chapter, _, quiz = await _chapters(gql, course, admin)
    enrollment_id = gid("Enrollment", owner_pk)

    error = await gql.error(
        COMPLETE, {"e": enrollment_id, "c": chapter["id"]}, token=intruder.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(
        ANSWER,
        {"e": enrollment_id, "q": quiz["questions"][0]["id"], "choice": 1},
        token=intruder.token,
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    # Not even an admin makes progress on a learner's behalf through these.
    error = await gql.error(COMPLETE, {"e": enrollment_id, "c": chapter["id"]}, token=admin.token)
    assert error["extensions"]["code"] == "NOT_FOUND"

    seen = await _enrollment(gql, enrollment_id, admin)
    assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0)
    assert seen["attempt"]["startedAt"] is None
    assert [line["action"] for line in seen["history"]] == ["assigned"]
    assert await _answers(lms, owner_pk) == []


async def test_chapter_or_question_of_another_course_is_not_found(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course("Mine")
    other = await world.course("Other", quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    await world.assign(other, [learner], by=admin)
    foreign_chapter, _, foreign_quiz = await _chapters(gql, other, admin)
    enrollment_id = gid("Enrollment", pk)

    error = await gql.error(
        COMPLETE, {"e": enrollment_id, "c": foreign_chapter["id"]}, token=learner.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(
        ANSWER,
        {"e": enrollment_id, "q": foreign_quiz["questions"][0]["id"], "choice": 1},
        token=learner.token,
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(
        COMPLETE, {"e": enrollment_id, "c": gid("Chapter", 999_999)}, token=learner.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"

    seen = await _enrollment(gql, enrollment_id, learner)
    assert (seen["state"], seen["progress"]) == ("NOT_STARTED", 0)
    assert [line["action"] for line in seen["history"]] == ["assigned"]


async def test_unknown_enrollment_is_not_found(gql: GraphQLClient, world: World) -> None:
    learner = await world.user("Lena")
    course = await world.course()
    chapter, _ = await _chapters(gql, course, learner)
    error = await gql.error(
        COMPLETE, {"e": gid("Enrollment", 999_999), "c": chapter["id"]}, token=learner.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_curriculum_follows_its_member_courses(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    first = await world.course("First", chapters=1, credits=1.0)
    second = await world.course("Second", chapters=1, credits=2.0)
    curriculum = await world.curriculum("Path", [first, second])
    [curriculum_pk] = await world.assign(curriculum, [learner], by=admin)
    curriculum_id = gid("Enrollment", curriculum_pk)

    my = await gql.data(
        "{ myLearning { totalCount edges { node { id course { id } } } } }", token=learner.token
    )
    assert my["myLearning"]["totalCount"] == 3
    by_course = {e["node"]["course"]["id"]: e["node"]["id"] for e in my["myLearning"]["edges"]}
    first_enrollment = by_course[gid("Course", first.id)]
    second_enrollment = by_course[gid("Course", second.id)]
    assert by_course[gid("Course", curriculum.id)] == curriculum_id

    async def curriculum_state() -> tuple[str, int, str | None]:
        seen = await _enrollment(gql, curriculum_id, learner)
        return seen["state"], seen["progress"], seen["completedAt"]

    assert await curriculum_state() == ("NOT_STARTED", 0, None)

    # Opening a member course starts the curriculum.
    await gql.data(START, {"id": gid("Course", first.id)}, token=learner.token)
    assert await curriculum_state() == ("STARTED", 0, None)

    [first_chapter] = await _chapters(gql, first, learner)
    await _complete(gql, learner, first_enrollment, first_chapter["id"])
    assert await curriculum_state() == ("IN_PROGRESS", 50, None)
    assert await _credits(gql, learner) == 1.0

    [second_chapter] = await _chapters(gql, second, learner)
    await _complete(gql, learner, second_enrollment, second_chapter["id"])
    state, progress, completed_at = await curriculum_state()
    assert (state, progress) == ("COMPLETED", 100)
    assert completed_at is not None
    assert await _credits(gql, learner) == 3.0
    history = (await _enrollment(gql, curriculum_id, learner))["history"]
    assert history[-1]["action"] == "completed"


async def test_my_learning_lists_only_the_viewers_enrollments(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    lena = await world.user("Lena")
    otto = await world.user("Otto")
    first = await world.course("First")
    second = await world.course("Second")
    third = await world.course("Third")
    await world.assign(first, [lena, otto], by=admin)
    await world.assign(second, [otto], by=admin)
    await world.assign(third, [lena], by=admin)

    query = "{ myLearning { totalCount edges { node { user { id } course { title } } } } }"
    data = await gql.data(query, token=lena.token)
    assert data["myLearning"]["totalCount"] == 2
    assert [e["node"]["course"]["title"] for e in data["myLearning"]["edges"]] == [
        "First",
        "Third",
    ]
    assert {e["node"]["user"]["id"] for e in data["myLearning"]["edges"]} == {lena.id}
    data = await gql.data(query, token=admin.token)
    assert data["myLearning"]["totalCount"] == 0
    error = await gql.error(query)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_concurrent_starts_make_one_enrollment(gql: GraphQLClient, world: World) -> None:
    """A double click, or two tabs, on "Start": one enrollment, no error."""
    learner = await world.user("Lena")
    course = await world.course()
    bodies = await asyncio.gather(
        *(gql(START, {"id": gid("Course", course.id)}, token=learner.token) for _ in range(4))
    )
    assert all(not body.get("errors") for body in bodies), bodies
    ids = {body["data"]["startCourse"]["id"] for body in bodies}
    assert len(ids) == 1
    seen = await _enrollment(gql, ids.pop(), learner)
    assert [line["action"] for line in seen["history"]] == ["assigned", "started"]
    assert len(seen["attempts"]) == 1
    my = await gql.data("{ myLearning { totalCount } }", token=learner.token)
    assert my["myLearning"]["totalCount"] == 1
