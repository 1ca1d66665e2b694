"""Fuzzing the GraphQL API: random documents built from the running schema.

hypothesis-graphql builds valid queries and mutations (and, in negative mode,
invalid ones) from the schema the service really serves, plugins included; they
go over HTTP to the production-mode app (errors masked) as an admin, a learner
or nobody. Whatever the document, the answer is never a 5xx, every error carries
a known ``extensions.code``, none is an unexpected (``INTERNAL_SERVER_ERROR``)
one and no message shows internals (exception names, SQL, tracebacks).

The values written in the documents, and those sent as variables to a set of
operations, include what once reached the database and failed there: IDs whose
number is past 2**31 - 1 or 2**63 - 1 (or not positive), strings holding NUL
characters, strings around and past their maximum length, JSON values with NUL
characters, numbers that are not finite and nesting past the limit.

The CI run is bounded (``FAST_EXAMPLES`` per test); ``make test-slow`` runs the
long version (``SLOW_EXAMPLES``) and schemathesis against real served processes
(``tests/test_concurrency.py`` starts them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import graphql
import hypothesis_graphql
import pytest
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from lms_graph.schema import build_schema
from lms_graph.schema.inputs import DEFAULT_MAX_LENGTH, MAX_DEPTH, MAX_LENGTHS
from tests.conftest import make_settings
from tests.helpers import Actor, World

FAST_EXAMPLES = int(os.environ.get("LMS_FUZZ_EXAMPLES", "60"))
SLOW_EXAMPLES = int(os.environ.get("LMS_FUZZ_SLOW_EXAMPLES", "1500"))

KNOWN_CODES = {
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "CONFLICT",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
}
_INTERNALS = re.compile(
    r"Traceback|sqlalchemy|asyncpg|sqlite|psycopg|File \"|Error\)|Exception|"
    r"\bSELECT\b|\bINSERT\b|\bUPDATE\b.*\bSET\b",
    re.IGNORECASE,
)

# --- values that once reached the database --------------------------------------------

NODE_TYPES = ("User", "Course", "Chapter", "Question", "Enrollment", "ImportReport", "Session")
EDGE_NUMBERS = st.sampled_from(
    [0, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30, 10**100]
)
"""Around PostgreSQL's INTEGER and SQLite's INTEGER, and far past both."""
NUMBERS = st.one_of(EDGE_NUMBERS, st.integers(1, 6), st.integers())
GLOBAL_IDS = st.builds(to_global_id, st.sampled_from(NODE_TYPES), NUMBERS)
LENGTHS = st.one_of(
    st.sampled_from(sorted({n + d for n in MAX_LENGTHS.values() for d in (0, 1)})),
    st.sampled_from([DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH + 1, 60_000]),
    st.integers(0, DEFAULT_MAX_LENGTH + 10),
)
"""At and just past each documented maximum, and anywhere up to the default one."""
TEXT = st.one_of(
    st.tuples(st.text(max_size=6), st.text(max_size=6)).map("\x00".join),
    st.builds(lambda char, n: char * n, st.sampled_from("x\u00e9\u4e2d\x00"), LENGTHS),
    st.text(max_size=12),
)
"""Short text, text around a NUL character, long text (NUL characters included)."""
IDS = st.one_of(GLOBAL_IDS, TEXT)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"x": value}
    return value


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # NaN and Infinity too: the request body is then not JSON (400)
        TEXT,
        st.sampled_from([MAX_DEPTH, MAX_DEPTH + 1, 600]).map(_deep),
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.one_of(st.sampled_from(["dueDate", "message", "x"]), TEXT), children)
    ),
    max_leaves=6,
)


def _json_node(value: Any) -> graphql.ValueNode:
    """A JSON value written in the document (a literal)."""
    if isinstance(value, dict):
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=f"k{i}"), value=_json_node(v))
                for i, v in enumerate(value.values())
            ]
        )
    if isinstance(value, list):
        return nodes.List([_json_node(item) for item in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return graphql.FloatValueNode(value="1e999" if value != value else repr(value))
    if value is None:
        return nodes.Null
    return nodes.String(value)


CUSTOM_SCALARS = {
    "Date": st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)).map(nodes.String),
    "DateTime": st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.dictionaries(
        st.sampled_from(["dueDate", "scope", "sessionId", "message", "x"]),
        st.one_of(st.text(max_size=12), st.integers(), st.booleans()).map(nodes.String),
        max_size=3,
    ).map(
        lambda d: nodes.Object(
            [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in d.items()]
        )
    )
    | st.dictionaries(st.sampled_from(["dueDate", "message", "x"]), JSON_VALUES, max_size=2).map(
        _json_node
    ),
    "Upload": st.just(nodes.Null),
    "ID": IDS.map(nodes.String),
    "String": TEXT.map(nodes.String),
    "Int": st.one_of(st.integers(-3, 120), EDGE_NUMBERS).map(nodes.Int),
}


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
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


@pytest.fixture
async def production(lms: LMS) -> AsyncIterator[tuple[LMS, AsyncClient]]:
    service = LMS(make_settings(lms.db.url.render_as_string(hide_password=False), env="production"))
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield service, http
    await service.close()


@pytest.fixture
async def people(world: World) -> dict[str, Actor | None]:
    """An admin, an instructor and learners with enrollments, so IDs resolve to things."""
    admin = await world.admin()
    instructor = await world.user("Ines")
    learner = await world.user("Lea")
    course = await world.course(quiz=True)
    await world.instructor(course, instructor)
    await world.assign(course, [learner, await world.user("Max")], admin)
    return {"admin": admin, "instructor": instructor, "learner": learner, "anonymous": None}


def check(status: int, body: Any, document: str) -> None:
    """The invariants every answer keeps, whatever was asked."""
    assert status < 500, (status, document)
    if status != 200:
        return
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        assert code in KNOWN_CODES, (error, document)
        assert not _INTERNALS.search(error["message"]), (error, document)


async def _send(
    http: AsyncClient, document: str, who: Actor | None, variables: dict[str, Any] | None = None
) -> None:
    headers = {"Content-Type": "application/json"}
    if who:
        headers["Authorization"] = f"Bearer {who.token}"
    # json.dumps writes NaN and Infinity (which are not JSON) and nests as deep as asked.
    body = json.dumps({"query": document, "variables": variables or {}}, check_circular=False)
    response = await http.post("/graphql", content=body.encode(), headers=headers)
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    check(response.status_code, body, document)


_STRATEGIES: dict[tuple[int, str], st.SearchStrategy[Any]] = {}


def _strategy(lms: LMS, kind: str) -> st.SearchStrategy[Any]:
    """Valid and invalid documents of ``kind`` for the schema this service serves."""
    key = (id(lms), kind)
    if key not in _STRATEGIES:
        schema = build_schema(lms)._schema
        build = hypothesis_graphql.queries if kind == "query" else hypothesis_graphql.mutations
        _STRATEGIES.clear()
        _STRATEGIES[key] = st.one_of(
            [
                build(schema, custom_scalars=CUSTOM_SCALARS, mode=mode)
                for mode in hypothesis_graphql.Mode
            ]
        )
    return _STRATEGIES[key]


async def _fuzz(
    production: tuple[LMS, AsyncClient],
    people: dict[str, Actor | None],
    data: st.DataObject,
    kind: str,
) -> None:
    service, http = production
    document = data.draw(_strategy(service, kind), label="document")
    who = people[data.draw(st.sampled_from(sorted(people)), label="viewer")]
    await _send(http, str(document), who)


@fuzz_settings(FAST_EXAMPLES)
@given(data=st.data())
async def test_fuzz_queries(
    production: tuple[LMS, AsyncClient], people: dict[str, Actor | None], data: st.DataObject
) -> None:
    await _fuzz(production, people, data, "query")


@fuzz_settings(FAST_EXAMPLES)
@given(data=st.data())
async def test_fuzz_mutations(
    production: tuple[LMS, AsyncClient], people: dict[str, Actor | None], data: st.DataObject
) -> None:
    await _fuzz(production, people, data, "mutation")


@pytest.mark.slow
@fuzz_settings(SLOW_EXAMPLES)
@given(data=st.data())
async def test_fuzz_queries_long(
    production: tuple[LMS, AsyncClient], people: dict[str, Actor | None], data: st.DataObject
) -> None:
    await _fuzz(production, people, data, "query")


@pytest.mark.slow
@fuzz_settings(SLOW_EXAMPLES)
@given(data=st.data())
async def test_fuzz_mutations_long(
    production: tuple[LMS, AsyncClient], people: dict[str, Actor | None], data: st.DataObject
) -> None:
    await _fuzz(production, people, data, "mutation")


ACTIONS = st.sampled_from(["mark_complete", "reset_progress", "update_due_date", "remove"])
VARIABLE_OPERATIONS: list[tuple[str, dict[str, st.SearchStrategy[Any]]]] = [
    (
        "query ($s: String, $a: String) { courses(search: $s, after: $a) { totalCount } "
        "users(search: $s) { totalCount } }",
        {"s": TEXT, "a": TEXT},
    ),
    (
        "query ($id: ID!) { node(id: $id) { id } course(id: $id) { id } "
        "enrollment(id: $id) { id } importReport(id: $id) { id } }",
        {"id": IDS},
    ),
    (
        "query ($c: ID!, $f: LearnerFilter, $a: String) { course(id: $c) { "
        "learners(filter: $f, after: $a) { totalCount } } }",
        {
            "c": IDS,
            "f": st.fixed_dictionaries({"search": TEXT}) | st.none(),
            "a": TEXT | st.none(),
        },
    ),
    (
        "mutation ($i: RunActionInput!) { runAction(input: $i) { succeeded failed } }",
        {
            "i": st.fixed_dictionaries(
                {"action": ACTIONS | TEXT, "enrollmentIds": st.lists(IDS, max_size=3)},
                optional={
                    "note": TEXT,
                    "idempotencyKey": TEXT,
                    "params": JSON_VALUES,
                    "dryRun": st.booleans(),
                },
            )
        },
    ),
    (
        "mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }",
        {"i": st.fixed_dictionaries({"name": TEXT}, optional={"email": TEXT, "employeeId": TEXT})},
    ),
    (
        "mutation ($i: AssignCourseInput!) { assignCourse(input: $i) { skipped { reason } } }",
        {
            "i": st.fixed_dictionaries(
                {"courseId": IDS, "userIds": st.lists(IDS, max_size=3)},
                optional={"message": TEXT},
            )
        },
    ),
    ("mutation ($c: ID!) { startCourse(courseId: $c) { id } }", {"c": IDS}),
    (
        "mutation ($e: ID!, $x: ID!) { completeChapter(enrollmentId: $e, chapterId: $x) { id } }",
        {"e": IDS, "x": IDS},
    ),
]


VARIABLE_REQUESTS = st.sampled_from(VARIABLE_OPERATIONS).flatmap(
    lambda operation: st.tuples(st.just(operation[0]), st.fixed_dictionaries(operation[1]))
)
_NODE, _SEARCH = VARIABLE_OPERATIONS[1][0], VARIABLE_OPERATIONS[0][0]
_RUN, _CREATE_USER = VARIABLE_OPERATIONS[3][0], VARIABLE_OPERATIONS[4][0]
ROLES = ("admin", "anonymous", "instructor", "learner")


@fuzz_settings(FAST_EXAMPLES)
@given(request=VARIABLE_REQUESTS, role=st.sampled_from(ROLES))
# What was once a 500, always tried first: PostgreSQL's and SQLite's integer ranges,
# NUL characters PostgreSQL refuses, a search SQLite found "too complex".
@example(request=(_NODE, {"id": to_global_id("Enrollment", 2**31)}), role="admin")
@example(request=(_NODE, {"id": to_global_id("Course", 2**63)}), role="admin")
@example(request=(_SEARCH, {"s": "x" * 60_000, "a": None}), role="admin")
@example(request=(_SEARCH, {"s": "a\x00b", "a": None}), role="admin")
@example(request=(_CREATE_USER, {"i": {"name": "a\x00b"}}), role="admin")
@example(
    request=(
        _RUN,
        {
            "i": {
                "action": "mark_complete",
                "enrollmentIds": [to_global_id("Enrollment", 1)],
                "note": "\x00",
            }
        },
    ),
    role="admin",
)
async def test_fuzz_variables(
    production: tuple[LMS, AsyncClient],
    people: dict[str, Actor | None],
    request: tuple[str, dict[str, Any]],
    role: str,
) -> None:
    """Operations whose variables carry IDs past the integer range, NUL characters, long
    strings and deep or non-finite JSON: whatever is sent, never a 5xx or an unexpected
    error."""
    _, http = production
    document, variables = request
    await _send(http, document, people[role], variables)


def _json_scalar(body: bytes) -> bool:
    try:
        return not isinstance(json.loads(body), dict | list)
    except ValueError:
        return False


@fuzz_settings(FAST_EXAMPLES)
@given(body=st.text(max_size=300).map(str.encode).filter(lambda b: not _json_scalar(b)))
async def test_fuzz_raw_bodies(
    production: tuple[LMS, AsyncClient], people: dict[str, Actor | None], body: bytes
) -> None:
    """Text that is not a GraphQL request at all: a clear 4xx, never a 5xx."""
    _, http = production
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, body


@pytest.mark.parametrize("body", [b"3\xc1-E\x92M\xa0", b"0", b'"query"', b"null"])
async def test_a_body_that_is_not_a_json_object_is_a_400(
    production: tuple[LMS, AsyncClient], body: bytes
) -> None:
    _, http = production
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in response.text
