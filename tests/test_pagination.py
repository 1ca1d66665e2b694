"""Cursor connections: keyset pages of a course's learners, filters, limits, SQL cost."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid

LEARNERS_PAGE = """
query ($id: ID!, $first: Int, $after: String, $filter: LearnerFilter, $orderBy: LearnerOrder) {
  course(id: $id) {
    learners(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id user { name } } }
    }
  }
}
"""

TODAY = dt.datetime.now(dt.UTC).date()
T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    due: dt.date | None
    progress: int
    assigned_at: dt.datetime


# Ties in every order field, so that the tie-breaker (the enrollment) is exercised too.
ROWS = [
    Row("delta", TODAY + dt.timedelta(days=3), 50, T0 + dt.timedelta(hours=2)),
    Row("Alpha", None, 0, T0 + dt.timedelta(hours=1)),
    Row("charlie", TODAY + dt.timedelta(days=1), 100, T0 + dt.timedelta(hours=3)),
    Row("Bravo", TODAY + dt.timedelta(days=3), 50, T0 + dt.timedelta(hours=1)),
    Row("alpha", None, 20, T0 + dt.timedelta(hours=2)),
    Row("Echo", TODAY + dt.timedelta(days=2), 0, T0 + dt.timedelta(hours=3)),
    Row("charlie", TODAY + dt.timedelta(days=1), 50, T0 + dt.timedelta(hours=1)),
]


async def _learner_world(world: World, lms: LMS) -> tuple[Actor, CourseRecord, list[int]]:
    """ROWS as learners of one course; returns the admin, the course and enrollment IDs."""
    admin = await world.admin("Zed Admin")
    course = await world.course("Paged")
    learners = [await world.user(row.name) for row in ROWS]
    pks = await world.assign(course, learners, by=admin)
    async with lms.db.transaction() as conn:
        for pk, row in zip(pks, ROWS, strict=True):
            await conn.execute(
                update(m.Enrollment)
                .where(m.Enrollment.id == pk)
                .values(due_date=row.due, assigned_at=row.assigned_at)
            )
            await conn.execute(
                update(m.Attempt).where(m.Attempt.enrollment_id == pk).values(progress=row.progress)
            )
    return admin, course, pks


def _expected(field: str, descending: bool, pks: list[int]) -> list[int]:
    """The order the contract implies: by the field, then by enrollment; no due date last."""
    keyed: list[tuple[Any, int]] = []
    missing: list[int] = []
    for pk, row in zip(pks, ROWS, strict=True):
        key: Any = {
            "NAME": row.name.lower(),
            "DUE_DATE": row.due,
            "PROGRESS": row.progress,
            "ASSIGNED_AT": row.assigned_at,
        }[field]
        if key is None:
            missing.append(pk)
        else:
            keyed.append((key, pk))
    ordered = [pk for _, pk in sorted(keyed, reverse=descending)]
    return ordered + sorted(missing, reverse=descending)


async def _page(
    gql: GraphQLClient, token: str, course: CourseRecord, **variables: Any
) -> dict[str, Any]:
    data = await gql.data(LEARNERS_PAGE, {"id": gid("Course", course.id), **variables}, token=token)
    page: dict[str, Any] = data["course"]["learners"]
    return page


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", ["NAME", "DUE_DATE", "PROGRESS", "ASSIGNED_AT"])
async def test_walking_pages_returns_every_learner_once_in_order(
    gql: GraphQLClient, world: World, lms: LMS, field: str, direction: str
) -> None:
    admin, course, pks = await _learner_world(world, lms)
    order = {"field": field, "direction": direction}
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await _page(gql, admin.token, course, first=3, after=after, orderBy=order)
        pages += 1
        assert page["totalCount"] == len(ROWS)
        assert 1 <= len(page["edges"]) <= 3
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert seen == [gid("Enrollment", pk) for pk in _expected(field, direction == "DESC", pks)]

    # One page holding everything gives the same order.
    page = await _page(gql, admin.token, course, first=100, orderBy=order)
    assert [edge["node"]["id"] for edge in page["edges"]] == seen
    assert page["pageInfo"]["hasNextPage"] is False


async def test_default_order_is_by_name(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin, course, pks = await _learner_world(world, lms)
    page = await _page(gql, admin.token, course)
    assert [edge["node"]["id"] for edge in page["edges"]] == [
        gid("Enrollment", pk) for pk in _expected("NAME", False, pks)
    ]
    assert [edge["node"]["user"]["name"] for edge in page["edges"]] == [
        "Alpha",
        "alpha",
        "Bravo",
        "charlie",
        "charlie",
        "delta",
        "Echo",
    ]


async def test_exact_fit_and_past_the_end(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin, course, _ = await _learner_world(world, lms)
    page = await _page(gql, admin.token, course, first=len(ROWS))
    assert len(page["edges"]) == len(ROWS)
    assert page["pageInfo"]["hasNextPage"] is False
    after = page["pageInfo"]["endCursor"]
    page = await _page(gql, admin.token, course, first=5, after=after)
    assert page["edges"] == []
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert page["totalCount"] == len(ROWS)


async def test_first_out_of_range_is_bad_input(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    queries = [
        "query ($first: Int) { courses(first: $first) { totalCount } }",
        "query ($first: Int) { users(first: $first) { totalCount } }",
        "query ($first: Int) { myLearning(first: $first) { totalCount } }",
    ]
    for first in (0, -1, 101):
        error = await gql.error(
            LEARNERS_PAGE, {"id": gid("Course", course.id), "first": first}, token=admin.token
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", first
        for query in queries:
            error = await gql.error(query, {"first": first}, token=admin.token)
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, first)
    page = await _page(gql, admin.token, course, first=100)
    assert page["totalCount"] == 0


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    "garbage!!",
    "",
    _b64("not json"),
    _b64('{"a": 1}'),
    _b64("[1]"),
    _b64("[1, 2, 3]"),
    _b64('[{"x": 1}, 2]'),
    _b64('[{"t": "not a time"}, 2]'),
    _b64('["alpha", "2"]'),
    _b64('["alpha", 2.5]'),
    _b64('["alpha", null]'),
    _b64('["alpha", 99999999999999999999]'),
]


async def test_garbage_cursor_is_bad_input(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin, course, _ = await _learner_world(world, lms)
    for cursor in GARBAGE_CURSORS:
        error = await gql.error(
            LEARNERS_PAGE,
            {"id": gid("Course", course.id), "first": 2, "after": cursor},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", cursor
    for query in (
        "query ($after: String) { courses(after: $after) { totalCount } }",
        "query ($after: String) { users(after: $after) { totalCount } }",
    ):
        error = await gql.error(query, {"after": _b64('["1"]')}, token=admin.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", query


async def test_cursor_of_another_order_is_bad_input(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin, course, _ = await _learner_world(world, lms)
    fields = ["NAME", "DUE_DATE", "PROGRESS", "ASSIGNED_AT"]
    cursors = {
        field: (await _page(gql, admin.token, course, first=2, orderBy={"field": field}))[
            "pageInfo"
        ]["endCursor"]
        for field in fields
    }
    for given_by, cursor in cursors.items():
        for used_with in fields:
            if used_with == given_by:
                continue
            error = await gql.error(
                LEARNERS_PAGE,
                {
                    "id": gid("Course", course.id),
                    "first": 2,
                    "after": cursor,
                    "orderBy": {"field": used_with},
                },
                token=admin.token,
            )
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (given_by, used_with)
    # A time without its offset is not one this service gives out either.
    error = await gql.error(
        LEARNERS_PAGE,
        {
            "id": gid("Course", course.id),
            "first": 2,
            "after": _b64('[{"t": "2024-03-01T10:00:00"}, 2]'),
            "orderBy": {"field": "ASSIGNED_AT"},
        },
        token=admin.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


# --- filters -------------------------------------------------------------------------------

FILTERED = """
query ($id: ID!, $filter: LearnerFilter) {
  course(id: $id) {
    learners(first: 100, filter: $filter) { totalCount edges { node { user { name } } } }
  }
}
"""


async def test_filters(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin("Zed Admin")
    course = await world.course("Filtered", chapters=2)
    anna = await world.user("Anna Alpha", email="anna@example.com", employee_id="EMP-1")
    bert = await world.user("Bert Beta", email="bert@corp.test")
    cara = await world.user("Cara_Gamma", employee_id="EMP-2")
    dirk = await world.user("Dirk Delta", email="dirk@example.com")
    eve = await world.user("Eve Epsilon", email="eve@example.com")
    soon = TODAY + dt.timedelta(days=10)
    required = await world.assign(course, [anna, bert, eve], by=admin, due=soon)
    await world.assign(course, [cara, dirk], by=admin)

    chapters = (
        await gql.data(
            "query ($id: ID!) { course(id: $id) { chapters { id } } }",
            {"id": gid("Course", course.id)},
            token=admin.token,
        )
    )["course"]["chapters"]
    [bert_enrollment, cara_enrollment] = [
        (await gql.data("{ myLearning { edges { node { id } } } }", token=who.token))["myLearning"][
            "edges"
        ][0]["node"]["id"]
        for who in (bert, cara)
    ]
    complete = (
        "mutation ($e: ID!, $c: ID!) { completeChapter(enrollmentId: $e, chapterId: $c) { state } }"
    )
    for chapter in chapters:
        await gql.data(complete, {"e": bert_enrollment, "c": chapter["id"]}, token=bert.token)
    await gql.data(complete, {"e": cara_enrollment, "c": chapters[0]["id"]}, token=cara.token)
    await gql.data(
        "mutation ($id: ID!) { startCourse(courseId: $id) { state } }",
        {"id": gid("Course", course.id)},
        token=dirk.token,
    )
    # Anna's and Bert's due dates pass (Bert has completed, so only Anna is overdue).
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(m.Enrollment)
            .where(m.Enrollment.id.in_(required[:2]))
            .values(due_date=TODAY - dt.timedelta(days=1))
        )

    async def names(**filter: Any) -> list[str]:
        data = await gql.data(
            FILTERED, {"id": gid("Course", course.id), "filter": filter}, token=admin.token
        )
        learners = data["course"]["learners"]
        found = [edge["node"]["user"]["name"] for edge in learners["edges"]]
        assert learners["totalCount"] == len(found)
        return found

    everyone = ["Anna Alpha", "Bert Beta", "Cara_Gamma", "Dirk Delta", "Eve Epsilon"]
    assert await names() == everyone
    assert await names(states=["NOT_STARTED"]) == ["Anna Alpha", "Eve Epsilon"]
    assert await names(states=["STARTED", "IN_PROGRESS"]) == ["Cara_Gamma", "Dirk Delta"]
    assert await names(states=["COMPLETED"]) == ["Bert Beta"]
    assert await names(states=["ENROLLED_IN_SESSION"]) == []
    assert await names(states=[]) == everyone
    assert await names(assignment="REQUIRED") == ["Anna Alpha", "Bert Beta", "Eve Epsilon"]
    assert await names(assignment="OPTIONAL") == ["Cara_Gamma", "Dirk Delta"]
    assert await names(search="anna") == ["Anna Alpha"]
    assert await names(search=" CORP.test ") == ["Bert Beta"]
    assert await names(search="emp-2") == ["Cara_Gamma"]
    assert await names(search="example.com") == ["Anna Alpha", "Dirk Delta", "Eve Epsilon"]
    # LIKE wildcards are plain characters to find.
    assert await names(search="_") == ["Cara_Gamma"]
    assert await names(search="%") == []
    assert await names(overdue=True) == ["Anna Alpha"]
    assert await names(overdue=False) == ["Bert Beta", "Cara_Gamma", "Dirk Delta", "Eve Epsilon"]
    assert await names(assignment="REQUIRED", states=["NOT_STARTED"]) == [
        "Anna Alpha",
        "Eve Epsilon",
    ]
    assert await names(assignment="REQUIRED", states=["NOT_STARTED"], overdue=False) == [
        "Eve Epsilon"
    ]
    assert await names(search="a", states=["COMPLETED", "STARTED"]) == ["Bert Beta", "Dirk Delta"]

    counts = (
        await gql.data(
            "query ($id: ID!) { course(id: $id) { learnerCounts { state count } } }",
            {"id": gid("Course", course.id)},
            token=admin.token,
        )
    )["course"]["learnerCounts"]
    assert counts == [
        {"state": "NOT_STARTED", "count": 2},
        {"state": "STARTED", "count": 1},
        {"state": "IN_PROGRESS", "count": 1},
        {"state": "ENROLLED_IN_SESSION", "count": 0},
        {"state": "COMPLETED", "count": 1},
    ]


async def test_filtered_pages_walk_with_cursors(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin, course, pks = await _learner_world(world, lms)
    # Every learner is NOT_STARTED (progress was set directly); "h" is in no email address
    # (userN@example.com), and in every name but delta's and Bravo's.
    with_h = {pk for pk, row in zip(pks, ROWS, strict=True) if "h" in row.name.lower()}
    expected = [pk for pk in _expected("DUE_DATE", True, pks) if pk in with_h]
    assert len(expected) == 5
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await _page(
            gql,
            admin.token,
            course,
            first=2,
            after=after,
            orderBy={"field": "DUE_DATE", "direction": "DESC"},
            filter={"states": ["NOT_STARTED"], "search": "H"},
        )
        assert page["totalCount"] == len(expected)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [gid("Enrollment", pk) for pk in expected]


async def test_learner_counts_of_an_empty_course(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    data = await gql.data(
        "query ($id: ID!) { course(id: $id) { learnerCounts { state count } } }",
        {"id": gid("Course", course.id)},
        token=admin.token,
    )
    assert data["course"]["learnerCounts"] == [
        {"state": state, "count": 0}
        for state in ("NOT_STARTED", "STARTED", "IN_PROGRESS", "ENROLLED_IN_SESSION", "COMPLETED")
    ]


async def test_users_and_courses_pages(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    users = [admin, *[await world.user(f"Person {i}") for i in range(4)]]
    for i in range(5):
        await world.course(f"Course {i}")
    for field, expected_count in (("users", 5), ("courses", 5)):
        query = (
            f"query ($after: String) {{ {field}(first: 2, after: $after) "
            "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"
        )
        seen: list[str] = []
        after: str | None = None
        while True:
            page = (await gql.data(query, {"after": after}, token=admin.token))[field]
            assert page["totalCount"] == expected_count
            seen += [edge["node"]["id"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == expected_count
        assert len(set(seen)) == expected_count
        if field == "users":
            assert seen == [user.id for user in users]


# --- SQL cost ------------------------------------------------------------------------------

COST_QUERY = """
query ($id: ID!, $first: Int!) {
  course(id: $id) {
    learners(first: $first) {
      edges { node { user { name email employeeId } state progress assignment dueDate
                     assignedBy { name } } }
    }
  }
}
"""


async def test_a_page_of_learners_costs_the_same_for_10_and_100(
    gql: GraphQLClient, world: World, lms: LMS, statements: StatementCounter
) -> None:
    first_admin = await world.admin("First Admin")
    second_admin = await world.admin("Second Admin")
    course = await world.course("Crowded")
    async with write(lms, Viewer(user=None)) as tx:
        learners = [
            Actor(
                await insert_user(
                    tx,
                    name=f"Learner {i:03}",
                    email=f"learner{i}@example.com",
                    employee_id=f"EMP-{i:03}",
                ),
                token="",
            )
            for i in range(100)
        ]
    await world.assign(course, learners[:50], by=first_admin, due=TODAY + dt.timedelta(days=9))
    await world.assign(course, learners[50:], by=second_admin)

    costs: list[int] = []
    for first in (10, 100):
        variables = {"id": gid("Course", course.id), "first": first}
        statements.reset()
        data = await gql.data(COST_QUERY, variables, token=first_admin.token)
        costs.append(statements.count)
        edges = data["course"]["learners"]["edges"]
        assert len(edges) == first
        assert edges[0]["node"]["user"] == {
            "name": "Learner 000",
            "email": "learner0@example.com",
            "employeeId": "EMP-000",
        }
        assert edges[0]["node"]["assignedBy"] == {"name": "First Admin"}
    assert {edge["node"]["assignedBy"]["name"] for edge in edges} == {
        "First Admin",
        "Second Admin",
    }
    assert costs[0] == costs[1], statements.statements
    assert costs[1] <= 6, statements.statements
