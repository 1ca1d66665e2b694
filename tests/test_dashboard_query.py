"""The dashboard query (issue 9): a course's learners with user, state, progress,
assignment, due date, assigned by, certificates and the viewer's menu, in a fixed
number of SQL statements whatever the page size. Exact counts, never timings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from bench.queries import LMS_QUERY, LMS_QUERY_ACTIONS
from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.testing import SQLStatements, StatementCounter
from lms_graph_plugins.certificates.tables import certificates
from tests.helpers import GraphQLClient, World, gid

RUN = """
mutation ($ids: [ID!]!) {
  runAction(input: {action: "mark_complete", enrollmentIds: $ids}) { succeeded }
}
"""

# viewer, course, the page (users and assigners joined in), certificates; on PostgreSQL
# the page query builds each learner's JSON, certificates included (schema/rendering.py).
PAGE_STATEMENTS = {"sqlite": 4, "postgresql": 3}
# The same: the menus are worked out from the page's rows; of the plugins answering
# ``lms_learner_facts``, certificates reads the page's certificates once for its fact and
# the ``certificates`` field (on PostgreSQL, the page query carries the fact:
# ``facts_in_sql``), and ILT needs no statement for a course without sessions.
PAGE_WITH_MENUS_STATEMENTS = {"sqlite": 4, "postgresql": 3}


async def _course_of(
    lms: LMS, world: World, gql: GraphQLClient, learners: int
) -> tuple[str, str, list[int]]:
    """A course of ``learners`` learners assigned by an admin; every other one completed
    (and so holding a certificate). Returns the admin's token, the course ID and the
    enrollment IDs."""
    admin = await world.admin()
    course = await world.course("Dashboard course")
    people = [await world.user(f"Learner {i:02d}") for i in range(learners)]
    ids = await world.assign(course, people, admin, due=dt.date(2030, 1, 1))
    completed = [gid("Enrollment", eid) for eid in ids[::2]]
    done = await gql.data(RUN, {"ids": completed}, admin.token)
    assert done["runAction"]["succeeded"] == len(completed)
    return admin.token, gid("Course", course.id), ids


async def _statements_of(
    gql: GraphQLClient, lms_sql: SQLStatements, query: str, token: str, course: str
) -> tuple[StatementCounter, list[dict[str, object]]]:
    with lms_sql.count() as counter:
        data = await gql.data(query, {"course": course, "first": 100}, token)
    edges: list[dict[str, object]] = data["course"]["learners"]["edges"]
    return counter, edges


async def test_dashboard_page_takes_the_same_statements_whatever_its_size(
    lms: LMS, world: World, gql: GraphQLClient, lms_sql: SQLStatements
) -> None:
    backend = "sqlite" if lms.db.is_sqlite else "postgresql"
    small_token, small, _ = await _course_of(lms, world, gql, 3)
    big_token, big, _ = await _course_of(lms, world, gql, 30)
    assert {impl.plugin_name for impl in lms.pm.hook.lms_learner_facts.get_hookimpls()} == {
        "certificates",
        "ilt",
    }
    for query, expected in (
        (LMS_QUERY, PAGE_STATEMENTS[backend]),
        (LMS_QUERY_ACTIONS, PAGE_WITH_MENUS_STATEMENTS[backend]),
    ):
        few, edges = await _statements_of(gql, lms_sql, query, small_token, small)
        assert len(edges) == 3
        many, edges = await _statements_of(gql, lms_sql, query, big_token, big)
        assert len(edges) == 30
        assert few.count == many.count, f"{few}\n{many}"
        assert few.count == expected, few
        if backend == "postgresql":
            # The page's statement has no parameter (ints, names and formats written into
            # it): PostgreSQL plans its prepared statement once per connection.
            [page] = [sql for sql in many.statements if "json_build_object" in sql]
            assert "$" not in page, page


async def test_dashboard_page_shows_what_each_learner_holds(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    token, course, ids = await _course_of(lms, world, gql, 4)
    data = await gql.data(LMS_QUERY_ACTIONS, {"course": course, "first": 100}, token)
    nodes = [edge["node"] for edge in data["course"]["learners"]["edges"]]
    # Assigned-at order is assignment order: the enrollment IDs as they were made.
    assert [node["id"] for node in nodes] == [gid("Enrollment", eid) for eid in ids]
    for index, node in enumerate(nodes):
        completed = index % 2 == 0
        assert node["user"]["name"] == f"Learner {index:02d}"
        assert node["user"]["email"].endswith("@example.com")
        assert node["assignedBy"]["name"] == "Admin"
        assert node["assignment"] == "REQUIRED"
        assert node["dueDate"] == "2030-01-01"
        assert node["state"] == ("COMPLETED" if completed else "NOT_STARTED")
        assert node["progress"] == (100 if completed else 0)
        assert len(node["certificates"]) == (1 if completed else 0)
        assert node["availableActions"], "an admin sees a menu for every learner"
        assert all(set(action) == {"key", "label"} for action in node["availableActions"])
        keys = {action["key"] for action in node["availableActions"]}
        assert ("remove_certificate" in keys) == completed
        assert ("generate_certificate" in keys) is False


async def test_menus_and_certificates_of_a_page_agree_on_revoked_and_expired_ones(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    """The page's certificates are read once for the menus and the ``certificates``
    field: a revoked certificate is no longer held, an expired one is (not valid), and
    both offer Generate again."""
    token, course, ids = await _course_of(lms, world, gql, 6)
    revoke = """
    mutation ($ids: [ID!]!) {
      runAction(input: {action: "remove_certificate", enrollmentIds: $ids}) { succeeded }
    }
    """
    assert (await gql.data(revoke, {"ids": [gid("Enrollment", ids[0])]}, token))["runAction"][
        "succeeded"
    ] == 1
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(certificates)
            .where(certificates.c.enrollment_id == ids[2])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    data = await gql.data(LMS_QUERY_ACTIONS, {"course": course, "first": 100}, token)
    nodes = [edge["node"] for edge in data["course"]["learners"]["edges"]]
    menus = [{action["key"] for action in node["availableActions"]} for node in nodes]
    held = [len(node["certificates"]) for node in nodes]
    assert held == [0, 0, 1, 0, 1, 0]
    assert ["generate_certificate" in keys for keys in menus] == [
        True,
        False,
        True,
        False,
        False,
        False,
    ]
    assert ["remove_certificate" in keys for keys in menus] == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]


async def test_a_learner_nobody_assigned_has_no_assigner(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    token, course, ids = await _course_of(lms, world, gql, 2)
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(m.Enrollment).where(m.Enrollment.id == ids[1]).values(assigned_by_id=None)
        )
    data = await gql.data(LMS_QUERY, {"course": course, "first": 10}, token)
    first, second = (edge["node"] for edge in data["course"]["learners"]["edges"])
    assert first["assignedBy"]["name"] == "Admin"
    assert second["assignedBy"] is None
