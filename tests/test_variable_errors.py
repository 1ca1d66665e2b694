"""Variable values that cannot be coerced are the client's input: ``BAD_USER_INPUT``,
naming the variable (CONTRACT sections 8 and 11). Syntax errors and documents the
schema refuses stay ``GRAPHQL_VALIDATION_FAILED``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select

from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.core import LMS
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid

ASSIGN = """
mutation ($course: ID!, $users: [ID!]!, $dueDate: Date, $assignment: AssignmentType) {
  assignCourse(input: {courseId: $course, userIds: $users, dueDate: $dueDate,
                       assignment: $assignment}) {
    enrollments { id }
  }
}
"""
LEARNERS = """
query ($course: ID!, $first: Int, $filter: LearnerFilter) {
  course(id: $course) { learners(first: $first, filter: $filter) { totalCount } }
}
"""


async def enrollments(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        found = await conn.execute(select(func.count()).select_from(m.Enrollment))
        return int(found.scalar_one())


@pytest.mark.parametrize(
    ("variables", "name"),
    [
        ({"dueDate": "2031-02-30"}, "dueDate"),
        ({"dueDate": "not a date"}, "dueDate"),
        ({"dueDate": 20310228}, "dueDate"),
        ({"assignment": "MANDATORY"}, "assignment"),
        ({"users": "not a list of IDs", "course": {"id": 1}}, "course"),
    ],
)
async def test_a_value_that_cannot_be_coerced_is_bad_user_input_naming_the_variable(
    gql: GraphQLClient, world: World, lms: LMS, variables: dict[str, Any], name: str
) -> None:
    admin = await world.admin()
    course = await world.course()
    learner = await world.user()
    body = await gql(
        ASSIGN,
        {"course": gid("Course", course.id), "users": [learner.id], **variables},
        token=admin.token,
    )
    assert body["data"] is None
    [error, *_] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert f"${name}" in error["message"]
    assert error["locations"]  # the variable's definition in the document
    assert await enrollments(lms) == 0


@pytest.mark.parametrize(
    ("variables", "name"),
    [
        ({"first": "abc"}, "first"),
        ({"first": 1.5}, "first"),
        ({"filter": {"states": ["FINISHED"]}}, "filter"),
        ({"filter": {"overdue": "yes"}}, "filter"),
        ({"filter": {"colour": "red"}}, "filter"),
        ({"course": None}, "course"),  # required, given as null
        ({}, "course"),  # required, not given at all
    ],
)
async def test_bad_values_of_query_variables(
    gql: GraphQLClient, world: World, variables: dict[str, Any], name: str
) -> None:
    admin = await world.admin()
    course = await world.course()
    given = {"course": gid("Course", course.id), **variables} if variables else {}
    error = await gql.error(LEARNERS, given, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"${name}" in error["message"]


@pytest.mark.parametrize(
    "document",
    [
        "query { courses(first: 2) { totalCount }",  # syntax
        "query { courses(first: 2) { totalCount colour } }",  # no such field
        'query { courses(first: "abc") { totalCount } }',  # a literal of the wrong type
        "query ($first: String) { courses(first: $first) { totalCount } }",  # wrong position
        "query ($first: Colour) { courses(first: 2) { totalCount } }",  # no such type
        'query ($first: Int = "abc") { courses(first: $first) { totalCount } }',  # default
        "query { courses(first: $undeclared) { totalCount } }",
    ],
)
async def test_documents_the_schema_refuses_stay_validation_errors(
    gql: GraphQLClient, world: World, document: str
) -> None:
    admin = await world.admin()
    error = await gql.error(document, {"first": "abc"}, token=admin.token)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_refusal_inside_a_good_variable_keeps_its_own_code(
    gql: GraphQLClient, world: World
) -> None:
    """A well-typed variable whose value the service refuses is an ordinary error."""
    admin = await world.admin()
    course = await world.course()
    error = await gql.error(
        LEARNERS, {"course": gid("Course", course.id), "first": 500}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]


@pytest.fixture
async def production(lms: LMS) -> AsyncIterator[GraphQLClient]:
    service = LMS(make_settings(lms.settings.database_url, env="production"))
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)
    await service.close()


async def test_in_production_too_without_suggestions(
    production: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    error = await production.error(
        ASSIGN,
        {"course": gid("Course", course.id), "users": [admin.id], "assignment": "REQUIRD"},
        token=admin.token,
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "$assignment" in error["message"]
    assert "Did you mean" not in error["message"]
    assert "REQUIRED" not in error["message"]
