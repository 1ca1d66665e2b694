from __future__ import annotations

from httpx import AsyncClient

from tests.helpers import GraphQLClient, World


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_viewer(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Grace")
    data = await gql.data("{ viewer { name isAdmin } }", token=admin.token)
    assert data == {"viewer": {"name": "Grace", "isAdmin": True}}
