"""assignCourse: who may assign, what an assignment records, who is skipped and why."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, World, gid

ASSIGN = """
mutation ($input: AssignCourseInput!) {
  assignCourse(input: $input) {
    enrollments {
      id assignment dueDate assignedAt message state progress completedAt
      user { id name } course { id title } assignedBy { id name }
    }
    skipped { user { id name } reason }
  }
}
"""

LEARNERS = """
query ($id: ID!) {
  course(id: $id) {
    learners(first: 100) {
      totalCount
      edges { node { user { id } assignment dueDate message assignedBy { id } } }
    }
  }
}
"""

NOTIFICATIONS = "{ viewer { notifications { kind subject body createdAt } } }"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _input(course: CourseRecord, learners: list[Actor], **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "courseId": gid("Course", course.id),
            "userIds": [learner.id for learner in learners],
            **extra,
        }
    }


async def _learners(gql: GraphQLClient, course: CourseRecord, admin: Actor) -> dict[str, Any]:
    data = await gql.data(LEARNERS, {"id": gid("Course", course.id)}, token=admin.token)
    learners: dict[str, Any] = data["course"]["learners"]
    return learners


async def test_assign_required_with_due_date_and_message(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Ada Admin")
    course = await world.course("Fire safety")
    lena = await world.user("Lena")
    otto = await world.user("Otto")
    due = _today() + dt.timedelta(days=14)
    before = dt.datetime.now(dt.UTC)

    data = await gql.data(
        ASSIGN,
        _input(
            course,
            [lena, otto],
            assignment="REQUIRED",
            dueDate=due.isoformat(),
            message="  Please finish before the audit.  ",
        ),
        token=admin.token,
    )
    after = dt.datetime.now(dt.UTC)
    payload = data["assignCourse"]
    assert payload["skipped"] == []
    assert [e["user"] for e in payload["enrollments"]] == [
        {"id": lena.id, "name": "Lena"},
        {"id": otto.id, "name": "Otto"},
    ]
    for enrollment in payload["enrollments"]:
        assert enrollment["assignment"] == "REQUIRED"
        assert enrollment["dueDate"] == due.isoformat()
        assert enrollment["message"] == "Please finish before the audit."
        assert enrollment["state"] == "NOT_STARTED"
        assert enrollment["progress"] == 0
        assert enrollment["completedAt"] is None
        assert enrollment["course"] == {"id": gid("Course", course.id), "title": "Fire safety"}
        assert enrollment["assignedBy"] == {"id": admin.id, "name": "Ada Admin"}
        assigned_at = dt.datetime.fromisoformat(enrollment["assignedAt"])
        assert assigned_at.tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= assigned_at <= after + dt.timedelta(seconds=1)

    # The message reached each learner as a notification.
    for learner in (lena, otto):
        notes = (await gql.data(NOTIFICATIONS, token=learner.token))["viewer"]["notifications"]
        assert len(notes) == 1
        assert notes[0]["body"] == "Please finish before the audit."
        assert "Fire safety" in notes[0]["subject"]
    # The admin got none.
    assert (await gql.data(NOTIFICATIONS, token=admin.token))["viewer"]["notifications"] == []

    learners = await _learners(gql, course, admin)
    assert learners["totalCount"] == 2


async def test_assignment_type_follows_due_date_unless_given(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    due = (_today() + dt.timedelta(days=3)).isoformat()
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({}, "OPTIONAL", None),
        ({"dueDate": due}, "REQUIRED", due),
        ({"assignment": "OPTIONAL", "dueDate": due}, "OPTIONAL", due),
        ({"assignment": "REQUIRED"}, "REQUIRED", None),
    ]
    for index, (extra, assignment, due_date) in enumerate(cases):
        course = await world.course(f"Course {index}")
        learner = await world.user()
        data = await gql.data(ASSIGN, _input(course, [learner], **extra), token=admin.token)
        [enrollment] = data["assignCourse"]["enrollments"]
        assert (enrollment["assignment"], enrollment["dueDate"]) == (assignment, due_date), extra
        assert enrollment["message"] is None


async def test_due_date_today_is_allowed_and_past_is_refused(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    lena = await world.user("Lena")
    otto = await world.user("Otto")

    yesterday = (_today() - dt.timedelta(days=1)).isoformat()
    error = await gql.error(
        ASSIGN, _input(course, [lena, otto], dueDate=yesterday, message="Hi"), token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _learners(gql, course, admin))["totalCount"] == 0
    notes = (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"]
    assert notes == []

    data = await gql.data(
        ASSIGN, _input(course, [lena], dueDate=_today().isoformat()), token=admin.token
    )
    assert data["assignCourse"]["enrollments"][0]["dueDate"] == _today().isoformat()


async def test_deactivated_and_already_assigned_users_are_skipped(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    fresh = await world.user("Fresh")
    already = await world.user("Already")
    gone = await world.user("Gone")
    await world.assign(course, [already], by=admin)
    await gql.data(
        "mutation ($id: ID!) { updateUser(input: {id: $id, active: false}) { active } }",
        {"id": gone.id},
        token=admin.token,
    )

    data = await gql.data(
        ASSIGN, _input(course, [gone, fresh, already], message="Welcome"), token=admin.token
    )
    payload = data["assignCourse"]
    assert [e["user"]["name"] for e in payload["enrollments"]] == ["Fresh"]
    assert sorted((skip["user"]["id"], skip["reason"]) for skip in payload["skipped"]) == sorted(
        [
            (gone.id, "User with the given Email ID or Employee ID is deactivated"),
            (already.id, "User is already assigned to this course"),
        ]
    )

    learners = await _learners(gql, course, admin)
    assert sorted(edge["node"]["user"]["id"] for edge in learners["edges"]) == sorted(
        [fresh.id, already.id]
    )
    # The already-assigned learner keeps their first assignment: no message, no notification.
    [kept] = [e["node"] for e in learners["edges"] if e["node"]["user"]["id"] == already.id]
    assert kept["message"] is None
    notes = (await gql.data(NOTIFICATIONS, token=already.token))["viewer"]["notifications"]
    assert notes == []


async def test_unknown_user_fails_the_whole_assignment(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    lena = await world.user("Lena")
    variables = _input(course, [lena], message="Hello")
    variables["input"]["userIds"].append(gid("User", 999_999))

    error = await gql.error(ASSIGN, variables, token=admin.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await _learners(gql, course, admin))["totalCount"] == 0
    assert (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"] == []


async def test_unknown_course_is_not_found(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    lena = await world.user("Lena")
    error = await gql.error(
        ASSIGN,
        {"input": {"courseId": gid("Course", 999_999), "userIds": [lena.id]}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_malformed_ids_are_bad_input(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    lena = await world.user("Lena")
    for variables in (
        {"input": {"courseId": "garbage", "userIds": [lena.id]}},
        {"input": {"courseId": gid("Course", course.id), "userIds": ["garbage"]}},
        {"input": {"courseId": gid("Course", course.id), "userIds": [gid("Course", course.id)]}},
        {"input": {"courseId": gid("Course", course.id), "userIds": []}},
    ):
        error = await gql.error(ASSIGN, variables, token=admin.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", variables
    assert (await _learners(gql, course, admin))["totalCount"] == 0


async def test_instructor_of_the_course_may_assign(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course("Taught")
    instructor = await world.user("Ivan")
    await world.instructor(course, instructor)
    lena = await world.user("Lena")

    data = await gql.data(ASSIGN, _input(course, [lena]), token=instructor.token)
    [enrollment] = data["assignCourse"]["enrollments"]
    assert enrollment["assignedBy"] == {"id": instructor.id, "name": "Ivan"}
    learners = await _learners(gql, course, admin)
    assert learners["edges"][0]["node"]["assignedBy"] == {"id": instructor.id}


async def test_others_may_not_assign(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course("Target")
    outsider = await world.user("Olga")
    await world.instructor(await world.course("Elsewhere"), outsider)
    learner = await world.user("Lena")
    victim = await world.user("Vic")
    await world.assign(course, [learner], by=admin)

    for actor in (outsider, learner):
        error = await gql.error(ASSIGN, _input(course, [victim], message="x"), token=actor.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(ASSIGN, _input(course, [victim]))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"

    learners = await _learners(gql, course, admin)
    assert [edge["node"]["user"]["id"] for edge in learners["edges"]] == [learner.id]
    assert (await gql.data(NOTIFICATIONS, token=victim.token))["viewer"]["notifications"] == []


async def test_curriculum_assignment_enrolls_in_member_courses(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin("Ada")
    first = await world.course("First")
    second = await world.course("Second")
    curriculum = await world.curriculum("Path", [first, second])
    lena = await world.user("Lena")
    otto = await world.user("Otto")
    # Otto already takes the second course on his own.
    await gql.data(
        "mutation ($id: ID!) { startCourse(courseId: $id) { id } }",
        {"id": gid("Course", second.id)},
        token=otto.token,
    )
    due = (_today() + dt.timedelta(days=30)).isoformat()

    data = await gql.data(
        ASSIGN, _input(curriculum, [lena, otto], dueDate=due, message="Path"), token=admin.token
    )
    assert [e["user"]["name"] for e in data["assignCourse"]["enrollments"]] == ["Lena", "Otto"]

    first_learners = await _learners(gql, first, admin)
    assert sorted(e["node"]["user"]["id"] for e in first_learners["edges"]) == sorted(
        [lena.id, otto.id]
    )
    for edge in first_learners["edges"]:
        assert edge["node"]["assignment"] == "REQUIRED"
        assert edge["node"]["dueDate"] == due
        assert edge["node"]["assignedBy"] == {"id": admin.id}

    second_learners = {
        e["node"]["user"]["id"]: e["node"] for e in (await _learners(gql, second, admin))["edges"]
    }
    assert set(second_learners) == {lena.id, otto.id}
    # Otto's own enrollment in the second course is kept as it was.
    assert second_learners[otto.id]["assignment"] == "OPTIONAL"
    assert second_learners[otto.id]["assignedBy"] is None
    assert second_learners[otto.id]["dueDate"] is None
    assert second_learners[lena.id]["assignment"] == "REQUIRED"

    # One notification per learner: for the curriculum, not one per member course.
    notes = (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"]
    assert [note["body"] for note in notes] == ["Path"]

    my = await gql.data(
        "{ myLearning { totalCount edges { node { course { title } } } } }", token=lena.token
    )
    assert my["myLearning"]["totalCount"] == 3
    assert sorted(e["node"]["course"]["title"] for e in my["myLearning"]["edges"]) == [
        "First",
        "Path",
        "Second",
    ]


async def test_duplicate_user_ids_assign_once(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    lena = await world.user("Lena")
    data = await gql.data(ASSIGN, _input(course, [lena, lena]), token=admin.token)
    assert len(data["assignCourse"]["enrollments"]) == 1
    assert data["assignCourse"]["skipped"] == []
    assert (await _learners(gql, course, admin))["totalCount"] == 1


async def test_concurrent_assignments_of_one_learner_enroll_once(
    gql: GraphQLClient, world: World
) -> None:
    """Several workers share the database: racing assignments skip, they do not fail."""
    admin = await world.admin()
    course = await world.course()
    lena = await world.user("Lena")
    bodies = await asyncio.gather(
        *(gql(ASSIGN, _input(course, [lena], message="Hi"), token=admin.token) for _ in range(4))
    )
    assert all(not body.get("errors") for body in bodies), bodies
    payloads = [body["data"]["assignCourse"] for body in bodies]
    assert sum(len(p["enrollments"]) for p in payloads) == 1
    assert (
        sorted(skip["reason"] for p in payloads for skip in p["skipped"])
        == ["User is already assigned to this course"] * 3
    )
    assert (await _learners(gql, course, admin))["totalCount"] == 1
    notes = (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"]
    assert len(notes) == 1


async def test_curriculum_instructor_must_teach_every_member_course(
    gql: GraphQLClient, world: World
) -> None:
    first, second = await world.course("One"), await world.course("Two")
    curriculum = await world.curriculum("Path", [first, second])
    instructor = await world.user("Ivan")
    learner = await world.user("Lena")
    for course in (curriculum, first):
        await world.instructor(course, instructor)
    error = await gql.error(ASSIGN, _input(curriculum, [learner]), token=instructor.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    my = await gql.data("{ myLearning { totalCount } }", token=learner.token)
    assert my["myLearning"]["totalCount"] == 0

    await world.instructor(second, instructor)
    data = await gql.data(ASSIGN, _input(curriculum, [learner]), token=instructor.token)
    assert len(data["assignCourse"]["enrollments"]) == 1
    my = await gql.data("{ myLearning { totalCount } }", token=learner.token)
    assert my["myLearning"]["totalCount"] == 3
