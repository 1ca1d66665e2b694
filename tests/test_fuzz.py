"""Fuzzing the GraphQL API: random documents built from the running schema.

hypothesis-graphql builds valid queries and mutations (and, in negative mode,
invalid ones) from the schema the service really serves, plugins included; they
go over HTTP to the production-mode app (errors masked) as an admin, a learner
or nobody. Whatever the document, the answer is never a 5xx, every error carries
a known ``extensions.code``, none is an unexpected (``INTERNAL_SERVER_ERROR``)
one and no message shows internals (exception names, SQL, tracebacks).

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
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.schema import build_schema
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
    ),
    "Upload": st.just(nodes.Null),
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


async def _send(http: AsyncClient, document: str, who: Actor | None) -> None:
    headers = {"Authorization": f"Bearer {who.token}"} if who else {}
    response = await http.post("/graphql", json={"query": document}, headers=headers)
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
