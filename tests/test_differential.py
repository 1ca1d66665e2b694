# mypy: disable-error-code="untyped-decorator"
"""Differential fuzzing of the executor: every generated query answers the same through
``FastExecutionContext`` as through graphql-core's own executor (strawberry's default
``StrawberryGraphQLCoreExecutionContext``), data and errors alike, byte for byte once
decoded.

hypothesis-graphql builds valid queries from the schema the service serves (plugins
included), over a world of courses, learners, certificates and menus, with IDs that
name real objects (and some that do not). Some fields of each document get
``@include``/``@skip`` on variables, and the document is sent twice with different
values: plans are shared between requests sending the same document, and must still
obey each request's directives. Each request goes over HTTP to the app, once per
executor, as an admin, an instructor, a learner or nobody.

Queries only: a mutation changes what the second executor would see. The CI run is
bounded (``FAST_EXAMPLES``); ``make test-slow`` runs ``SLOW_EXAMPLES``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import graphql
import hypothesis_graphql
import pytest
from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
)
from graphql.pyutils import Undefined
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.ids import from_global_id, to_global_id
from lms_graph.schema.execution import FastExecutionContext
from tests.helpers import Actor, World

FAST_EXAMPLES = int(os.environ.get("LMS_DIFFERENTIAL_EXAMPLES", "50"))
SLOW_EXAMPLES = int(os.environ.get("LMS_DIFFERENTIAL_SLOW_EXAMPLES", "1000"))

EXECUTORS = (StrawberryGraphQLCoreExecutionContext, FastExecutionContext)
"""graphql-core's executor first, then ours."""

_TOKEN = re.compile(r"token=[^&\s\"]+")
"""Signed download links name their time of signing: not the executor's doing."""


@dataclasses.dataclass
class Served:
    http: AsyncClient
    schema: Any
    """The strawberry schema of the app, whose ``execution_context_class`` is swapped."""
    people: dict[str, Actor | None]
    ids: list[str]
    """Global IDs of the world's objects, courses several times."""


@pytest.fixture
async def served(lms: LMS, world: World) -> AsyncIterator[Served]:
    """Two courses, an instructor, learners (some completed, so holding certificates, some
    with due dates) and the app in front of them."""
    admin = await world.admin()
    instructor = await world.user("Ines")
    learners = [await world.user(f"Learner {i}") for i in range(5)]
    course = await world.course("Differential", quiz=True)
    other = await world.course("Other")
    await world.instructor(course, instructor)
    enrollments = await world.assign(course, learners[:3], admin, due=dt.date(2030, 5, 1))
    enrollments += await world.assign(course, learners[3:], admin, message="Welcome")
    enrollments += await world.assign(other, learners[:2], admin)
    app = create_app(lms=lms)
    [route] = [route for route in app.routes if getattr(route, "path", None) == "/graphql"]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        completed = [to_global_id("Enrollment", eid) for eid in enrollments[:2]]
        response = await http.post(
            "/graphql",
            json={
                "query": 'mutation ($ids: [ID!]!) { runAction(input: {action: "mark_complete",'
                " enrollmentIds: $ids}) { succeeded } }",
                "variables": {"ids": completed},
            },
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert response.json()["data"]["runAction"]["succeeded"] == 2
        ids = [
            # Courses most often: the dashboard's ground is a course's learners.
            *(to_global_id("Course", c.id) for c in (course, other) for _ in range(4)),
            *(to_global_id("Enrollment", eid) for eid in enrollments),
            *(actor.id for actor in (admin, instructor, *learners)),
        ]
        people = {"admin": admin, "instructor": instructor, "learner": learners[0], "nobody": None}
        yield Served(http, route.endpoint.schema, people, ids)  # type: ignore[attr-defined]


def _custom_scalars(ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    return {
        "ID": st.one_of(
            st.sampled_from(ids),
            st.sampled_from(ids),
            st.sampled_from(ids),
            st.sampled_from(["", "nope", to_global_id("Course", 10**6)]),
        ).map(nodes.String),
        "Int": st.one_of(st.integers(0, 6), st.sampled_from([-1, 101, 2**31])).map(nodes.Int),
        "String": st.one_of(st.sampled_from(["", "Learner", "ines", "@"]), st.text(max_size=6)).map(
            nodes.String
        ),
        "Date": st.dates(dt.date(2020, 1, 1), dt.date(2040, 1, 1)).map(
            lambda d: nodes.String(d.isoformat())
        ),
        "DateTime": st.datetimes(dt.datetime(2020, 1, 1), timezones=st.just(dt.UTC)).map(
            lambda d: nodes.String(d.isoformat())
        ),
        "JSON": st.just(nodes.Object([])),
        "Upload": st.just(nodes.Null),
    }


VIEWERS = st.sampled_from(["admin", "admin", "admin", "instructor", "learner", "nobody"])
"""Admins most often: they see the most."""

_DIRECTIVES = st.sampled_from([*(None,) * 7, ("include", "a"), ("skip", "a"), ("skip", "b")])
"""Most fields keep no directive; the others are kept or dropped by ``$a`` or ``$b``."""


def _arguments_optional(field: graphql.GraphQLField) -> bool:
    return all(
        not graphql.is_non_null_type(argument.type) or argument.default_value is not Undefined
        for argument in field.args.values()
    )


def _selection(draw: st.DrawFn, schema: GraphQLSchema, of: graphql.GraphQLType, depth: int) -> str:
    """A selection of ``of``: some of its fields that need no argument (a field may come
    twice, or under an alias), objects' own selections down to ``depth`` levels, and for
    an abstract type ``__typename`` and inline fragments on some of its types."""
    named = graphql.get_named_type(of)
    if isinstance(named, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
        kinds = draw(
            st.lists(
                st.sampled_from(list(schema.get_possible_types(named))),
                min_size=1,
                max_size=2,
                unique_by=lambda kind: kind.name,
            )
        )
        fragments = (f"... on {k.name} {{ {_selection(draw, schema, k, depth)} }}" for k in kinds)
        return " ".join(["__typename", *fragments])
    assert isinstance(named, graphql.GraphQLObjectType)
    fields = sorted(
        name
        for name, field in named.fields.items()
        if _arguments_optional(field)
        and (depth > 0 or graphql.is_leaf_type(graphql.get_named_type(field.type)))
    )
    chosen = draw(st.lists(st.sampled_from([*fields, "__typename"]), min_size=1, max_size=6))
    parts = []
    for name in chosen:
        alias = draw(st.sampled_from(["", "", "", f"again_{name.strip('_')}: "]))
        field_type = named.fields[name].type if name in named.fields else graphql.GraphQLString
        if graphql.is_leaf_type(graphql.get_named_type(field_type)):
            parts.append(f"{alias}{name}")
        else:
            parts.append(f"{alias}{name} {{ {_selection(draw, schema, field_type, depth - 1)} }}")
    return " ".join(parts)


DASHBOARD_FIELDS: dict[str, Any] = {
    "__typename": None,
    "id": None,
    "state": None,
    "progress": None,
    "assignment": None,
    "dueDate": None,
    "assignedAt": None,
    "completedAt": None,
    "message": None,
    "user": {"id": None, "name": None, "email": None, "employeeId": None, "isAdmin": None},
    "assignedBy": {"id": None, "name": None, "__typename": None},
    "attempt": {"number": None, "state": None, "progress": None, "startedAt": None},
    "certificates": {"code": None, "issuedAt": None, "valid": None, "expiresAt": None},
    "availableActions": {
        "key": None,
        "label": None,
        "destructive": None,
        "params": {"name": None, "type": None, "required": None, "choices": None},
    },
}
"""The fields of the dashboard's learners (``bench/queries.py`` and more): all of them
take the compiled path."""


def _subset(draw: st.DrawFn, fields: dict[str, Any]) -> str:
    """Some of ``fields`` (one may come twice, or under an alias), and some of theirs."""
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=len(fields)))
    parts = []
    for name in chosen:
        alias = draw(st.sampled_from(["", "", "", f"again_{name.strip('_')}: "]))
        sub = fields[name]
        parts.append(f"{alias}{name}" + ("" if sub is None else f" {{ {_subset(draw, sub)} }}"))
    return " ".join(parts)


@st.composite
def dashboards(draw: st.DrawFn, schema: GraphQLSchema, courses: list[str]) -> DocumentNode:
    """A course's page of learners, each learner some of the dashboard's fields or a
    generated selection of ``Enrollment``: the documents the dashboard sends, and their
    neighbours."""
    enrollment = schema.get_type("Enrollment")
    assert enrollment is not None
    if draw(st.integers(0, 3)):
        node = _subset(draw, DASHBOARD_FIELDS)
    else:
        node = _selection(draw, schema, enrollment, depth=2)
    first = draw(st.integers(1, 6))
    order = draw(
        st.sampled_from(["", *(f", orderBy: {{field: {f}}}" for f in ("NAME", "DUE_DATE"))])
        | st.sampled_from([", orderBy: {field: PROGRESS, direction: DESC}"])
    )
    extra = draw(st.sampled_from(["", "totalCount", "pageInfo { hasNextPage endCursor }"]))
    cursor = draw(st.sampled_from(["", "cursor"]))
    course = draw(st.sampled_from(courses))
    return graphql.parse(
        f'query {{ course(id: "{course}") {{ learners(first: {first}{order}) {{ {extra} '
        f"edges {{ {cursor} node {{ {node} }} }} }} }} }}"
    )


def _with_directives(document: DocumentNode, data: st.DataObject) -> tuple[str, list[str]]:
    """The document with ``@include``/``@skip`` on variables added to some of its fields
    (drawn), and the variables it then declares."""
    used: set[str] = set()

    class AddDirectives(graphql.Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
            choice = data.draw(_DIRECTIVES, label=f"directive on {node.name.value}")
            if choice is None:
                return None
            directive, variable = choice
            used.add(variable)
            argument = ArgumentNode(
                name=NameNode(value="if"),
                value=VariableNode(name=NameNode(value=variable)),
            )
            added = DirectiveNode(name=NameNode(value=directive), arguments=(argument,))
            return dataclasses.replace(node, directives=(*(node.directives or ()), added))

    changed = graphql.visit(document, AddDirectives())
    names = sorted(used)
    boolean = NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="Boolean")))
    definitions = tuple(
        dataclasses.replace(
            definition,
            variable_definitions=tuple(
                VariableDefinitionNode(
                    variable=VariableNode(name=NameNode(value=name)),
                    type=boolean,
                    default_value=BooleanValueNode(value=True),
                    directives=(),
                )
                for name in names
            ),
        )
        if isinstance(definition, OperationDefinitionNode)
        else definition
        for definition in changed.definitions
    )
    return graphql.print_ast(dataclasses.replace(changed, definitions=definitions)), names


def _normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if isinstance(value, str):
        return _TOKEN.sub("token=...", value)
    return value


async def _answers(
    served: Served, document: str, variables: dict[str, Any], who: Actor | None
) -> list[tuple[int, Any]]:
    headers = {"Authorization": f"Bearer {who.token}"} if who else {}
    answers = []
    for executor in EXECUTORS:
        served.schema.execution_context_class = executor
        try:
            response = await served.http.post(
                "/graphql", json={"query": document, "variables": variables}, headers=headers
            )
        finally:
            served.schema.execution_context_class = FastExecutionContext
        answers.append((response.status_code, _normalised(response.json())))
    return answers


async def _differential(served: Served, data: st.DataObject) -> None:
    schema = served.schema._schema
    scalars = _custom_scalars(served.ids)
    # The dashboard's ground most often: a course's learners and what hangs off them.
    pages = dashboards(schema, [i for i in served.ids if from_global_id(i)[0] == "Course"])
    generated = hypothesis_graphql.queries(
        schema, custom_scalars=scalars, print_ast=lambda document: document
    )
    documents = st.one_of(generated, pages, pages)
    document, names = _with_directives(data.draw(documents, label="document"), data)
    who = served.people[data.draw(VIEWERS, label="viewer")]
    values = data.draw(st.fixed_dictionaries({name: st.booleans() for name in names}))
    # Then each directive the other way, on the plans the first request left.
    for variables in (values, {name: not value for name, value in values.items()}):
        plain, fast = await _answers(served, document, variables, who)
        assert fast == plain, (document, variables)


def differential_settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


@differential_settings(FAST_EXAMPLES)
@given(data=st.data())
async def test_generated_queries_answer_the_same_through_both_executors(
    served: Served, data: st.DataObject
) -> None:
    await _differential(served, data)


@pytest.mark.slow
@differential_settings(SLOW_EXAMPLES)
@given(data=st.data())
async def test_generated_queries_answer_the_same_through_both_executors_long(
    served: Served, data: st.DataObject
) -> None:
    await _differential(served, data)
