"""createCourse and the course's read side: chapters, quizzes, curricula, instructors."""

from __future__ import annotations

from typing import Any

from tests.helpers import Actor, GraphQLClient, World, gid

CREATE_COURSE = """
mutation ($input: CreateCourseInput!) {
  createCourse(input: $input) {
    id title kind courseType credits hasQuiz
    chapters { id title kind position questions { id prompt choices position correctChoice } }
    courses { id title }
  }
}
"""

COURSE = """
query ($id: ID!) {
  course(id: $id) {
    id title kind courseType credits hasQuiz
    chapters { title kind position questions { prompt choices correctChoice } }
    courses { id title }
    instructors { id name }
  }
}
"""

COURSE_COUNT = "{ courses(first: 100) { totalCount edges { node { title } } } }"

SAFETY = {
    "title": "Safety 101",
    "courseType": "self_paced",
    "credits": 2.5,
    "chapters": [
        {"title": "Intro"},
        {"title": "Ladders", "kind": "CONTENT"},
        {
            "title": "Check",
            "kind": "QUIZ",
            "questions": [
                {"prompt": "Helmet?", "choices": ["yes", "no"], "correctChoice": 0},
                {"prompt": "Ladder angle?", "choices": ["45", "75", "90"], "correctChoice": 1},
            ],
        },
    ],
}


async def _titles(gql: GraphQLClient, actor: Actor) -> list[str]:
    data = await gql.data(COURSE_COUNT, token=actor.token)
    assert data["courses"]["totalCount"] == len(data["courses"]["edges"])
    return [edge["node"]["title"] for edge in data["courses"]["edges"]]


async def test_admin_creates_a_course_with_chapters_and_a_quiz(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    created = (await gql.data(CREATE_COURSE, {"input": SAFETY}, token=admin.token))["createCourse"]
    assert created["title"] == "Safety 101"
    assert created["kind"] == "COURSE"
    assert created["courseType"] == "self_paced"
    assert created["credits"] == 2.5
    assert created["hasQuiz"] is True
    assert created["courses"] == []
    assert [(c["title"], c["kind"], c["position"]) for c in created["chapters"]] == [
        ("Intro", "CONTENT", 0),
        ("Ladders", "CONTENT", 1),
        ("Check", "QUIZ", 2),
    ]
    assert created["chapters"][0]["questions"] == []
    quiz = created["chapters"][2]
    assert [(q["prompt"], q["choices"], q["correctChoice"]) for q in quiz["questions"]] == [
        ("Helmet?", ["yes", "no"], 0),
        ("Ladder angle?", ["45", "75", "90"], 1),
    ]

    # Read back through course(id): the same course.
    course = (await gql.data(COURSE, {"id": created["id"]}, token=admin.token))["course"]
    assert course["title"] == "Safety 101"
    assert [chapter["title"] for chapter in course["chapters"]] == ["Intro", "Ladders", "Check"]
    assert course["chapters"][2]["questions"][1]["correctChoice"] == 1
    assert course["instructors"] == []
    assert await _titles(gql, admin) == ["Safety 101"]


async def test_course_without_quiz_has_no_quiz(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    data = await gql.data(
        CREATE_COURSE,
        {"input": {"title": "Reading", "courseType": "self_paced", "chapters": [{"title": "A"}]}},
        token=admin.token,
    )
    assert data["createCourse"]["hasQuiz"] is False
    assert data["createCourse"]["credits"] == 0.0


async def test_admin_creates_a_curriculum(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    first = await world.course("First")
    second = await world.course("Second")
    third = await world.course("Third")
    ordered = [third, first, second]
    data = await gql.data(
        CREATE_COURSE,
        {
            "input": {
                "title": "Onboarding",
                "courseType": "self_paced",
                "kind": "CURRICULUM",
                "courseIds": [gid("Course", course.id) for course in ordered],
            }
        },
        token=admin.token,
    )
    curriculum = data["createCourse"]
    assert curriculum["kind"] == "CURRICULUM"
    assert curriculum["chapters"] == []
    assert curriculum["hasQuiz"] is False
    expected = [{"id": gid("Course", c.id), "title": c.title} for c in ordered]
    assert curriculum["courses"] == expected
    course = (await gql.data(COURSE, {"id": curriculum["id"]}, token=admin.token))["course"]
    assert course["courses"] == expected


async def test_curriculum_of_a_curriculum_is_refused(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course("Member")
    inner = await world.curriculum("Inner", [course])
    before = await _titles(gql, admin)
    error = await gql.error(
        CREATE_COURSE,
        {
            "input": {
                "title": "Outer",
                "courseType": "self_paced",
                "kind": "CURRICULUM",
                "courseIds": [gid("Course", course.id), gid("Course", inner.id)],
            }
        },
        token=admin.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _titles(gql, admin) == before


async def test_curriculum_needs_existing_courses_and_only_curricula_have_members(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course("Member")
    bad_inputs: list[dict[str, Any]] = [
        # An unknown member course.
        {"kind": "CURRICULUM", "courseIds": [gid("Course", course.id), gid("Course", 999_999)]},
        # No member course at all.
        {"kind": "CURRICULUM", "courseIds": []},
        # A course (not a curriculum) with member courses.
        {"kind": "COURSE", "courseIds": [gid("Course", course.id)]},
        # A member ID that is not a course's.
        {"kind": "CURRICULUM", "courseIds": [gid("User", admin.user.id)]},
    ]
    for extra in bad_inputs:
        error = await gql.error(
            CREATE_COURSE,
            {"input": {"title": "Bad", "courseType": "self_paced", **extra}},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", extra
    assert await _titles(gql, admin) == ["Member"]


async def test_unknown_course_type_is_refused(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    error = await gql.error(
        CREATE_COURSE,
        {"input": {"title": "Mystery", "courseType": "no_such_type"}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "no_such_type" in error["message"]
    assert await _titles(gql, admin) == []


async def test_bad_correct_choice_is_refused(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    for correct in (2, -1):
        error = await gql.error(
            CREATE_COURSE,
            {
                "input": {
                    "title": "Quizzy",
                    "courseType": "self_paced",
                    "chapters": [
                        {"title": "Intro"},
                        {
                            "title": "Quiz",
                            "kind": "QUIZ",
                            "questions": [
                                {"prompt": "Q?", "choices": ["a", "b"], "correctChoice": correct}
                            ],
                        },
                    ],
                }
            },
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", correct
    # Nothing half-made: no course, so no orphan chapters either.
    assert await _titles(gql, admin) == []


async def test_quiz_chapter_needs_questions_and_content_chapters_have_none(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    question = {"prompt": "Q?", "choices": ["a", "b"], "correctChoice": 0}
    for chapter in (
        {"title": "Empty quiz", "kind": "QUIZ", "questions": []},
        {"title": "Content", "kind": "CONTENT", "questions": [question]},
        {"title": "One choice", "kind": "QUIZ", "questions": [{**question, "choices": ["a"]}]},
    ):
        error = await gql.error(
            CREATE_COURSE,
            {"input": {"title": "X", "courseType": "self_paced", "chapters": [chapter]}},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", chapter
    assert await _titles(gql, admin) == []


async def test_create_course_refused_to_non_admins(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    instructor = await world.user("Ivan")
    await world.instructor(await world.course("Existing"), instructor)
    for actor in (learner, instructor):
        error = await gql.error(CREATE_COURSE, {"input": SAFETY}, token=actor.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(CREATE_COURSE, {"input": SAFETY})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _titles(gql, admin) == ["Existing"]


async def test_course_instructors(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course("Taught")
    other = await world.course("Other")
    zoe = await world.user("Zoe")
    adam = await world.user("Adam")
    await world.instructor(course, zoe)
    await world.instructor(course, adam)
    await world.instructor(other, zoe)
    query = "query ($id: ID!) { course(id: $id) { instructors { id name } } }"
    data = await gql.data(query, {"id": gid("Course", course.id)}, token=admin.token)
    assert data["course"]["instructors"] == [
        {"id": adam.id, "name": "Adam"},
        {"id": zoe.id, "name": "Zoe"},
    ]
    data = await gql.data(query, {"id": gid("Course", other.id)}, token=admin.token)
    assert data["course"]["instructors"] == [{"id": zoe.id, "name": "Zoe"}]


async def test_courses_lists_and_searches(gql: GraphQLClient, world: World) -> None:
    learner = await world.user("Lena")
    await world.course("Fire safety")
    await world.course("First aid")
    await world.course("Forklift 100%")
    query = """
    query ($search: String) { courses(search: $search) { totalCount edges { node { title } } } }
    """
    data = await gql.data(query, token=learner.token)
    assert [e["node"]["title"] for e in data["courses"]["edges"]] == [
        "Fire safety",
        "First aid",
        "Forklift 100%",
    ]
    data = await gql.data(query, {"search": "SAFETY"}, token=learner.token)
    assert data["courses"]["totalCount"] == 1
    assert data["courses"]["edges"][0]["node"]["title"] == "Fire safety"
    # `%` is a character to find, not a wildcard.
    data = await gql.data(query, {"search": "%"}, token=learner.token)
    assert [e["node"]["title"] for e in data["courses"]["edges"]] == ["Forklift 100%"]


async def test_course_types(gql: GraphQLClient, world: World) -> None:
    learner = await world.user("Lena")
    data = await gql.data("{ courseTypes { key label } }", token=learner.token)
    assert {"key": "self_paced", "label": "Self-paced"} in data["courseTypes"]
    assert len({t["key"] for t in data["courseTypes"]}) == len(data["courseTypes"])
    error = await gql.error("{ courseTypes { key } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


CORRECT_CHOICES = """
query ($id: ID!) {
  course(id: $id) { chapters { kind questions { prompt choices correctChoice } } }
}
"""


async def _correct_choices(gql: GraphQLClient, course_id: int, actor: Actor) -> list[Any]:
    data = await gql.data(CORRECT_CHOICES, {"id": gid("Course", course_id)}, token=actor.token)
    [quiz] = [c for c in data["course"]["chapters"] if c["kind"] == "QUIZ"]
    assert [q["choices"] for q in quiz["questions"]] == [["3", "4"], ["blue", "red"]]
    return [q["correctChoice"] for q in quiz["questions"]]


async def test_correct_choice_only_for_admins_and_the_courses_instructors(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course("Quizzed", quiz=True)
    instructor = await world.user("Ivan")
    await world.instructor(course, instructor)
    outsider = await world.user("Olga")
    await world.instructor(await world.course("Elsewhere"), outsider)
    learner = await world.user("Lena")
    await world.assign(course, [learner], by=admin)

    assert await _correct_choices(gql, course.id, admin) == [1, 0]
    assert await _correct_choices(gql, course.id, instructor) == [1, 0]
    assert await _correct_choices(gql, course.id, learner) == [None, None]
    assert await _correct_choices(gql, course.id, outsider) == [None, None]
