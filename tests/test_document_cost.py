"""What a document may cost (issue 16): limits walked once per fragment and checked before
graphql-core validates, hostile documents answered or refused quickly, one document under
many operation names parsed once, and no "Did you mean" in production."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    parse,
)
from httpx import ASGITransport, AsyncClient

from bench.documents import edge_documents, hostile_documents
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.schema import build_schema
from lms_graph.schema import documents as documents_module
from lms_graph.schema.limits import check_document
from lms_graph.settings import Settings
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, StatementCounter, World

CPU_BOUND = 0.5
"""Seconds of CPU a hostile request may take here: ten times the target (docs/security.md),
since CI machines are shared."""

FAN_OUT = (
    "{ ...F0 } "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
    + " fragment F20 on Query { __typename }"
)
"""The reported document: 1 KB, 2**20 spreads of ``__typename``, inside every other limit."""


async def _timed(gql: GraphQLClient, query: str, token: str) -> tuple[float, dict[str, Any]]:
    """The answer, and the CPU seconds the event loop's thread spent on it (client and
    server). Not the whole process's: a long suite's database threads and a full
    collection of its heap are not the document's cost, so the collector waits."""
    gc.collect()
    gc.disable()
    try:
        started = time.thread_time()
        body = await gql(query, token=token)
        return time.thread_time() - started, body
    finally:
        gc.enable()


async def _app(lms: LMS, **changes: object) -> AsyncIterator[GraphQLClient]:
    """The app on the test's database, with other settings."""
    settings = make_settings(lms.db.url.render_as_string(hide_password=False), **changes)
    service = LMS(settings)
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield GraphQLClient(http)
    await service.close()


@pytest.fixture
async def production(lms: LMS) -> AsyncIterator[GraphQLClient]:
    async for client in _app(lms, env="production"):
        yield client


@pytest.fixture
async def small_limits(lms: LMS) -> AsyncIterator[GraphQLClient]:
    async for client in _app(
        lms, max_selections=8, max_field_pairs=3, max_query_length=200, max_operations=2
    ):
        yield client


# --- the reported documents ------------------------------------------------------------


async def test_fragment_fan_out_is_refused_in_time(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    statements.reset()
    spent, body = await _timed(gql, FAN_OUT, admin.token)
    assert spent < CPU_BOUND, f"{spent:.3f} s"
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "3145727 selections" in error["message"]
    assert "at most 500 are allowed" in error["message"]
    assert statements.count <= 1  # the viewer's lookup only: nothing ran


async def test_repeated_fields_are_refused_before_validation(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    reported = "{ " + " ".join(["viewer { id name }"] * 320) + " }"  # 960 selections
    spent, body = await _timed(gql, reported, admin.token)
    assert spent < CPU_BOUND, f"{spent:.3f} s"
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "960 selections" in body["errors"][0]["message"]
    fewer = "{ " + " ".join(["viewer { id name }"] * 150) + " }"  # 450, but 33,525 pairs
    spent, body = await _timed(gql, fewer, admin.token)
    assert spent < CPU_BOUND, f"{spent:.3f} s"
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'viewer' 150 times at one place of the response" in error["message"]
    assert "33525 pairs of fields" in error["message"]
    assert "at most 2000 are allowed" in error["message"]


async def test_fragments_in_a_cycle_are_refused_before_validation(
    gql: GraphQLClient, world: World
) -> None:
    """A cycle anywhere would let the repeated fields past the limits (the walk cannot
    expand a cycle), and graphql-core would compare them before refusing the cycle."""
    admin = await world.admin()
    query = "{ viewer { ...X } " + " ".join(["viewer { id name }"] * 320)
    query += " } fragment X on User { ...Y }"
    query += " fragment Y on User { enrollments { edges { node { user { ...X } } } } }"
    spent, body = await _timed(gql, query, admin.token)
    assert spent < CPU_BOUND, f"{spent:.3f} s"
    error = body["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == "Fragments may not spread themselves: 'X' -> 'Y' -> 'X'."


async def test_a_long_document_is_refused_before_it_is_read(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    query = "#" + "c" * 1_000_000 + "\n{ viewer { id } }"
    spent, body = await _timed(gql, query, admin.token)
    assert spent < CPU_BOUND, f"{spent:.3f} s"
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "1000019 characters long; at most 32768" in error["message"]


async def test_an_int_too_long_for_python_is_a_validation_error(
    gql: GraphQLClient, world: World
) -> None:
    """graphql-core's ``int()`` of the literal raises inside validation: the document's
    fault, not an unexpected error."""
    admin = await world.admin()
    query = "query($n: Int = " + "9" * 5000 + ") { users(first: $n) { totalCount } }"
    body = await gql(query, token=admin.token)
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {"GRAPHQL_VALIDATION_FAILED"}, body["errors"]
    assert any("Expected value of type 'Int'" in e["message"] for e in body["errors"])


# --- every hostile document ------------------------------------------------------------


async def test_hostile_documents_are_answered_or_refused_in_time(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    documents = hostile_documents(build_schema(lms)._schema, lms.settings)
    slow: list[str] = []
    faulty: list[str] = []
    for name, document in documents.items():
        spent, body = await _timed(gql, document, admin.token)
        if spent >= CPU_BOUND:
            slow.append(f"{name}: {spent:.3f} s")
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()}
        if not codes <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}:
            faulty.append(f"{name}: {body['errors'][0]}")
    assert not slow, slow
    assert not faulty, faulty


async def test_documents_at_the_edge_of_the_limits_are_answered(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    documents = edge_documents(build_schema(lms)._schema, lms.settings)
    assert len(documents) >= 6
    for name, document in documents.items():
        data = await gql.data(document, token=admin.token)
        assert data["viewer"], name


# --- the limits, one past each ---------------------------------------------------------


async def test_selections_count_fragments_wherever_they_are_spread(
    small_limits: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    fragment = " fragment U on User { id name }"
    # 2 viewers, 2 spreads, and the fragment's 2 fields at each spread: 8.
    eight = "{ viewer { ...U } me: viewer { ...U } }" + fragment
    assert "errors" not in await small_limits(eight, token=admin.token)
    nine = "{ viewer { ...U } me: viewer { ...U email } }" + fragment
    error = await small_limits.error(nine, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "9 selections" in error["message"]
    assert "at most 8" in error["message"]


async def test_repeated_fields_are_counted_in_pairs_through_fragments(
    small_limits: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    # id three times at viewer (3 pairs): allowed.
    three = "{ viewer { id ...A ...B } } fragment A on User { id } fragment B on User { id }"
    assert "errors" not in await small_limits(three, token=admin.token)
    # viewer twice (1 pair) and id twice under it (1 pair) ... and name twice: 3 pairs.
    also_three = "{ viewer { id name } viewer { id name } }"
    assert "errors" not in await small_limits(also_three, token=admin.token)
    # id four times at one place: 6 pairs.
    four = "{ viewer { id id ...A ...B } } fragment A on User { id } fragment B on User { id }"
    error = await small_limits.error(four, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'viewer.id' 4 times" in error["message"]
    assert "6 pairs" in error["message"]


async def test_document_length_limit(small_limits: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    padded = "{ viewer { id } }".ljust(200)
    assert "errors" not in await small_limits(padded, token=admin.token)
    error = await small_limits.error(padded + " ", token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "201 characters long; at most 200" in error["message"]


async def test_operations_in_one_document(small_limits: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    two = "query A { viewer { id } } query B { viewer { name } }"
    assert "errors" not in await small_limits(two, token=admin.token)
    error = await small_limits.error(two + " query C { viewer { id } }", token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "The document holds 3 operations; at most 2 are allowed."


async def test_unused_fragments_are_refused_before_validation(
    gql: GraphQLClient, world: World
) -> None:
    """One error, not graphql-core's one per fragment after every other rule ran."""
    admin = await world.admin()
    unused = " ".join(f"fragment F{i} on User {{ id }}" for i in range(5))
    body = await gql("{ viewer { ...G } } fragment G on User { id } " + unused, token=admin.token)
    assert body["errors"] == [
        {
            "message": "Fragment 'F0' and 4 others are never used.",
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }
    ]


def test_settings_read_the_document_limits() -> None:
    settings = Settings.from_env(
        {
            "LMS_SECRET_KEY": "k" * 40,
            "LMS_MAX_QUERY_LENGTH": "1000",
            "LMS_MAX_SELECTIONS": "50",
            "LMS_MAX_FIELD_PAIRS": "7",
            "LMS_MAX_OPERATIONS": "3",
        }
    )
    limits = settings.max_query_length, settings.max_selections, settings.max_field_pairs
    assert (*limits, settings.max_operations) == (1000, 50, 7, 3)


# --- walking fragments -----------------------------------------------------------------


class _CountedSelections(tuple[SelectionNode, ...]):
    """A fragment's selections, counting how often they are walked."""

    walks: dict[str, int]
    name: str

    def __iter__(self) -> Iterator[SelectionNode]:
        self.walks[self.name] = self.walks.get(self.name, 0) + 1
        return super().__iter__()


def _counting(document: DocumentNode, walks: dict[str, int]) -> DocumentNode:
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            selections = _CountedSelections(definition.selection_set.selections)
            selections.walks, selections.name = walks, definition.name.value
            selection_set = SelectionSetNode(selections=selections)
            definition = dataclasses.replace(definition, selection_set=selection_set)
        definitions.append(definition)
    return dataclasses.replace(document, definitions=tuple(definitions))


def test_the_limit_walk_visits_each_fragment_once() -> None:
    walks: dict[str, int] = {}
    errors = check_document(_counting(parse(FAN_OUT), walks), Settings())
    assert "3145727 selections" in errors[0].message
    # Each fragment: once to find what it spreads, once to measure it.
    assert walks == {f"F{i}": 2 for i in range(21)}


def test_the_limit_walk_follows_long_chains_of_fragments() -> None:
    """Fragments spreading one another 1,500 deep (past Python's recursion limit): the
    walk does not recurse through fragments."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1500))
    document = parse("{ ...F0 } " + chain + " fragment F1500 on Query { __typename }")
    assert check_document(document, Settings(max_selections=2000)) == []
    assert "1502 selections" in check_document(document, Settings())[0].message


# --- operation names -------------------------------------------------------------------


async def test_a_new_operation_name_reuses_the_parsed_document(
    gql: GraphQLClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await world.admin()
    parsed: list[str] = []

    def counted_parse(text: str, **options: Any) -> DocumentNode:
        parsed.append(text)
        return parse(text, **options)

    monkeypatch.setattr(documents_module, "parse", counted_parse)
    query = "query %s { viewer { id name } }"
    for name in ("Dash01", "Dash02", "Dash03"):
        body = await gql.http.post(
            "/graphql",
            json={"query": query % name, "operationName": name},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert body.json()["data"]["viewer"]["id"] == admin.id
    assert len(parsed) == 1
    # A name of another length shifts every position after it: parsed anew.
    assert (await gql.data(query % "Dashboard", token=admin.token))["viewer"]["id"] == admin.id
    assert len(parsed) == 2


async def test_a_renamed_document_is_answered_under_its_own_name(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await gql.data("query Aaa { viewer { id } }", token=admin.token)
    # Bbb is Aaa renamed: asked for Aaa, it has no such operation.
    response = await gql.http.post(
        "/graphql",
        json={"query": "query Bbb { viewer { id } }", "operationName": "Aaa"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 400, response.text
    assert "Aaa" in response.text
    # An invalid document is validated under its own name, not the first one's.
    first = await gql.error("query Ccc($x: Int) { viewer { id } }", token=admin.token)
    assert "operation 'Ccc'" in first["message"]
    second = await gql.error("query Ddd($x: Int) { viewer { id } }", token=admin.token)
    assert "operation 'Ddd'" in second["message"]


# --- suggestions -----------------------------------------------------------------------

SUGGESTED: dict[str, tuple[str, dict[str, Any] | None]] = {
    "field": ("{ viewer { nmae } }", None),
    "argument": ("{ users(frist: 1) { totalCount } }", None),
    "input field": (
        '{ course(id: "x") { learners(filter: { serach: "a" }) { totalCount } } }',
        None,
    ),
    "input field of a variable": (
        'query($f: LearnerFilter) { course(id: "x") { learners(filter: $f) { totalCount } } }',
        {"f": {"serach": "a"}},
    ),
    "type": ("query($s: Strin) { users(search: $s) { totalCount } }", None),
    "type condition": ("{ viewer { ...F } } fragment F on Usr { id }", None),
    "enum value": (
        '{ course(id: "x") { learners(filter: { states: [STARTD] }) { totalCount } } }',
        None,
    ),
    "enum value of a variable": (
        'query($s: [LearnerState!]) { course(id: "x") { learners(filter: { states: $s }) {'
        " totalCount } } }",
        {"s": ["STARTD"]},
    ),
    "directive argument": ("{ viewer @include(iff: true) { id } }", None),
}
"""A document per kind of name, each with a typo graphql-core suggests a name for."""


@pytest.mark.parametrize("kind", [*SUGGESTED, "directive"])
async def test_production_suggests_no_names(
    production: GraphQLClient, world: World, kind: str
) -> None:
    admin = await world.admin()
    query, variables = SUGGESTED.get(kind, ("{ viewer @inclde(if: true) { id } }", None))
    body = await production(query, variables, token=admin.token)
    assert body["errors"], body
    for error in body["errors"]:
        assert "Did you mean" not in error["message"], error
        assert error["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")


@pytest.mark.parametrize("kind", SUGGESTED)
async def test_development_suggests_names(gql: GraphQLClient, world: World, kind: str) -> None:
    admin = await world.admin()
    query, variables = SUGGESTED[kind]
    error = await gql.error(query, variables, token=admin.token)
    assert "Did you mean" in error["message"], error
