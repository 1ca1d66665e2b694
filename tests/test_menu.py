"""The learner menu (CONTRACT section 5) for self-paced courses and curricula.

The tests load every built-in plugin: the core's actions and the certificates
plugin's item (a COMPLETED learner who finished on their own holds a certificate,
so their menu ends with remove_certificate; tests/test_certificates.py covers
generate_certificate). The ILT and SCORM/xAPI items (change_session,
mark_no_show, view_activity) must not show in a self-paced course.
"""

from __future__ import annotations

from typing import Any

import pytest

from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid

LABELS = {
    "update_due_date": "Update/Add Course Due Date",
    "reset_progress": "Reset Progress",
    "view_history": "View History",
    "mark_complete": "Mark as Complete",
    "view_chapter_insights": "View Chapter Insights",
    "view_quiz_insights": "View Quiz Insights",
    "make_instructor": "Make Instructor",
    "remove_instructor": "Remove Instructor Rights",
    "unassign": "Unassign User",
    "remove": "Remove User",
    "generate_certificate": "Generate Certificate",
    "remove_certificate": "Remove Certificate",
}
VIEWS = {"view_history", "view_chapter_insights", "view_quiz_insights"}
DESTRUCTIVE = {"reset_progress", "unassign", "remove", "remove_certificate", "remove_instructor"}
NEVER_TODAY = {
    "change_session",
    "mark_no_show",
    "view_activity",
    "mark_incomplete",
}
CERTIFICATE_ITEMS = {"generate_certificate", "remove_certificate"}

# Section 5, column by column, in seed order; None marks the quiz-only row.
QUIZ = "view_quiz_insights"
MENUS: dict[str, list[str]] = {
    "NOT_STARTED": [
        "update_due_date",
        "view_history",
        "mark_complete",
        "view_chapter_insights",
        QUIZ,
        "make_instructor",
        "unassign",
        "remove",
    ],
    "STARTED": [
        "update_due_date",
        "reset_progress",
        "view_history",
        "mark_complete",
        "view_chapter_insights",
        QUIZ,
        "make_instructor",
        "unassign",
        "remove",
    ],
    "IN_PROGRESS": [
        "update_due_date",
        "reset_progress",
        "view_history",
        "mark_complete",
        "view_chapter_insights",
        QUIZ,
        "make_instructor",
        "unassign",
        "remove",
    ],
    "COMPLETED": [
        "update_due_date",
        "reset_progress",
        "view_history",
        "view_chapter_insights",
        QUIZ,
        "make_instructor",
        "remove",
        "remove_certificate",
    ],
}

ACTION_FIELDS = (
    "key label description kind destructive confirm params { name type required label choices }"
)

MENU = f"""
query ($id: ID!) {{
  enrollment(id: $id) {{ state availableActions {{ {ACTION_FIELDS} }} }}
}}
"""

CHAPTERS = "query ($id: ID!) { course(id: $id) { chapters { id kind questions { id } } } }"
START = "mutation ($id: ID!) { startCourse(courseId: $id) { id state } }"
COMPLETE = """
mutation ($e: ID!, $c: ID!) { completeChapter(enrollmentId: $e, chapterId: $c) { state } }
"""
ANSWER = """
mutation ($e: ID!, $q: ID!) { answerQuiz(enrollmentId: $e, questionId: $q, choice: 0) { state } }
"""
MASS = f"query ($id: ID!) {{ course(id: $id) {{ massActions {{ {ACTION_FIELDS} }} }} }}"


def expected_menu(state: str, quiz: bool) -> list[str]:
    return [key for key in MENUS[state] if quiz or key != QUIZ]


async def drive(
    gql: GraphQLClient, course: CourseRecord, learner: Actor, enrollment_id: str, state: str
) -> None:
    """Bring an assigned learner to ``state`` through the learner's own mutations."""
    if state == "NOT_STARTED":
        return
    data = await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)
    assert data["startCourse"]["id"] == enrollment_id
    if state == "STARTED":
        assert data["startCourse"]["state"] == "STARTED"
        return
    chapters = (await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=learner.token))[
        "course"
    ]["chapters"]
    content = [chapter for chapter in chapters if chapter["kind"] == "CONTENT"]
    if state == "IN_PROGRESS":
        done = await gql.data(
            COMPLETE, {"e": enrollment_id, "c": content[0]["id"]}, token=learner.token
        )
        assert done["completeChapter"]["state"] == "IN_PROGRESS"
        return
    assert state == "COMPLETED"
    for chapter in content:
        await gql.data(COMPLETE, {"e": enrollment_id, "c": chapter["id"]}, token=learner.token)
    for chapter in chapters:
        for question in chapter["questions"]:
            await gql.data(ANSWER, {"e": enrollment_id, "q": question["id"]}, token=learner.token)
    seen = await gql.data(MENU, {"id": enrollment_id}, token=learner.token)
    assert seen["enrollment"]["state"] == "COMPLETED"


async def learner_in(
    gql: GraphQLClient, world: World, course: CourseRecord, admin: Actor, state: str
) -> tuple[Actor, str]:
    learner = await world.user()
    [pk] = await world.assign(course, [learner], by=admin)
    enrollment_id = gid("Enrollment", pk)
    await drive(gql, course, learner, enrollment_id, state)
    return learner, enrollment_id


async def menu_of(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> list[dict[str, Any]]:
    data = await gql.data(MENU, {"id": enrollment_id}, token=viewer.token)
    assert data["enrollment"] is not None
    actions: list[dict[str, Any]] = data["enrollment"]["availableActions"]
    return actions


def check_action(action: dict[str, Any]) -> None:
    """Label, kind, confirmation and params of one menu entry, as section 5 has them."""
    key = action["key"]
    assert action["label"] == LABELS[key]
    assert action["kind"] == ("VIEW" if key in VIEWS else "MUTATION")
    assert action["destructive"] is (key in DESTRUCTIVE)
    if key in DESTRUCTIVE:
        assert isinstance(action["confirm"], str)
        # A sentence a person confirms: words, ending like one.
        assert len(action["confirm"].split()) >= 3
        assert action["confirm"][-1] in ".?"
    else:
        assert action["confirm"] is None
    assert action["description"]
    if key == "update_due_date":
        [param] = action["params"]
        assert param["name"] == "dueDate"
        assert param["type"] == "Date"
        # Must be sent (null removes the date), so a forgotten param clears nothing.
        assert param["required"] is True
        assert param["label"]
        assert param["choices"] is None
    elif key == "remove":
        [param] = action["params"]
        assert param["name"] == "scope"
        assert param["type"] == "Enum"
        # SESSION and BOTH belong to ILT courses only.
        assert param["choices"] == ["COURSE"]
        assert param["label"]
    else:
        assert action["params"] == []


@pytest.mark.parametrize("quiz", [False, True], ids=["no-quiz", "quiz"])
@pytest.mark.parametrize("state", ["NOT_STARTED", "STARTED", "IN_PROGRESS", "COMPLETED"])
async def test_menu_by_state(gql: GraphQLClient, world: World, state: str, quiz: bool) -> None:
    admin = await world.admin()
    course = await world.course("Menu course", quiz=quiz)
    _, enrollment_id = await learner_in(gql, world, course, admin, state)

    data = await gql.data(MENU, {"id": enrollment_id}, token=admin.token)
    assert data["enrollment"]["state"] == state
    actions = data["enrollment"]["availableActions"]
    keys = [action["key"] for action in actions]
    assert keys == expected_menu(state, quiz)
    assert not NEVER_TODAY & set(keys)
    # Generate or Remove Certificate: exactly one, and only for COMPLETED learners.
    assert len(CERTIFICATE_ITEMS & set(keys)) == (1 if state == "COMPLETED" else 0)
    for action in actions:
        check_action(action)


async def test_instructor_gets_the_admins_menu(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    course = await world.course("Instructed", quiz=True)
    await world.instructor(course, instructor)
    for state in MENUS:
        _, enrollment_id = await learner_in(gql, world, course, admin, state)
        by_admin = await menu_of(gql, enrollment_id, admin)
        by_instructor = await menu_of(gql, enrollment_id, instructor)
        assert by_instructor == by_admin
        assert [action["key"] for action in by_instructor] == expected_menu(state, True)


async def test_learner_gets_no_menu_of_their_own(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course(quiz=True)
    for state in MENUS:
        learner, enrollment_id = await learner_in(gql, world, course, admin, state)
        assert await menu_of(gql, enrollment_id, learner) == []
        mine = await gql.data(
            "{ myLearning { edges { node { id availableActions { key } } } } }",
            token=learner.token,
        )
        assert mine["myLearning"]["edges"] == [
            {"node": {"id": enrollment_id, "availableActions": []}}
        ]


async def test_instructor_of_another_course_sees_no_learner(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    other = await world.user("Otto Other")
    course = await world.course("Mine")
    await world.instructor(await world.course("Theirs"), other)
    _, enrollment_id = await learner_in(gql, world, course, admin, "STARTED")
    data = await gql.data(MENU, {"id": enrollment_id}, token=other.token)
    assert data["enrollment"] is None
    error = await gql.error(MASS, {"id": gid("Course", course.id)}, token=other.token)
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_curriculum_learner_menu(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user()
    curriculum = await world.curriculum(
        "Path", [await world.course("One", chapters=1), await world.course("Two", chapters=1)]
    )
    [pk] = await world.assign(curriculum, [learner], by=admin)
    actions = await menu_of(gql, gid("Enrollment", pk), admin)
    # A curriculum has no chapters of its own: no chapter insights, no quiz either.
    assert [action["key"] for action in actions] == [
        key for key in expected_menu("NOT_STARTED", False) if key != "view_chapter_insights"
    ]
    for action in actions:
        check_action(action)


SELF_PACED_MASS = {
    "reset_progress",
    "mark_complete",
    "mark_incomplete",
    "remove",
    "update_due_date",
}


async def test_mass_actions_of_a_self_paced_course(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    learner = await world.user("Lena")
    course = await world.course(quiz=True)
    curriculum = await world.curriculum("Path", [course])
    await world.instructor(course, instructor)
    await world.assign(course, [learner], by=admin)

    for viewer in (admin, instructor):
        data = await gql.data(MASS, {"id": gid("Course", course.id)}, token=viewer.token)
        actions = data["course"]["massActions"]
        keys = [action["key"] for action in actions]
        assert sorted(keys) == sorted(SELF_PACED_MASS)
        assert len(keys) == len(SELF_PACED_MASS)
        by_key = {action["key"]: action for action in actions}
        assert by_key["mark_incomplete"]["label"] == "Mark as Incomplete"
        assert by_key["mark_incomplete"]["kind"] == "MUTATION"
        assert by_key["mark_incomplete"]["destructive"] is True
        assert by_key["mark_incomplete"]["confirm"]
        assert by_key["mark_incomplete"]["params"] == []
        for key in SELF_PACED_MASS - {"mark_incomplete"}:
            check_action(by_key[key])

    data = await gql.data(MASS, {"id": gid("Course", curriculum.id)}, token=admin.token)
    assert sorted(a["key"] for a in data["course"]["massActions"]) == sorted(SELF_PACED_MASS)

    error = await gql.error(MASS, {"id": gid("Course", course.id)}, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(MASS, {"id": gid("Course", course.id)})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


LEARNER_PAGE = """
query ($id: ID!, $first: Int!) {
  course(id: $id) {
    learners(first: $first) { edges { node { id state availableActions { key label } } } }
  }
}
"""


async def test_menus_of_a_page_cost_the_same_statements_for_10_or_100(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    course = await world.course("Big course", quiz=True)
    learners = [await world.user(f"Learner {i:03}") for i in range(100)]
    await world.assign(course, learners, by=admin)
    # A mix of states, so the menus differ along the page.
    for learner in learners[:3]:
        await gql.data(START, {"id": gid("Course", course.id)}, token=learner.token)

    async def page(first: int) -> tuple[int, list[Any]]:
        variables = {"id": gid("Course", course.id), "first": first}
        statements.reset()
        data = await gql.data(LEARNER_PAGE, variables, token=admin.token)
        count = statements.count
        edges: list[Any] = data["course"]["learners"]["edges"]
        return count, edges

    ten, ten_edges = await page(10)
    hundred, hundred_edges = await page(100)
    assert len(ten_edges) == 10
    assert len(hundred_edges) == 100
    states = {edge["node"]["state"] for edge in hundred_edges}
    assert states == {"NOT_STARTED", "STARTED"}
    for edge in hundred_edges:
        keys = [action["key"] for action in edge["node"]["availableActions"]]
        assert keys == expected_menu(edge["node"]["state"], True)
    assert hundred == ten, (ten, hundred)


def as_instructor(keys: list[str]) -> list[str]:
    """A menu as a learner who holds instructor rights on the course sees it."""
    return ["remove_instructor" if key == "make_instructor" else key for key in keys]


@pytest.mark.parametrize("state", ["NOT_STARTED", "STARTED", "COMPLETED"])
async def test_a_learner_who_is_an_instructor_is_offered_remove_instructor_instead(
    gql: GraphQLClient, world: World, state: str
) -> None:
    """On the learner's own menu and on a page of learners alike (the page reads whether
    each learner teaches the course with its rows)."""
    admin = await world.admin()
    course = await world.course("Taught", quiz=True)
    teacher, teacher_id = await learner_in(gql, world, course, admin, state)
    _, other_id = await learner_in(gql, world, course, admin, state)
    await world.instructor(course, teacher)
    # Instructor rights on another course change nothing here.
    await world.instructor(await world.course("Elsewhere"), (await world.user("Olaf")))

    actions = await menu_of(gql, teacher_id, admin)
    assert [a["key"] for a in actions] == as_instructor(expected_menu(state, True))
    for action in actions:
        check_action(action)
    others = await menu_of(gql, other_id, admin)
    assert [a["key"] for a in others] == expected_menu(state, True)

    data = await gql.data(LEARNER_PAGE, {"id": gid("Course", course.id), "first": 10}, admin.token)
    by_id = {
        edge["node"]["id"]: [a["key"] for a in edge["node"]["availableActions"]]
        for edge in data["course"]["learners"]["edges"]
    }
    assert by_id == {
        teacher_id: as_instructor(expected_menu(state, True)),
        other_id: expected_menu(state, True),
    }
