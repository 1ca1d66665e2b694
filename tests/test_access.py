"""Who may see what (CONTRACT sections 3 and 8): tokens, roles, and IDs."""

from __future__ import annotations

import asyncio

import pytest

from lms_graph.auth import issue_token
from lms_graph.core import LMS
from tests.helpers import GraphQLClient, World, gid

ENROLLMENT = "query ($id: ID!) { enrollment(id: $id) { id state user { id } } }"
NODE = "query ($id: ID!) { node(id: $id) { id __typename } }"


async def test_enrollment_is_visible_to_its_learner_admins_and_the_courses_instructors(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    owner = await world.user("Owner")
    other = await world.user("Other")
    instructor = await world.user("Ivan")
    await world.instructor(course, instructor)
    outsider = await world.user("Olga")
    await world.instructor(await world.course("Elsewhere"), outsider)
    [pk, _] = await world.assign(course, [owner, other], by=admin)
    enrollment_id = gid("Enrollment", pk)

    for viewer in (owner, admin, instructor):
        data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token)
        assert data["enrollment"] == {
            "id": enrollment_id,
            "state": "NOT_STARTED",
            "user": {"id": owner.id},
        }
        data = await gql.data(NODE, {"id": enrollment_id}, token=viewer.token)
        assert data["node"] == {"id": enrollment_id, "__typename": "Enrollment"}

    # Another learner of the same course, and an instructor of another course: null.
    for viewer in (other, outsider):
        data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token)
        assert data["enrollment"] is None
        data = await gql.data(NODE, {"id": enrollment_id}, token=viewer.token)
        assert data["node"] is None


async def test_other_users_are_invisible_to_learners(gql: GraphQLClient, world: World) -> None:
    lena = await world.user("Lena")
    otto = await world.user("Otto")
    data = await gql.data(NODE, {"id": otto.id}, token=lena.token)
    assert data["node"] is None
    data = await gql.data(NODE, {"id": lena.id}, token=lena.token)
    assert data["node"] == {"id": lena.id, "__typename": "User"}


@pytest.mark.parametrize(
    "query",
    [
        "{ myLearning { totalCount } }",
        "{ courses { totalCount } }",
        "{ users { totalCount } }",
        "{ courseTypes { key } }",
    ],
)
async def test_missing_token_is_unauthenticated(
    gql: GraphQLClient, world: World, query: str
) -> None:
    await world.admin()
    error = await gql.error(query)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_missing_token_reads_no_object(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    learner = await world.user("Lena")
    [pk] = await world.assign(course, [learner], by=admin)
    for query, global_id in (
        (NODE, gid("Enrollment", pk)),
        (ENROLLMENT, gid("Enrollment", pk)),
        ("query ($id: ID!) { course(id: $id) { title } }", gid("Course", course.id)),
    ):
        body = await gql(query, {"id": global_id})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert body["data"] is None or not any(body["data"].values())
    # No token: viewer is null, without an error.
    assert await gql.data("{ viewer { id } }") == {"viewer": None}


async def test_forged_token_is_unauthenticated(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    forged = issue_token(
        lms.settings.replace(secret_key="another-key-that-is-also-long-enough-for-hs256"),
        admin.user.id,
    )
    for query in ("{ viewer { id } }", "{ users { totalCount } }", "{ myLearning { totalCount } }"):
        error = await gql.error(query, token=forged)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", query


async def test_expired_token_is_unauthenticated(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    expired = issue_token(lms.settings, admin.user.id, ttl_seconds=-10)
    error = await gql.error("{ viewer { id } }", token=expired)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    error = await gql.error(
        'mutation { createUser(input: {name: "X", email: "x@example.com"}) { id } }',
        token=expired,
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    data = await gql.data("{ users { totalCount } }", token=admin.token)
    assert data["users"]["totalCount"] == 1


async def test_a_token_used_before_it_expired_is_refused_after(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    """Tokens verified once are remembered; their expiry is still checked every time."""
    admin = await world.admin()
    token = issue_token(lms.settings, admin.user.id, ttl_seconds=2)
    assert (await gql.data("{ viewer { id } }", token=token))["viewer"]["id"]
    await asyncio.sleep(2.1)
    error = await gql.error("{ viewer { id } }", token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in error["message"]


async def test_malformed_token_is_unauthenticated(gql: GraphQLClient, world: World) -> None:
    await world.admin()
    for header in ("Bearer not-a-token", "Bearer a.b.c", "Bearer ", "Basic dXNlcjpwYXNz"):
        response = await gql.http.post(
            "/graphql",
            json={"query": "{ courses { totalCount } }"},
            headers={"Authorization": header},
        )
        assert response.status_code == 200
        code = response.json()["errors"][0]["extensions"]["code"]
        assert code == "UNAUTHENTICATED", header


async def test_token_of_a_user_that_no_longer_exists(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    await world.admin()
    token = issue_token(lms.settings, 999_999)
    error = await gql.error("{ viewer { id } }", token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_learners_and_counts_only_for_admins_and_the_courses_instructors(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course("Taught")
    instructor = await world.user("Ivan")
    await world.instructor(course, instructor)
    outsider = await world.user("Olga")
    await world.instructor(await world.course("Elsewhere"), outsider)
    learner = await world.user("Lena")
    await world.assign(course, [learner], by=admin)
    variables = {"id": gid("Course", course.id)}

    for field in ("learners { totalCount }", "learnerCounts { state count }"):
        query = f"query ($id: ID!) {{ course(id: $id) {{ title {field} }} }}"
        for viewer in (admin, instructor):
            data = await gql.data(query, variables, token=viewer.token)
            assert data["course"]["title"] == "Taught"
        for viewer in (outsider, learner):
            error = await gql.error(query, variables, token=viewer.token)
            assert error["extensions"]["code"] == "FORBIDDEN", (field, viewer.user.name)
            assert error["path"][0] == "course"


async def test_users_list_is_for_admins_only(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    instructor = await world.user("Ivan")
    await world.instructor(await world.course(), instructor)
    learner = await world.user("Lena")
    for viewer in (instructor, learner):
        error = await gql.error("{ users { totalCount } }", token=viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    data = await gql.data("{ users { totalCount } }", token=admin.token)
    assert data["users"]["totalCount"] == 3


async def test_malformed_ids(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    await world.course()
    course_abc = "Q291cnNlOmFiYw"  # base64 of "Course:abc"
    for bad_id in ("garbage", "!!!", "", gid("Course", 0), gid("Course", -3), course_abc):
        error = await gql.error(
            "query ($id: ID!) { course(id: $id) { title } }", {"id": bad_id}, token=admin.token
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", bad_id
        data = await gql.data(NODE, {"id": bad_id}, token=admin.token)
        assert data["node"] is None, bad_id
    # A well-formed ID of another type is not a course's ID.
    error = await gql.error(
        "query ($id: ID!) { course(id: $id) { title } }", {"id": admin.id}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(
        "query ($id: ID!) { enrollment(id: $id) { id } }", {"id": "garbage"}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_ids_of_nothing_read_as_null(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    for global_id in (gid("Course", 999_999), gid("Enrollment", 999_999), gid("Nope", 1)):
        data = await gql.data(NODE, {"id": global_id}, token=admin.token)
        assert data["node"] is None, global_id
    data = await gql.data(
        "query ($id: ID!) { course(id: $id) { title } }",
        {"id": gid("Course", 999_999)},
        token=admin.token,
    )
    assert data["course"] is None


async def test_instructor_sees_only_enrollments_in_their_courses(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    taught = await world.course("Taught")
    other = await world.course("Other")
    instructor = await world.user("Ivan")
    await world.instructor(taught, instructor)
    learner = await world.user("Lena")
    await world.assign(taught, [learner], by=admin)
    [other_pk] = await world.assign(other, [learner], by=admin)

    query = """
    query ($id: ID!) {
      node(id: $id) {
        ... on User { enrollments { totalCount edges { node { course { title } } } } }
      }
    }
    """

    def titles(data: dict[str, object]) -> list[str]:
        node = data["node"]
        assert isinstance(node, dict)
        return [edge["node"]["course"]["title"] for edge in node["enrollments"]["edges"]]

    data = await gql.data(query, {"id": learner.id}, token=instructor.token)
    assert titles(data) == ["Taught"]
    assert data["node"]["enrollments"]["totalCount"] == 1
    data = await gql.data(query, {"id": learner.id}, token=admin.token)
    assert titles(data) == ["Taught", "Other"]
    data = await gql.data(query, {"id": learner.id}, token=learner.token)
    assert titles(data) == ["Taught", "Other"]
    assert data["node"]["enrollments"]["totalCount"] == 2

    # Through the course it does not teach, the instructor reaches nothing either.
    data = await gql.data(ENROLLMENT, {"id": gid("Enrollment", other_pk)}, token=instructor.token)
    assert data["enrollment"] is None


async def test_notifications_are_private(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    instructor = await world.user("Ivan")
    await world.instructor(course, instructor)
    learner = await world.user("Lena")
    await world.assign(course, [learner], by=admin, message="Secret note")
    query = "query ($id: ID!) { node(id: $id) { ... on User { notifications { body } } } }"

    data = await gql.data(query, {"id": learner.id}, token=learner.token)
    assert data["node"]["notifications"] == [{"body": "Secret note"}]
    data = await gql.data(query, {"id": learner.id}, token=admin.token)
    assert data["node"]["notifications"] == [{"body": "Secret note"}]
    data = await gql.data(query, {"id": learner.id}, token=instructor.token)
    assert data["node"]["notifications"] == []


async def test_every_node_type_is_found_by_its_id(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course(quiz=True)
    learner = await world.user("Lena")
    other = await world.user("Otto")
    [pk] = await world.assign(course, [learner], by=admin, message="Welcome")
    data = await gql.data(
        """
        query ($id: ID!) {
          course(id: $id) { id chapters { id questions { id } } }
          viewer { id notifications { id } }
        }
        """,
        {"id": gid("Course", course.id)},
        token=learner.token,
    )
    chapter = data["course"]["chapters"][-1]
    [notification] = data["viewer"]["notifications"]
    ids = {
        "Course": data["course"]["id"],
        "Chapter": chapter["id"],
        "Question": chapter["questions"][0]["id"],
        "Enrollment": gid("Enrollment", pk),
        "Notification": notification["id"],
        "User": learner.id,
    }
    for type_name, global_id in ids.items():
        for viewer in (learner, admin):
            found = await gql.data(NODE, {"id": global_id}, token=viewer.token)
            assert found["node"] == {"id": global_id, "__typename": type_name}
    # A question read through node() keeps its answer from learners.
    found = await gql.data(
        "query ($id: ID!) { node(id: $id) { ... on Question { prompt correctChoice } } }",
        {"id": ids["Question"]},
        token=learner.token,
    )
    assert found["node"] == {"prompt": "2 + 2?", "correctChoice": None}
    # Another learner sees neither the enrollment, the notification, nor the user.
    for type_name in ("Enrollment", "Notification", "User"):
        found = await gql.data(NODE, {"id": ids[type_name]}, token=other.token)
        assert found["node"] is None, type_name


async def test_an_instructor_sees_only_users_learning_in_their_courses(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    taught = await world.course("Taught")
    instructor = await world.user("Ivan")
    await world.instructor(taught, instructor)
    learner = await world.user("Lena")
    stranger = await world.user("Sam")
    await world.assign(taught, [learner], by=admin)
    await world.assign(await world.course("Other"), [stranger], by=admin)
    query = "query ($id: ID!) { node(id: $id) { ... on User { email } } }"
    seen = await gql.data(query, {"id": learner.id}, token=instructor.token)
    assert seen["node"] == {"email": learner.user.email}
    for hidden in (stranger, admin):
        assert (await gql.data(query, {"id": hidden.id}, token=instructor.token))["node"] is None
