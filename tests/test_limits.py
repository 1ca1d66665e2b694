"""CONTRACT section 8: limits refuse a request before anything runs; production mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph.app import create_app
from lms_graph.core import LMS
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, StatementCounter, World


def _nested(selections: int) -> str:
    """``selections`` nested fields and a leaf, so ``selections + 1`` levels:
    viewer { enrollments { edges { node { user { enrollments { ... { id } } } } } } }"""
    cycle = ["enrollments", "edges", "node", "user"]
    fields = ["viewer"] + [cycle[i % 4] for i in range(selections - 1)]
    query = "id"
    for field in reversed(fields):
        query = f"{field} {{ {query} }}"
    return "{ " + query + " }"


async def test_depth_limit_counts_the_root_field_as_one(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    ok = await gql(_nested(9), token=admin.token)  # 10 levels
    assert "errors" not in ok, ok
    statements.reset()
    refused = await gql.error(_nested(10), token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "11 levels" in refused["message"]
    assert "at most 10" in refused["message"]
    # Refused at validation: only the viewer lookup of the token ran, no resolver.
    assert statements.count <= 1


async def test_alias_limit_counts_aliases_inside_fragments(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    fifteen = " ".join(f"a{i}: name" for i in range(15))
    assert "errors" not in await gql(f"{{ viewer {{ {fifteen} }} }}", token=admin.token)
    spread = "fragment F on User { " + " ".join(f"b{i}: name" for i in range(8)) + " }"
    query = f"{{ viewer {{ ...F }} me: viewer {{ ...F }} }} {spread}"
    refused = await gql.error(query, token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "17 aliases" in refused["message"]


async def test_token_limit(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    query = "{ viewer { " + " ".join(["name"] * 2100) + " } }"
    refused = await gql.error(query, token=admin.token)
    assert "token" in refused["message"].lower()


async def test_cost_limit_multiplies_through_pages(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    page = "edges { node { id name } }"
    cheap = f"{{ users(first: 100) {{ {page} }} }}"
    assert "errors" not in await gql(cheap, token=admin.token)
    costly = (
        "{ courses(first: 100) { edges { node { learners(first: 100) { edges { node {"
        " id user { id name } } } } } } } }"
    )
    refused = await gql.error(costly, token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 50000" in refused["message"]


async def test_json_body_over_one_mebibyte_is_413(client: AsyncClient) -> None:
    body = json.dumps({"query": "{ viewer { id } }", "padding": "x" * (1024 * 1024)})
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_streamed_body_without_length_is_counted(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { id } }", "padding": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_mutations_only_by_post(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    query = 'mutation { createUser(input: {name: "X", email: "x@example.com"}) { id } }'
    response = await client.get(
        "/graphql", params={"query": query}, headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert response.status_code in (400, 405)
    users = await GraphQLClient(client).data("{ users { totalCount } }", token=admin.token)
    assert users["users"]["totalCount"] == 1


async def test_batched_requests_are_refused(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    response = await client.post(
        "/graphql",
        json=[{"query": "{ viewer { id } }"}, {"query": "{ viewer { id } }"}],
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 400


@pytest.fixture
async def production(lms: LMS) -> AsyncIterator[AsyncClient]:
    settings = make_settings(lms.db.url.render_as_string(hide_password=False), env="production")
    service = LMS(settings)
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield http
    await service.close()


async def test_production_hides_graphiql_introspection_and_suggestions(
    production: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    gql = GraphQLClient(production)
    page = await production.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    introspection = await gql.error("{ __schema { types { name } } }", token=admin.token)
    assert "introspection" in introspection["message"].lower()
    typo = await gql.error("{ viewer { nmae } }", token=admin.token)
    assert "Did you mean" not in typo["message"]


async def test_development_keeps_graphiql_and_suggestions(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    typo = await gql.error("{ viewer { nmae } }", token=admin.token)
    assert "Did you mean 'name'?" in typo["message"]
