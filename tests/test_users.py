"""createUser / updateUser: administrators only, unique identities, deactivation."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Actor, GraphQLClient, World, gid

CREATE_USER = """
mutation ($input: CreateUserInput!) {
  createUser(input: $input) { id email employeeId name active isAdmin }
}
"""

UPDATE_USER = """
mutation ($input: UpdateUserInput!) {
  updateUser(input: $input) { id email employeeId name active isAdmin }
}
"""

USER_COUNT = "{ users(first: 100) { totalCount edges { node { email employeeId name } } } }"

USER_BY_ID = """
query ($id: ID!) { node(id: $id) { ... on User { email employeeId name active isAdmin } } }
"""


async def _users(gql: GraphQLClient, admin: Actor) -> dict[str, Any]:
    data = await gql.data(USER_COUNT, token=admin.token)
    users: dict[str, Any] = data["users"]
    return users


async def _user(gql: GraphQLClient, admin: Actor, user_id: str) -> dict[str, Any]:
    data = await gql.data(USER_BY_ID, {"id": user_id}, token=admin.token)
    node: dict[str, Any] = data["node"]
    return node


# --- createUser ---------------------------------------------------------------------------


async def test_admin_creates_a_user(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    data = await gql.data(
        CREATE_USER,
        {"input": {"name": "  Ada   Lovelace ", "email": " Ada@Example.COM ", "employeeId": "E-1"}},
        token=admin.token,
    )
    created = data["createUser"]
    assert created["email"] == "ada@example.com"
    assert created["employeeId"] == "E-1"
    assert created["name"] == "Ada Lovelace"
    assert created["active"] is True
    assert created["isAdmin"] is False
    assert await _user(gql, admin, created["id"]) == {
        "email": "ada@example.com",
        "employeeId": "E-1",
        "name": "Ada Lovelace",
        "active": True,
        "isAdmin": False,
    }


async def test_admin_creates_an_admin_with_only_an_employee_id(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    data = await gql.data(
        CREATE_USER,
        {"input": {"name": "Root", "employeeId": "E-42", "isAdmin": True}},
        token=admin.token,
    )
    assert data["createUser"]["email"] is None
    assert data["createUser"]["isAdmin"] is True


async def test_create_user_refused_to_non_admins(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    instructor = await world.user("Ivan")
    course = await world.course()
    await world.instructor(course, instructor)
    before = (await _users(gql, admin))["totalCount"]
    variables = {"input": {"name": "Mallory", "email": "mallory@example.com"}}

    for actor in (learner, instructor):
        error = await gql.error(CREATE_USER, variables, token=actor.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(CREATE_USER, variables)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"

    users = await _users(gql, admin)
    assert users["totalCount"] == before
    assert all(edge["node"]["email"] != "mallory@example.com" for edge in users["edges"])


async def test_create_user_with_a_taken_email_is_a_conflict(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Taken", email="taken@example.com")
    before = (await _users(gql, admin))["totalCount"]

    error = await gql.error(
        CREATE_USER,
        {"input": {"name": "Other", "email": "TAKEN@example.com", "employeeId": "NEW-1"}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert "taken@example.com" in error["message"]
    users = await _users(gql, admin)
    assert users["totalCount"] == before
    assert all(edge["node"]["employeeId"] != "NEW-1" for edge in users["edges"])


async def test_create_user_with_a_taken_employee_id_is_a_conflict(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Taken", employee_id="E-7")
    before = (await _users(gql, admin))["totalCount"]

    error = await gql.error(
        CREATE_USER,
        {"input": {"name": "Other", "email": "fresh@example.com", "employeeId": "E-7"}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert "E-7" in error["message"]
    users = await _users(gql, admin)
    assert users["totalCount"] == before
    assert all(edge["node"]["email"] != "fresh@example.com" for edge in users["edges"])


async def test_create_user_with_an_invalid_email_is_bad_input(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    before = (await _users(gql, admin))["totalCount"]
    for email in ("not-an-email", "two@@example.com", "spaces in@example.com", "a@b"):
        error = await gql.error(
            CREATE_USER, {"input": {"name": "X", "email": email}}, token=admin.token
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", email
    assert (await _users(gql, admin))["totalCount"] == before


async def test_create_user_needs_an_email_or_employee_id_and_a_name(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    error = await gql.error(CREATE_USER, {"input": {"name": "Nobody"}}, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(
        CREATE_USER, {"input": {"name": "   ", "email": "blank@example.com"}}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _users(gql, admin))["totalCount"] == 1


# --- updateUser ---------------------------------------------------------------------------


async def test_admin_updates_a_user(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena", email="lena@example.com")
    data = await gql.data(
        UPDATE_USER,
        {"input": {"id": learner.id, "name": "Lena Smith", "email": "LENA.S@example.com"}},
        token=admin.token,
    )
    assert data["updateUser"]["name"] == "Lena Smith"
    assert data["updateUser"]["email"] == "lena.s@example.com"
    stored = await _user(gql, admin, learner.id)
    assert stored["name"] == "Lena Smith"
    assert stored["email"] == "lena.s@example.com"
    # Fields left out stay as they were.
    assert stored["active"] is True
    assert stored["isAdmin"] is False


async def test_update_user_keeping_own_email_is_no_conflict(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena", email="lena@example.com", employee_id="E-1")
    data = await gql.data(
        UPDATE_USER,
        {"input": {"id": learner.id, "email": "lena@example.com", "employeeId": "E-1"}},
        token=admin.token,
    )
    assert data["updateUser"]["email"] == "lena@example.com"


async def test_update_user_refused_to_non_admins(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    other = await world.user("Otto")
    variables = {"input": {"id": other.id, "name": "Hacked", "active": False}}

    error = await gql.error(UPDATE_USER, variables, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    # Not even on themself: a learner cannot make themself an admin.
    error = await gql.error(
        UPDATE_USER, {"input": {"id": learner.id, "isAdmin": True}}, token=learner.token
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(UPDATE_USER, variables)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"

    assert (await _user(gql, admin, other.id))["name"] == "Otto"
    assert (await _user(gql, admin, other.id))["active"] is True
    assert (await _user(gql, admin, learner.id))["isAdmin"] is False


async def test_update_user_to_a_taken_identity_is_a_conflict(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("First", email="first@example.com", employee_id="E-1")
    second = await world.user("Second", email="second@example.com", employee_id="E-2")

    error = await gql.error(
        UPDATE_USER,
        {"input": {"id": second.id, "email": "First@Example.com", "name": "Renamed"}},
        token=admin.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    error = await gql.error(
        UPDATE_USER, {"input": {"id": second.id, "employeeId": "E-1"}}, token=admin.token
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert await _user(gql, admin, second.id) == {
        "email": "second@example.com",
        "employeeId": "E-2",
        "name": "Second",
        "active": True,
        "isAdmin": False,
    }


async def test_update_user_with_an_invalid_email_is_bad_input(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena", email="lena@example.com")
    error = await gql.error(
        UPDATE_USER, {"input": {"id": learner.id, "email": "nope"}}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _user(gql, admin, learner.id))["email"] == "lena@example.com"


async def test_update_unknown_user_is_not_found(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    error = await gql.error(
        UPDATE_USER, {"input": {"id": gid("User", 999_999), "name": "Ghost"}}, token=admin.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_deactivated_users_token_is_refused(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    assert (await gql.data("{ viewer { name } }", token=learner.token))["viewer"]["name"] == "Lena"

    data = await gql.data(
        UPDATE_USER, {"input": {"id": learner.id, "active": False}}, token=admin.token
    )
    assert data["updateUser"]["active"] is False

    for query in ("{ viewer { name } }", "{ myLearning { totalCount } }"):
        error = await gql.error(query, token=learner.token)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", query

    # Reactivated, the same token works again.
    await gql.data(UPDATE_USER, {"input": {"id": learner.id, "active": True}}, token=admin.token)
    assert (await gql.data("{ viewer { name } }", token=learner.token))["viewer"]["name"] == "Lena"


async def test_deactivated_admin_can_no_longer_act(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Boss")
    other_admin = await world.admin("Deputy")
    await gql.data(
        UPDATE_USER, {"input": {"id": other_admin.id, "active": False}}, token=admin.token
    )
    error = await gql.error(
        CREATE_USER, {"input": {"name": "X", "email": "x@example.com"}}, token=other_admin.token
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    users = await _users(gql, admin)
    assert all(edge["node"]["email"] != "x@example.com" for edge in users["edges"])


async def test_admin_cannot_deactivate_themself(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    error = await gql.error(
        UPDATE_USER, {"input": {"id": admin.id, "active": False}}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(
        UPDATE_USER, {"input": {"id": admin.id, "isAdmin": False}}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    data = await gql.data("{ viewer { active isAdmin } }", token=admin.token)
    assert data["viewer"] == {"active": True, "isAdmin": True}


async def test_concurrent_creates_of_one_email_make_one_user(
    gql: GraphQLClient, world: World
) -> None:
    """Several workers share the database: racing requests still get a clean CONFLICT."""
    admin = await world.admin()
    bodies = await asyncio.gather(
        *(
            gql(
                CREATE_USER,
                {"input": {"name": f"Twin {i}", "email": "twin@example.com"}},
                token=admin.token,
            )
            for i in range(4)
        )
    )
    created = [body for body in bodies if not body.get("errors")]
    refused = [body["errors"][0]["extensions"]["code"] for body in bodies if body.get("errors")]
    assert len(created) == 1
    assert refused == ["CONFLICT"] * 3
    users = await _users(gql, admin)
    assert [e["node"]["email"] for e in users["edges"]].count("twin@example.com") == 1


async def test_promoted_user_may_create_users_and_demoted_may_not(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    deputy = await world.user("Deputy")
    await gql.data(UPDATE_USER, {"input": {"id": deputy.id, "isAdmin": True}}, token=admin.token)
    data = await gql.data(
        CREATE_USER, {"input": {"name": "New", "email": "new@example.com"}}, token=deputy.token
    )
    assert data["createUser"]["email"] == "new@example.com"

    await gql.data(UPDATE_USER, {"input": {"id": deputy.id, "isAdmin": False}}, token=admin.token)
    error = await gql.error(
        CREATE_USER, {"input": {"name": "Newer", "email": "newer@example.com"}}, token=deputy.token
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_a_user_keeps_an_email_or_an_employee_id(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    learner = await world.user("Lena", email="lena@example.com", employee_id="E-9")
    data = await gql.data(
        UPDATE_USER, {"input": {"id": learner.id, "email": None}}, token=admin.token
    )
    assert (data["updateUser"]["email"], data["updateUser"]["employeeId"]) == (None, "E-9")
    error = await gql.error(
        UPDATE_USER, {"input": {"id": learner.id, "employeeId": None}}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _user(gql, admin, learner.id))["employeeId"] == "E-9"
