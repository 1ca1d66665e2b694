"""What a hostile GraphQL document costs: CPU milliseconds per request, over HTTP.

    python -m bench documents [--runs 5] [--production] [--postgres URL]

Every document here fits the token limit (``LMS_MAX_QUERY_TOKENS``, 2,000) and the body
limit, and aims at one cost: fragments spread in fan-out, fields repeated (graphql-core's
``OverlappingFieldsCanBeMergedRule`` compares every two), hundreds of operations,
variables, directives, arguments, inline fragments, names a megabyte long (suggestions
are computed from them), deep values. Those at the edge of the limits (2,000 pairs of
repeated fields, 500 selections) are here too: they are answered, and are the costliest
a client may send.

Each run sends the document with more spaces in front, so that nothing is cached (an
attacker varies their documents); "cached" sends a text seen before. CPU time is the
process's while the server handles the request (the database driver's thread included,
the client's encoding left out), on a database holding one admin: the median of
``--runs``. tests/test_document_cost.py sends the same documents (``hostile_documents``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    Lexer,
    Source,
    TokenKind,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
    is_object_type,
    is_required_argument,
)
from httpx import ASGITransport, AsyncClient
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.actions import _postgres_database
from lms_graph.app import create_app
from lms_graph.auth import Viewer, issue_token
from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.plugin_manager import installed_plugins
from lms_graph.schema import build_schema
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from lms_graph.settings import Settings

SECRET = "bench-secret-key-long-enough-for-hs256-signing"
MEGABYTE_TEXT = 1_000_000
"""Characters of the longest single token sent (the body limit is 1 MiB)."""


def tokens(document: str) -> int:
    """Tokens as the parser's limit counts them (comments included)."""
    lexer = Lexer(Source(document))
    while lexer.advance().kind is not TokenKind.EOF:
        pass
    count = 0
    token = lexer.token.prev
    while token is not None and token.kind is not TokenKind.SOF:
        count += 1
        token = token.prev
    return count


def wide_selection(schema: GraphQLSchema, type_name: str, budget: int, depth: int = 8) -> str:
    """Every field of a type that needs no argument, objects ``depth`` levels down (lists
    asked with ``first: 1``), ``budget`` selections at most, each name once."""
    remaining = budget

    def fields(object_type: GraphQLObjectType, levels: int) -> Iterator[str]:
        nonlocal remaining
        for name, field in object_type.fields.items():
            if remaining <= 0:
                return
            if any(is_required_argument(argument) for argument in field.args.values()):
                continue
            named = get_named_type(field.type)
            arguments = "(first: 1)" if "first" in field.args else ""
            if is_leaf_type(named):
                remaining -= 1
                yield f"{name}{arguments}"
            elif is_object_type(named) and levels > 0:
                remaining -= 1
                inner = " ".join(fields(named, levels - 1))
                yield f"{name}{arguments} {{ {inner or '__typename'} }}"

    root = schema.type_map[type_name]
    assert isinstance(root, GraphQLObjectType)
    return " ".join(fields(root, depth))


def _fan_out(levels: int, on: str, leaf: str) -> str:
    spreads = " ".join(
        f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{spreads} fragment F{levels} on {on} {{ {leaf} }}"


def _fill(unit: str, budget: int, around: int) -> int:
    """How many ``unit``s fit in ``budget`` tokens beside ``around`` others."""
    return (budget - around) // tokens(unit)


def _many(template: str, count: int, sep: str = " ") -> str:
    """``template`` ``count`` times, ``{i}`` numbered."""
    return sep.join(template.replace("{i}", str(i)) for i in range(count))


def _nested(opening: str, inner: str, closing: str, levels: int) -> str:
    return opening * levels + inner + closing * levels


CHAIN = (
    "viewer { enrollments(first: 1) { edges { node { user { enrollments(first: 1) {"
    " edges { node { user { id } } } } } } } } }"
)
"""Ten levels of fields, the deepest allowed."""
CHAIN_FIELDS = 10


def _pairs(copies: int) -> int:
    return copies * (copies - 1) // 2


def _most_copies(max_pairs: int, fields: int) -> int:
    """How many copies of a selection of ``fields`` nested fields fit ``max_pairs``."""
    copies = 1
    while _pairs(copies + 1) * fields <= max_pairs:
        copies += 1
    return copies


def edge_documents(schema: GraphQLSchema, settings: Settings) -> dict[str, str]:
    """The costliest documents the limits let through (as many repeated fields and
    selections as allowed): they are answered."""
    copies = 2  # of the widest selection that keeps within the pairs and selections
    while (
        _pairs(copies + 1) * (settings.max_selections // (copies + 1)) <= settings.max_field_pairs
    ):
        copies += 1
    per_copy = settings.max_selections // copies - 1
    user = wide_selection(schema, "User", per_copy)
    spread = wide_selection(schema, "User", per_copy - 1)  # beside its spread
    chains = _most_copies(settings.max_field_pairs, CHAIN_FIELDS)
    ids = _most_copies(settings.max_field_pairs, 1)
    viewers = _most_copies(settings.max_field_pairs, 2)
    shared = settings.max_operations
    return {
        f"{viewers} x viewer {{ id }}": "{ " + _many("viewer { id }", viewers) + " }",
        f"{ids} x id": "{ viewer { " + _many("id", ids) + " } }",
        f"{copies} x viewer, {per_copy} selections each": "{ "
        + _many(f"viewer {{ {user} }}", copies)
        + " }",
        f"{copies} fragments alike, {per_copy} selections each": "{ viewer { "
        + _many("...U{i}", copies)
        + " } } "
        + _many(f"fragment U{{i}} on User {{ {spread} }}", copies),
        f"{chains} x a 10-deep chain": "{ " + _many(CHAIN, chains) + " }",
        "15 fragments with __typename and id": "{ viewer { __typename id "
        + _many("...A{i}", 15)
        + " } } "
        + _many("fragment A{i} on User { __typename id name }", 15),
        f"{shared} operations sharing a fragment": _many("query Q{i} { ...S }", shared)
        + " fragment S on Query { viewer { "
        + wide_selection(schema, "User", settings.max_selections // shared - 2)
        + " } }",
    }


def hostile_documents(schema: GraphQLSchema, settings: Settings) -> dict[str, str]:
    """The documents, by name. Each holds at most ``settings.max_query_tokens`` tokens."""
    budget = settings.max_query_tokens
    ops = _fill("query Q0 { __typename }", budget, 0)
    levels = _fill("fragment F0 on Query { ...F1 ...F1 }", budget, 12)
    frags = _fill("fragment F0 on User { id }", budget, 3)
    spread_once = _fill("fragment F0 on User { id } ...F0", budget, 6)
    vars_ = _fill("$v0: Int", budget, 6)
    listed = _fill("$v0: LearnerState! = STARTED $v0", budget, 30)
    args = _fill("f0: 1", budget, 6)
    fields = _fill("nmae0", budget, 6)
    directives = _fill("@include(if: true)", budget, 6)
    deep = 190  # the parser refuses nesting past 200
    big = MEGABYTE_TEXT
    documents = {
        "fan-out: 2^20 spreads of __typename": "{ ...F0 } " + _fan_out(20, "Query", "__typename"),
        f"fan-out: 2^{levels} spreads": "{ ...F0 } " + _fan_out(levels, "Query", "__typename"),
        "fan-out: 2^20 spreads of User fields": "{ viewer { ...F0 } } "
        + _fan_out(20, "User", "id name"),
        "320 x viewer { id name }": "{ " + _many("viewer { id name }", 320) + " }",
        "400 x viewer { id }": "{ " + _many("viewer { id }", 400) + " }",
        "320 x viewer { id name } beside a cycle": "{ viewer { ...X } "
        + _many("viewer { id name }", 320)
        + " } fragment X on User { ...X }",
        "1,990 x id": "{ viewer { " + _many("id", 1990) + " } }",
        "330 inline fragments on Node": '{ node(id: "x") { '
        + _many("... on User { id }", 330)
        + " } }",
        **edge_documents(schema, settings),
        f"{ops} operations": _many("query Q{i} { __typename }", ops),
        f"{frags} unused fragments": "{ __typename } "
        + _many("fragment F{i} on User { id }", frags),
        f"{spread_once} fragments spread once each": "{ viewer { "
        + _many("...F{i}", spread_once)
        + " } } "
        + _many("fragment F{i} on User { id }", spread_once),
        "150 fragments in a web of cycles": "{ viewer { ...C0 } } "
        + " ".join(
            f"fragment C{i} on User {{ id ...C{(i + 1) % 150} ...C{(i + 7) % 150} }}"
            for i in range(150)
        ),
        f"{vars_} unused variables": "query(" + _many("$v{i}: Int", vars_) + ") { __typename }",
        f"{vars_} unknown variable types": "query("
        + _many("$v{i}: Nt{i}", vars_)
        + ") { __typename }",
        f"{listed} variables in one list": "query("
        + _many("$v{i}: LearnerState! = STARTED", listed)
        + ') { course(id: "x") { learners(first: 1, filter: { states: ['
        + _many("$v{i}", listed)
        + "] }) { totalCount } } }",
        f"{directives} directives on one field": "{ viewer { id "
        + _many("@include(if: true)", directives)
        + " } }",
        f"{args} arguments": "{ users(" + _many("first: 1", args) + ") { totalCount } }",
        f"{args} unknown arguments": "{ users(" + _many("frist{i}: 1", args) + ") { totalCount } }",
        f"{fields} unknown fields": "{ viewer { " + _many("nmae{i}", fields) + " } }",
        "1,990-item list value": '{ users(search: ["' + _many("a", 1985, '" "') + '"]) { id } }',
        f"{deep}-deep list value": "{ users(search: "
        + _nested("[", '"a"', "]", deep)
        + ") { totalCount } }",
        f"{deep}-deep input object": '{ course(id: "x") { learners(filter: '
        + _nested("{ search: ", '"a"', " }", deep)
        + ") { totalCount } } }",
        f"{deep}-deep __type.ofType": '{ __type(name: "User") { '
        + _nested("ofType { ", "name", " }", deep)
        + " } }",
        "5,000-digit first": "{ users(first: " + "9" * 5000 + ") { totalCount } }",
        "5,000-digit Int argument": "{ certificatesExpiring(withinDays: "
        + "9" * 5000
        + ") { code } }",
        "1 MB string argument": '{ users(search: "' + "a" * big + '") { totalCount } }',
        "1 MB unknown field name": "{ viewer { " + "n" * big + " } }",
        "1 MB unknown type name": "query($v: " + "I" * big + ") { __typename }",
        "1 MB operation name": "query " + "Q" * big + " { __typename }",
        "1 MB comment": "#" + "c" * big + "\n{ __typename }",
        "introspection (GraphiQL's)": get_introspection_query(descriptions=True),
    }
    for name, document in documents.items():
        assert tokens(document) <= budget, (name, tokens(document))
    return documents


def _outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if not errors:
        return "answered"
    error = errors[0]
    code = (error.get("extensions") or {}).get("code", "?")
    message = " ".join(str(error.get("message", "")).split())
    return f"{code}: {message[:70]}"


class Timed:
    """An ASGI app, with the process's CPU time of its last request (the server's work:
    the client's encoding and decoding are left out)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_ms = (time.process_time() - started) * 1000


class Client:
    """Posts documents as the admin; answers the server's CPU milliseconds and the body."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.server = Timed(app)
        self.http = AsyncClient(
            transport=ASGITransport(app=self.server), base_url="http://lms.test"
        )
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(
        self, document: str, operation_name: str | None = None
    ) -> tuple[float, dict[str, Any]]:
        payload: dict[str, Any] = {"query": document}
        if operation_name is not None:
            payload["operationName"] = operation_name
        response = await self.http.post("/graphql", json=payload, headers=self.headers)
        return self.server.last_ms, response.json()

    async def close(self) -> None:
        await self.http.aclose()


def _unique(document: str, number: int) -> str:
    """The document with ``number`` spaces more in front: a text seen nowhere before (and
    no token more)."""
    return " " * (number + 1) + document


async def measure(
    client: Client, documents: dict[str, str], runs: int
) -> list[tuple[str, int, int, str, float, float]]:
    """name, bytes, tokens, outcome, cold ms (median), cached ms (median)."""
    rows = []
    for n, (name, document) in enumerate(documents.items()):
        cold: list[float] = []
        body: dict[str, Any] = {}
        for run in range(runs):
            spent, body = await client.post(_unique(document, n * runs + run))
            cold.append(spent)
        cached = [(await client.post(_unique(document, n * runs)))[0] for _ in range(runs)]
        rows.append(
            (
                name,
                len(document.encode()),
                tokens(document),
                _outcome(body),
                statistics.median(cold),
                statistics.median(cached),
            )
        )
    return rows


OPERATION = """query Viewer%s {
  viewer { id name email employeeId active isAdmin credits
    enrollments(first: 10) { totalCount edges { node { id state progress dueDate
      course { id title } } } } }
}"""


async def measure_operation_names(client: Client, runs: int) -> list[tuple[str, float]]:
    """One document under the same name, a new name each time, a new text each time."""
    await client.post(OPERATION % "Same", "ViewerSame")
    same = [(await client.post(OPERATION % "Same", "ViewerSame"))[0] for _ in range(runs)]
    renamed = []
    for run in range(runs):
        name = f"{run:08d}"
        renamed.append((await client.post(OPERATION % name, f"Viewer{name}"))[0])
    fresh = []
    for run in range(runs):
        fresh.append((await client.post(_unique(OPERATION % "Same", run), "ViewerSame"))[0])
    return [
        ("the same text again", statistics.median(same)),
        ("a new operation name each time", statistics.median(renamed)),
        ("a new text each time (parsed, validated, planned)", statistics.median(fresh)),
    ]


def _plugins() -> tuple[str, ...]:
    return tuple(
        sorted(
            name
            for name, entry_point in installed_plugins().items()
            if entry_point.dist is not None and entry_point.dist.name == "lms-graph"
        )
    )


async def run(settings: Settings, runs: int) -> None:
    lms = LMS(settings)
    try:
        await upgrade(lms)
        async with write(lms, Viewer(user=None)) as tx:
            admin = await insert_user(tx, name="Admin", email="admin@bench.test", is_admin=True)
        schema = build_schema(lms)._schema
        documents = hostile_documents(schema, settings)
        client = Client(create_app(lms=lms), issue_token(settings, admin.id))
        try:
            await client.post("{ __typename }")  # warm up
            rows = await measure(client, documents, runs)
            names = await measure_operation_names(client, runs)
        finally:
            await client.close()
    finally:
        await lms.close()
    mode = "production" if settings.production else "development"
    backend = settings.database_url.split(":")[0]
    print(f"\nHostile documents ({mode}, {backend}): server CPU ms per request, median of {runs}")
    print(f"{'document':<44} {'bytes':>9} {'tokens':>6} {'cold ms':>8} {'cached':>7}  outcome")
    for name, size, count, outcome, cold, cached in rows:
        print(f"{name:<44} {size:>9,} {count:>6} {cold:>8.1f} {cached:>7.1f}  {outcome}")
    worst = max(rows, key=lambda row: row[4])
    print(f"\nWorst: {worst[0]!r}, {worst[4]:.1f} ms ({worst[3]})")
    print("\nOne 25-field query (CPU ms, median):")
    for label, spent in names:
        print(f"  {label:<52} {spent:6.1f}")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench documents")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--production", action="store_true", help="LMS_ENV=production")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on a new database of this PostgreSQL server (default: a SQLite file)",
    )
    args = parser.parse_args(argv)
    env = "production" if args.production else "development"
    if args.postgres:
        database = await _postgres_database(args.postgres)
        if database is None:
            return
        url, drop = database
        try:
            await run(Settings(url, SECRET, env, _plugins()), args.runs)
        finally:
            await drop()
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'documents.db'}"
        await run(Settings(url, SECRET, env, _plugins()), args.runs)
