"""GraphQL over HTTP against the real ASGI app."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient


class GraphQLClient:
    """POST /graphql: ``await graphql(query, variables, token=...)`` is the response body
    (``data`` and ``errors``); ``.data(...)`` asserts there is no error, ``.error(...)``
    that there is one."""

    def __init__(self, http: AsyncClient) -> None:
        self.http = http

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a request that must succeed."""
        body = await self(query, variables, token)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The first error of a request that must fail (``message``, ``extensions``)."""
        body = await self(query, variables, token)
        assert body.get("errors"), f"expected an error, got {body}"
        error: dict[str, Any] = body["errors"][0]
        return error
