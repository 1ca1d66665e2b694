"""Enrollment.chapterInsights / quizInsights / quizExportUrl: content, visibility, SQL cost."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid

INSIGHTS = """
chapterInsights { chapter { id title kind } status progress completedAt }
quizInsights {
  chapter { id title }
  score maxScore
  answers { question { id prompt } choice correct answeredAt }
}
quizExportUrl
"""

ENROLLMENT = f"query ($id: ID!) {{ enrollment(id: $id) {{ id {INSIGHTS} }} }}"

NODE = f"query ($id: ID!) {{ node(id: $id) {{ ... on Enrollment {{ id {INSIGHTS} }} }} }}"

COMPLETE = """
mutation ($e: ID!, $c: ID!) { completeChapter(enrollmentId: $e, chapterId: $c) { id state } }
"""

ANSWER = """
mutation ($e: ID!, $q: ID!, $choice: Int!) {
  answerQuiz(enrollmentId: $e, questionId: $q, choice: $choice) { id state }
}
"""

CHAPTERS = "query ($id: ID!) { course(id: $id) { chapters { id kind questions { id } } } }"

RUN = """
mutation ($input: RunActionInput!) { runAction(input: $input) { succeeded outcomes { code } } }
"""


async def _insights(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token)
    return data["enrollment"]


async def _chapters(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> list[Any]:
    data = await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=viewer.token)
    chapters: list[Any] = data["course"]["chapters"]
    return chapters


async def _complete(gql: GraphQLClient, learner: Actor, enrollment_id: str, chapter: str) -> None:
    await gql.data(COMPLETE, {"e": enrollment_id, "c": chapter}, token=learner.token)


async def _answer(
    gql: GraphQLClient, learner: Actor, enrollment_id: str, question: str, choice: int
) -> None:
    variables = {"e": enrollment_id, "q": question, "choice": choice}
    await gql.data(ANSWER, variables, token=learner.token)


async def test_insights_follow_the_learners_progress(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Ada")
    instructor = await world.user("Ines")
    learner = await world.user("Lena")
    course = await world.course("Safety", chapters=2, quiz=True)
    await world.instructor(course, instructor)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    first, second, quiz = await _chapters(gql, course, admin)
    q1, q2 = (question["id"] for question in quiz["questions"])

    fresh = await _insights(gql, enrollment_id, learner)
    assert fresh["chapterInsights"] == [
        {
            "chapter": {"id": chapter["id"], "title": title, "kind": chapter["kind"]},
            "status": "NOT_STARTED",
            "progress": 0,
            "completedAt": None,
        }
        for chapter, title in ((first, "Chapter 1"), (second, "Chapter 2"), (quiz, "Quiz"))
    ]
    assert fresh["quizInsights"] == [
        {
            "chapter": {"id": quiz["id"], "title": "Quiz"},
            "score": 0,
            "maxScore": 2,
            "answers": [
                {
                    "question": {"id": q1, "prompt": "2 + 2?"},
                    "choice": None,
                    "correct": None,
                    "answeredAt": None,
                },
                {
                    "question": {"id": q2, "prompt": "Sky?"},
                    "choice": None,
                    "correct": None,
                    "answeredAt": None,
                },
            ],
        }
    ]

    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await _complete(gql, learner, enrollment_id, first["id"])
    await _answer(gql, learner, enrollment_id, q1, 1)  # right

    midway = await _insights(gql, enrollment_id, learner)
    chapters = midway["chapterInsights"]
    assert [(c["status"], c["progress"]) for c in chapters] == [
        ("COMPLETED", 100),
        ("NOT_STARTED", 0),
        ("STARTED", 50),
    ]
    assert dt.datetime.fromisoformat(chapters[0]["completedAt"]) >= before
    assert chapters[1]["completedAt"] is None
    assert chapters[2]["completedAt"] is None
    [insight] = midway["quizInsights"]
    assert (insight["score"], insight["maxScore"]) == (1, 2)
    assert [(a["choice"], a["correct"]) for a in insight["answers"]] == [(1, True), (None, None)]
    assert dt.datetime.fromisoformat(insight["answers"][0]["answeredAt"]) >= before

    await _answer(gql, learner, enrollment_id, q2, 1)  # wrong: the sky is blue (0)
    done = await _insights(gql, enrollment_id, learner)
    assert [(c["status"], c["progress"]) for c in done["chapterInsights"]] == [
        ("COMPLETED", 100),
        ("NOT_STARTED", 0),
        ("COMPLETED", 100),
    ]
    assert done["chapterInsights"][2]["completedAt"] is not None
    [insight] = done["quizInsights"]
    assert (insight["score"], insight["maxScore"]) == (1, 2)
    assert [(a["choice"], a["correct"]) for a in insight["answers"]] == [(1, True), (1, False)]

    # Admins and the course's instructors see the same insights as the learner.
    for viewer in (admin, instructor):
        seen = await _insights(gql, enrollment_id, viewer)
        assert seen["chapterInsights"] == done["chapterInsights"]
        assert seen["quizInsights"] == done["quizInsights"]


async def test_insights_show_the_current_attempt_only(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    course = await world.course("One chapter", chapters=1, quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    chapter, quiz = await _chapters(gql, course, admin)
    await _complete(gql, learner, enrollment_id, chapter["id"])
    for question in quiz["questions"]:
        await _answer(gql, learner, enrollment_id, question["id"], 0)
    completed = await _insights(gql, enrollment_id, admin)
    assert [c["status"] for c in completed["chapterInsights"]] == ["COMPLETED", "COMPLETED"]
    assert completed["quizInsights"][0]["score"] == 1

    # Resetting a completed learner starts a second attempt: its insights start afresh.
    run = await gql.data(
        RUN,
        {"input": {"action": "reset_progress", "enrollmentIds": [enrollment_id]}},
        token=admin.token,
    )
    assert run["runAction"]["succeeded"] == 1
    fresh = await _insights(gql, enrollment_id, admin)
    assert [(c["status"], c["progress"]) for c in fresh["chapterInsights"]] == [
        ("NOT_STARTED", 0),
        ("NOT_STARTED", 0),
    ]
    [insight] = fresh["quizInsights"]
    assert insight["score"] == 0
    assert [a["choice"] for a in insight["answers"]] == [None, None]


async def test_insights_are_seen_by_whoever_sees_the_enrollment(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    other = await world.user("Otto")
    stranger = await world.user("Ivo")
    course = await world.course("Safety", quiz=True)
    elsewhere = await world.course("Elsewhere", quiz=True)
    await world.instructor(elsewhere, stranger)
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)

    own = await _insights(gql, enrollment_id, learner)
    assert len(own["chapterInsights"]) == 3
    assert len(own["quizInsights"]) == 1
    # The learner sees their insights, but the export is for admins and instructors.
    assert own["quizExportUrl"] is None

    for viewer in (other, stranger):
        assert await _insights(gql, enrollment_id, viewer) is None
        data = await gql.data(NODE, {"id": enrollment_id}, token=viewer.token)
        assert data["node"] is None
    error = await gql.error(ENROLLMENT, {"id": enrollment_id})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_export_url_is_for_managers_of_courses_with_a_quiz(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines")
    learner = await world.user("Lena")
    quiz_course = await world.course("With quiz", quiz=True)
    plain_course = await world.course("Without quiz")
    await world.instructor(quiz_course, instructor)
    [with_quiz] = await world.assign(quiz_course, [learner], by=admin)
    [without_quiz] = await world.assign(plain_course, [learner], by=admin)

    expected = f"/exports/quiz/enrollments/{gid('Enrollment', with_quiz)}.xlsx?token="
    for viewer in (admin, instructor):
        seen = await _insights(gql, gid("Enrollment", with_quiz), viewer)
        assert seen["quizExportUrl"].startswith(expected)
    plain = await _insights(gql, gid("Enrollment", without_quiz), admin)
    assert plain["quizExportUrl"] is None
    assert plain["quizInsights"] == []
    assert [c["status"] for c in plain["chapterInsights"]] == ["NOT_STARTED", "NOT_STARTED"]


async def test_a_curriculum_has_no_insights(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    member = await world.course("Member", quiz=True)
    curriculum = await world.curriculum("Path", [member])
    await world.assign(curriculum, [learner], by=admin)
    query = f"""
    query ($id: ID!) {{
      course(id: $id) {{ quizExportUrl learners {{ edges {{ node {{ {INSIGHTS} }} }} }} }}
    }}
    """
    data = await gql.data(query, {"id": gid("Course", curriculum.id)}, token=admin.token)
    assert data["course"]["quizExportUrl"] is None
    [edge] = data["course"]["learners"]["edges"]
    assert edge["node"] == {"chapterInsights": [], "quizInsights": [], "quizExportUrl": None}

    # Seen on its own (not from a page of learners), the answer is the same.
    my = await gql.data(
        f"{{ myLearning {{ edges {{ node {{ course {{ kind }} {INSIGHTS} }} }} }} }}",
        token=learner.token,
    )
    by_kind = {edge["node"]["course"]["kind"]: edge["node"] for edge in my["myLearning"]["edges"]}
    assert by_kind["CURRICULUM"]["chapterInsights"] == []
    assert by_kind["CURRICULUM"]["quizInsights"] == []
    assert len(by_kind["COURSE"]["chapterInsights"]) == 3


PAGE = f"""
query ($id: ID!, $first: Int!) {{
  course(id: $id) {{
    learners(first: $first) {{ edges {{ node {{ id {INSIGHTS} }} }} }}
  }}
}}
"""


async def test_insights_of_a_page_cost_the_same_statements_for_10_or_100(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    course = await world.course("Big course", chapters=2, quiz=True)
    learners = [await world.user(f"Learner {i:03}") for i in range(100)]
    ids = await world.assign(course, learners, by=admin)
    first, _, quiz = await _chapters(gql, course, admin)
    # Some progress along the page, so the insights differ from learner to learner.
    for learner, pk in list(zip(learners, ids, strict=True))[:4]:
        await _complete(gql, learner, gid("Enrollment", pk), first["id"])
        await _answer(gql, learner, gid("Enrollment", pk), quiz["questions"][0]["id"], 1)

    async def page(size: int) -> tuple[int, list[Any]]:
        statements.reset()
        data = await gql.data(
            PAGE, {"id": gid("Course", course.id), "first": size}, token=admin.token
        )
        edges: list[Any] = data["course"]["learners"]["edges"]
        return statements.count, edges

    ten, ten_edges = await page(10)
    hundred, hundred_edges = await page(100)
    assert len(ten_edges) == 10
    assert len(hundred_edges) == 100
    scores = sorted(edge["node"]["quizInsights"][0]["score"] for edge in hundred_edges)
    assert scores == [0] * 96 + [1] * 4
    assert all(edge["node"]["quizExportUrl"] for edge in hundred_edges)
    assert hundred == ten, statements.statements
    # viewer, course, page, chapters, chapter progress, quiz answers, questions
    assert hundred <= 7, statements.statements
