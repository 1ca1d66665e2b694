"""Transactions the database aborts run again (``lms_graph.retries``), on PostgreSQL.

The aborts are real: PostgreSQL raises SQLSTATE 40P01 (deadlock) from a statement the
probe plugin runs on its first runs, or two requests really deadlock on two rows. Each
test counts the runs and the rows written: a failed run leaves nothing behind, and the
unit of work that finally succeeds is written once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import strawberry
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import LMS, GraphQLExtension, Viewer, hookimpl, write
from lms_graph.app import create_app
from lms_graph.retries import MAX_ATTEMPTS
from tests.helpers import GraphQLClient

ABORT = "DO $$ BEGIN RAISE EXCEPTION 'chosen as deadlock victim' USING ERRCODE = '40P01'; END $$"


class Probe:
    """Writes a row per unit of work; the first ``fail`` runs are aborted as deadlocked."""

    def __init__(self) -> None:
        self.fail = 0
        self.runs = 0
        self.lms: LMS | None = None

    async def write_row(self, lms: LMS, value: int) -> None:
        self.runs += 1
        async with write(lms, Viewer(user=None)) as tx:
            await tx.db.execute(text("INSERT INTO retry_probe (value) VALUES (:v)"), {"v": value})
            if self.runs <= self.fail:
                await tx.db.execute(text(ABORT))

    @hookimpl
    def lms_register_graphql(self) -> GraphQLExtension:
        probe = self

        @strawberry.type
        class ProbeMutation:
            @strawberry.mutation
            async def probe_write(self, info: strawberry.Info, value: int) -> int:
                await probe.write_row(info.context.lms, value)
                return probe.runs

            @strawberry.mutation
            async def probe_two_transactions(self, info: strawberry.Info) -> int:
                """Commits one transaction, then the second is aborted."""
                lms = info.context.lms
                async with write(lms, Viewer(user=None)) as tx:
                    await tx.db.execute(text("INSERT INTO retry_probe (value) VALUES (1)"))
                await probe.write_row(lms, 2)
                return probe.runs

            @strawberry.mutation
            async def probe_lock(self, info: strawberry.Info, first: int, second: int) -> int:
                """Locks two rows in the order given, pausing in between."""
                probe.runs += 1
                async with write(info.context.lms, Viewer(user=None)) as tx:
                    for key in (first, second):
                        await tx.db.execute(
                            text("UPDATE retry_locks SET n = n + 1 WHERE id = :id"), {"id": key}
                        )
                        await tx.db.execute(text("SELECT pg_sleep(0.3)"))
                return probe.runs

        return GraphQLExtension(mutation=ProbeMutation)

    @hookimpl
    def lms_register_routes(self, lms: LMS) -> list[BaseRoute]:
        async def route(request: Request) -> Response:
            body = await request.json()
            await self.write_row(lms, int(body["value"]))
            return JSONResponse({"runs": self.runs})

        return [Route("/probe/write", route, methods=["POST"])]


@pytest.fixture
async def probe(lms: LMS) -> AsyncIterator[tuple[Probe, GraphQLClient]]:
    if lms.db.is_sqlite:
        pytest.skip("PostgreSQL aborts transactions as deadlock victims; SQLite has one writer")
    async with lms.db.transaction() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS retry_probe, retry_locks"))
        await conn.execute(text("CREATE TABLE retry_probe (id serial PRIMARY KEY, value int)"))
        await conn.execute(text("CREATE TABLE retry_locks (id int PRIMARY KEY, n int)"))
        await conn.execute(text("INSERT INTO retry_locks VALUES (1, 0), (2, 0)"))
    plugin = Probe()
    service = LMS(lms.settings, plugins=[plugin])
    transport = ASGITransport(app=create_app(lms=service), raise_app_exceptions=False)
    try:
        async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
            yield plugin, GraphQLClient(http)
    finally:
        await service.close()
        async with lms.db.transaction() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS retry_probe, retry_locks"))


async def _rows(lms: LMS) -> list[int]:
    async with lms.db.reader() as conn:
        return list((await conn.execute(text("SELECT value FROM retry_probe"))).scalars())


async def _deadlock_retries(gql: GraphQLClient) -> float:
    """The operator's count of transactions run again after a deadlock (``/metrics``)."""
    text = (await gql.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "lms_transaction_retries_total" and sample.labels == {
                "reason": "deadlock"
            }:
                return sample.value
    return 0.0


WRITE = "mutation($v: Int!) { probeWrite(value: $v) }"


async def test_a_deadlocked_mutation_runs_again_and_is_written_once(
    lms: LMS, probe: tuple[Probe, GraphQLClient]
) -> None:
    plugin, gql = probe
    plugin.fail = 2
    retries = await _deadlock_retries(gql)
    data = await gql.data(WRITE, {"v": 7})
    assert data == {"probeWrite": 3}
    assert await _rows(lms) == [7]
    assert await _deadlock_retries(gql) == retries + 2


async def test_spent_retries_answer_try_again_and_write_nothing(
    lms: LMS, probe: tuple[Probe, GraphQLClient]
) -> None:
    plugin, gql = probe
    plugin.fail = 1000
    body = await gql(WRITE, {"v": 7})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TRY_AGAIN", error
    assert "Send the same request again" in error["message"]
    assert plugin.runs == MAX_ATTEMPTS
    assert await _rows(lms) == []


async def test_nothing_runs_again_once_a_transaction_of_it_committed(
    lms: LMS, probe: tuple[Probe, GraphQLClient]
) -> None:
    plugin, gql = probe
    plugin.fail = 1
    body = await gql("mutation { probeTwoTransactions }")
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert plugin.runs == 1
    assert await _rows(lms) == [1]  # the committed first part, once


async def test_two_requests_that_really_deadlock_both_succeed(
    probe: tuple[Probe, GraphQLClient],
) -> None:
    plugin, gql = probe
    query = "mutation($a: Int!, $b: Int!) { probeLock(first: $a, second: $b) }"
    answers = await asyncio.gather(gql(query, {"a": 1, "b": 2}), gql(query, {"a": 2, "b": 1}))
    assert [a.get("errors") for a in answers] == [None, None], answers
    assert plugin.runs == 3  # PostgreSQL aborted one of the two once


async def test_an_http_route_runs_again_with_its_body(
    lms: LMS, probe: tuple[Probe, GraphQLClient]
) -> None:
    plugin, gql = probe
    plugin.fail = 2
    response = await gql.http.post("/probe/write", json={"value": 5})
    assert response.status_code == 200, response.text
    assert response.json() == {"runs": 3}
    assert await _rows(lms) == [5]


async def test_an_http_route_out_of_retries_answers_503_try_again(
    lms: LMS, probe: tuple[Probe, GraphQLClient]
) -> None:
    plugin, gql = probe
    plugin.fail = 1000
    response = await gql.http.post("/probe/write", json={"value": 5})
    assert response.status_code == 503, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "TRY_AGAIN"
    assert response.headers["retry-after"] == "1"
    assert plugin.runs == MAX_ATTEMPTS
    assert await _rows(lms) == []
