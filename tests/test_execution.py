# mypy: disable-error-code="untyped-decorator"
"""The fast executor (``lms_graph/schema/execution/``) answers exactly what
graphql-core's own executor answers: the same data and the same errors (messages,
paths, locations, codes), over HTTP, for documents with fragments, aliases,
@skip/@include, __typename, nested lists, abstract types, nulls and errors, including
a plugin's fields that return bad values, take shortcuts or batch. And the dashboard's
documents do take its compiled path: a field strawberry stops marking as plain, or any
other cause of a silent fallback, fails here."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import GraphQLObjectType, GraphQLOutputType, GraphQLResolveInfo
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from httpx import ASGITransport, AsyncClient
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.queries import LMS_QUERY, LMS_QUERY_ACTIONS
from lms_graph import EnrollmentRecord, GraphQLExtension, hookimpl
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.fields import RESOLVE, batched, from_parent
from lms_graph.schema.execution import FastExecutionContext
from lms_graph.schema.execution.compiled import Slow
from lms_graph.schema.execution.plans import Entry, ObjectPlan
from tests.helpers import World, gid

# --- a plugin whose fields misbehave on purpose ------------------------------------------


@strawberry.type
class Probe:
    label: str
    items: list[int]
    big: int | None = None


def _probe_for(root: EnrollmentRecord) -> Probe | None:
    kind = root.id % 5
    if kind == 0:
        return Probe(label="fine", items=[1, 2], big=None)
    if kind == 1:
        return Probe(label=None, items=[1])  # type: ignore[arg-type]  # null for String!
    if kind == 2:
        return Probe(label="hole", items=[1, None])  # type: ignore[list-item]  # null for Int!
    if kind == 3:
        return Probe(label="huge", items=[], big=2**40)  # no 32-bit Int
    return None


TENFOLD_PARENTS: list[int] = []
"""The enrollments ``_tenfold`` was asked for, call after call."""


async def _tenfold(_context: Any, roots: list[EnrollmentRecord]) -> Sequence[int]:
    TENFOLD_PARENTS.extend(root.id for root in roots)
    return [root.id * 10 for root in roots]


async def _failing(_context: Any, roots: list[EnrollmentRecord]) -> Sequence[int | None]:
    if any(root.id % 3 == 0 for root in roots):
        raise ValueError("boom")
    return [root.id for root in roots]


async def _with_nulls(_context: Any, roots: list[EnrollmentRecord]) -> Sequence[int | None]:
    return [None if root.id % 4 == 0 else root.id for root in roots]


@strawberry.type
class ProbeFields:
    @strawberry.field(metadata=from_parent(_probe_for))
    def probe(self, root: strawberry.Parent[EnrollmentRecord]) -> Probe | None:
        return _probe_for(root)

    @strawberry.field
    def resolved_probe(self, root: strawberry.Parent[EnrollmentRecord]) -> Probe | None:
        return _probe_for(root)

    @strawberry.field(
        metadata=from_parent(lambda root: RESOLVE if root.id % 2 else [_probe_for(root)])
    )
    def probes(self, root: strawberry.Parent[EnrollmentRecord]) -> list[Probe | None]:
        return [_probe_for(root)]

    @strawberry.field(metadata=from_parent(lambda root: _probe_for(root) or RESOLVE))
    def strict_probe(self, root: strawberry.Parent[EnrollmentRecord]) -> Probe:
        found = _probe_for(root)
        if found is None:
            raise ValueError("no probe here")
        return found

    @strawberry.field(metadata=batched(_tenfold))
    async def tenfold(self, root: strawberry.Parent[EnrollmentRecord]) -> int:
        return root.id * 10

    @strawberry.field(metadata=batched(_failing))
    async def failing(self, root: strawberry.Parent[EnrollmentRecord]) -> int | None:
        if root.id % 3 == 0:
            raise ValueError("boom")
        return root.id

    @strawberry.field(metadata=batched(_with_nulls))
    async def sometimes_null(self, root: strawberry.Parent[EnrollmentRecord]) -> int:
        return None if root.id % 4 == 0 else root.id  # type: ignore[return-value]


class ProbePlugin:
    name = "probe"

    @hookimpl
    def lms_register_graphql(self) -> GraphQLExtension:
        return GraphQLExtension(fields={"Enrollment": [ProbeFields]}, types=[Probe])


# --- the documents --------------------------------------------------------------------------

DASHBOARD = """
query Dashboard($course: ID!, $withUser: Boolean!, $noDue: Boolean!) {
  course(id: $course) {
    __typename id title kind credits
    learners(first: 10) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          ...Learner
          current: state
          user @include(if: $withUser) { ...Person }
          again: user { name }
        }
      }
    }
  }
}
fragment Learner on Enrollment {
  __typename id state progress assignment
  dueDate @skip(if: $noDue)
  assignedAt completedAt message
  assignedBy { id name }
  attempt { number state progress startedAt completedAt }
  certificates { code attemptNumber valid revokedAt expiresAt credits }
  availableActions { key label kind destructive confirm params { name type required choices } }
}
fragment Person on User { __typename id name email employeeId active isAdmin }
"""

PROBES = """
query Probes($course: ID!) {
  course(id: $course) {
    learners(first: 20) {
      edges {
        node {
          id
          probe { label items big __typename }
          resolvedProbe { label items big }
          probes { label items }
        }
      }
    }
  }
}
"""

STRICT = """
query Strict($course: ID!) {
  course(id: $course) {
    learners(first: 20) { edges { node { id strictProbe { label } } } }
  }
}
"""

BATCHES = """
query Batches($course: ID!) {
  course(id: $course) {
    learners(first: 20) { edges { node { id tenfold failing } } }
  }
}
"""

BATCH_AND_PROBE = """
query BatchAndProbe($course: ID!) {
  course(id: $course) {
    learners(first: 20, orderBy: {field: ASSIGNED_AT, direction: DESC}) {
      edges { node { id tenfold probe { label big } } }
    }
  }
}
"""

BATCH_NULLS = """
query BatchNulls($course: ID!) {
  course(id: $course) {
    learners(first: 20) { edges { node { id sometimesNull } } }
  }
}
"""

BATCH_ONLY = """
query BatchOnly($course: ID!) {
  course(id: $course) { learners(first: 20) { edges { node { id tenfold user { name } } } } }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  a: node(id: $ids) { ... on Enrollment { id state user { name } } }
}
"""

NODE = """
query Node($id: ID!, $user: ID!) {
  enrollment: node(id: $id) {
    __typename id
    ... on Enrollment { state progress user { id name } assignedBy { name } certificates { code } }
    ... on User { email }
  }
  person: node(id: $user) { __typename ... on User { name email } }
}
"""

MINE = """
query Mine {
  viewer { id name enrollments(first: 5) { edges { node { id state course { title } } } } }
  myLearning(first: 5) { edges { node { id state progress user { name } } } }
}
"""

ERRORS = """
query Errors($course: ID!, $bad: ID!) {
  broken: course(id: $bad) { id }
  course(id: $course) { title zero: learners(first: 0) { edges { cursor } } }
}
"""


@pytest.fixture
async def probe_client(lms: LMS) -> AsyncIterator[tuple[AsyncClient, Any]]:
    """The app with the probe plugin, on the same database as ``lms``, and its schema."""
    service = LMS(lms.settings, plugins=[ProbePlugin()])
    app = create_app(lms=service)
    [route] = [route for route in app.routes if getattr(route, "path", None) == "/graphql"]
    schema = route.endpoint.schema  # type: ignore[attr-defined]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield http, schema
    await service.close()


async def _both(
    probe_client: tuple[AsyncClient, Any],
    query: str,
    variables: dict[str, Any],
    token: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    http, schema = probe_client
    answers = []
    for executor in (StrawberryGraphQLCoreExecutionContext, FastExecutionContext):
        schema.execution_context_class = executor
        try:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
        finally:
            schema.execution_context_class = FastExecutionContext
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers[0], answers[1]


async def _world(world: World, gql_lms: LMS) -> dict[str, Any]:
    admin = await world.admin()
    course = await world.course("Equivalence", quiz=True)
    learners = [await world.user(f"Learner {i}") for i in range(9)]
    ids = await world.assign(course, learners[:5], admin, due=dt.date(2030, 5, 1))
    ids += await world.assign(course, learners[5:], admin)
    return {
        "admin": admin,
        "learner": learners[0],
        "course": gid("Course", course.id),
        "enrollments": [gid("Enrollment", eid) for eid in ids],
    }


async def test_a_batch_gets_each_parent_once_when_its_object_takes_the_general_path(
    lms: LMS, world: World, probe_client: tuple[AsyncClient, Any]
) -> None:
    """Compiled code defers ``tenfold`` before it meets a ``probe`` it cannot take (a
    null label, a null item, an Int too big: most learners): what it deferred is taken
    back, and the general path defers it again, so the batch is asked once per learner."""
    setup = await _world(world, lms)
    http, _schema = probe_client
    TENFOLD_PARENTS.clear()
    response = await http.post(
        "/graphql",
        json={"query": BATCH_AND_PROBE, "variables": {"course": setup["course"]}},
        headers={"Authorization": f"Bearer {setup['admin'].token}"},
    )
    assert response.status_code == 200
    edges = response.json()["data"]["course"]["learners"]["edges"]
    assert len(edges) == len(setup["enrollments"]) == 9
    assert response.json()["errors"], "the probes' bad values are errors"
    assert sorted(TENFOLD_PARENTS) == sorted(edge["node"]["tenfold"] // 10 for edge in edges)
    assert len(TENFOLD_PARENTS) == len(set(TENFOLD_PARENTS))


NESTED_DIRECTIVES = """
query Nested($course: ID!, $withEmail: Boolean!, $noCodes: Boolean!) {
  course(id: $course) {
    learners(first: 10) {
      edges { node { id user { name email @include(if: $withEmail) } certificates {
        code @skip(if: $noCodes) issuedAt } } }
    }
  }
}
"""


async def test_plans_shared_between_requests_follow_nested_directives(
    lms: LMS, world: World, probe_client: tuple[AsyncClient, Any]
) -> None:
    """A selection is compiled once per process: a directive deep inside it, whose
    variable changes from one request to the next, must still be obeyed."""
    setup = await _world(world, lms)
    await _complete(probe_client, setup)
    for with_email, no_codes in ((True, False), (False, True), (True, True), (False, False)):
        variables = {"course": setup["course"], "withEmail": with_email, "noCodes": no_codes}
        slow, fast = await _both(probe_client, NESTED_DIRECTIVES, variables, setup["admin"].token)
        assert fast == slow
        nodes = [edge["node"] for edge in fast["data"]["course"]["learners"]["edges"]]
        assert all(("email" in node["user"]) is with_email for node in nodes)
        certificates = [c for node in nodes for c in node["certificates"]]
        assert certificates, "some learners hold a certificate"
        assert all(("code" in c) is not no_codes for c in certificates)


async def test_the_schema_executes_with_the_fast_executor(
    probe_client: tuple[AsyncClient, Any],
) -> None:
    assert probe_client[1].execution_context_class is FastExecutionContext


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("dashboard", DASHBOARD),
        ("probes", PROBES),
        ("strict", STRICT),
        ("batches", BATCHES),
        ("batch nulls", BATCH_NULLS),
        ("batch only", BATCH_ONLY),
        ("batch and probe", BATCH_AND_PROBE),
    ],
)
async def test_course_documents_answer_the_same(
    lms: LMS, world: World, probe_client: tuple[AsyncClient, Any], name: str, query: str
) -> None:
    setup = await _world(world, lms)
    await _complete(probe_client, setup)
    for variables in (
        {"withUser": True, "noDue": False},
        {"withUser": False, "noDue": True},
    ):
        slow, fast = await _both(
            probe_client,
            query,
            {"course": setup["course"], **(variables if name == "dashboard" else {})},
            setup["admin"].token,
        )
        assert fast == slow
        assert fast.get("data") is not None


async def _complete(probe_client: tuple[AsyncClient, Any], setup: dict[str, Any]) -> None:
    """Complete two learners, so that they hold certificates."""
    http, _ = probe_client
    response = await http.post(
        "/graphql",
        json={
            "query": 'mutation ($ids: [ID!]!) { runAction(input: {action: "mark_complete", '
            "enrollmentIds: $ids}) { succeeded } }",
            "variables": {"ids": setup["enrollments"][:2]},
        },
        headers={"Authorization": f"Bearer {setup['admin'].token}"},
    )
    assert response.json()["data"]["runAction"]["succeeded"] == 2


async def test_the_documents_with_errors_and_nulls_differ_from_none(
    lms: LMS, world: World, probe_client: tuple[AsyncClient, Any]
) -> None:
    setup = await _world(world, lms)
    slow, fast = await _both(
        probe_client, PROBES, {"course": setup["course"]}, setup["admin"].token
    )
    # The probes do go wrong: nulls in non-null positions and an Int out of range.
    ends = {tuple(error.get("path", [])[-2:]) for error in fast["errors"]}
    assert ("probe", "label") in ends
    assert ("items", 1) in ends
    assert any("non 32-bit signed integer" in error["message"] for error in fast["errors"])
    assert fast == slow


async def test_node_viewer_and_error_documents_answer_the_same(
    lms: LMS, world: World, probe_client: tuple[AsyncClient, Any]
) -> None:
    setup = await _world(world, lms)
    admin, learner = setup["admin"], setup["learner"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        (NODE, {"id": setup["enrollments"][0], "user": learner.id}, admin.token),
        (NODE, {"id": setup["enrollments"][1], "user": learner.id}, learner.token),
        (MINE, {}, learner.token),
        (ERRORS, {"course": setup["course"], "bad": "not-an-id"}, admin.token),
        # A learner may not list the course's learners: FORBIDDEN, nulls propagate.
        (DASHBOARD, {"course": setup["course"], "withUser": True, "noDue": False}, learner.token),
        (NODES, {"ids": "nope"}, admin.token),
    ]
    for query, variables, token in cases:
        slow, fast = await _both(probe_client, query, variables, token)
        assert fast == slow
        if query in (ERRORS, NODES) or (token == learner.token and query is DASHBOARD):
            assert fast.get("errors"), "this document is meant to fail"


# --- the dashboard takes the compiled path ---------------------------------------------


def _keys(path: Path | None) -> tuple[str | int, ...]:
    return () if path is None else tuple(path.as_list())


class PathProbe(FastExecutionContext):
    """``FastExecutionContext`` noting, by response path, each value that took a general
    path (graphql-core's ``execute_field`` or ``complete_value``, a plan run field by
    field, a value completed outside compiled code) and each run of compiled code."""

    general: ClassVar[list[tuple[str, tuple[str | int, ...]]]] = []
    compiled: ClassVar[list[tuple[str, tuple[str | int, ...]]]] = []

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        self.general.append(("execute_field", _keys(path)))
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        self.general.append(("complete_value", _keys(path)))
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _execute_plan(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        plan: list[Entry],
        position_context: Any,
    ) -> Any:
        self.general.append(("plan", _keys(path)))
        return super()._execute_plan(parent_type, source, path, plan, position_context)

    def _complete_value(
        self,
        entry: Entry,
        parent_type: GraphQLObjectType,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        self.general.append(("complete", _keys(path)))
        return super()._complete_value(entry, parent_type, path, value, position_context)

    def _run_compiled(self, plan: ObjectPlan, value: Any, path: Path | None) -> Any:
        result = super()._run_compiled(plan, value, path)
        assert plan.selection is not None
        typename = plan.selection.typename if result is not Slow else "fell back"
        self.compiled.append((typename, _keys(path)))
        return result


@pytest.mark.parametrize("query", [LMS_QUERY, LMS_QUERY_ACTIONS], ids=["page", "actions"])
@pytest.mark.parametrize("sql_rendering", [False, True], ids=["executor", "rendering"])
async def test_the_dashboard_is_completed_by_compiled_code(
    lms: LMS, world: World, query: str, sql_rendering: bool
) -> None:
    """Below ``course.learners`` (its resolver reads the page), no value of the dashboard
    takes a general path: the connection with its edges, learners, users and assigners is
    one run of compiled code, and each learner's certificates (a batched field) another.
    Fails when strawberry no longer marks a plain field the way ``fields.py`` reads it, or
    when any field of these documents stops compiling. On PostgreSQL with SQL rendering on,
    the learners come as JSON built by the page query: only the connection is completed,
    and nothing below it takes a general path."""
    setup = await _world(world, lms)
    service = LMS(lms.settings.replace(sql_rendering=sql_rendering))
    app = create_app(lms=service)
    [route] = [route for route in app.routes if getattr(route, "path", None) == "/graphql"]
    route.endpoint.schema.execution_context_class = PathProbe  # type: ignore[attr-defined]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        await _complete((http, None), setup)
        PathProbe.general.clear()
        PathProbe.compiled.clear()
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": {"course": setup["course"], "first": 100}},
            headers={"Authorization": f"Bearer {setup['admin'].token}"},
        )
    await service.close()
    body = response.json()
    assert "errors" not in body, body
    edges = body["data"]["course"]["learners"]["edges"]
    assert len(edges) == 9
    assert sum(len(edge["node"]["certificates"]) for edge in edges) == 2
    above = {(), ("course",), ("course", "learners")}
    assert [(how, path) for how, path in PathProbe.general if path not in above] == []
    rendered = sql_rendering and not lms.db.is_sqlite
    assert PathProbe.compiled == [
        ("EnrollmentConnection", ("course", "learners")),
        *(
            ()
            if rendered
            else (("Enrollment", ("course", "learners", "edges", i, "node")) for i in range(9))
        ),
    ]
