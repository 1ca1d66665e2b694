"""Every request has a deadline (``LMS_REQUEST_TIMEOUT``, CONTRACT section 11).

A fixture plugin makes requests slow on purpose: a field and a mutation that sleep
inside a SQL statement (``pg_sleep``; on SQLite a ``sleep()`` function registered on
each connection), a mutation that sleeps between statements of its transaction, and
routes that sleep before answering or half-way through a streamed body. Past the
deadline the client gets 503 ``TIMEOUT``, nothing is written, no connection stays
checked out and the next requests are served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
import strawberry
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import event, func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.types import Info

from lms_graph import LMS, GraphQLExtension, hookimpl, write
from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.services.users import insert_user
from lms_graph.settings import Settings
from tests.helpers import Actor, GraphQLClient, World

DEADLINE = 0.5
SLOW = 3.0
"""How long the slow parts take: well past the deadline."""
PG_SLEEP = "SELECT pg_sleep(:seconds)"
SQLITE_SLEEP = "SELECT sleep(:seconds)"


def _sleep_sql(context: Any) -> str:
    return SQLITE_SLEEP if context.lms.db.is_sqlite else PG_SLEEP


@strawberry.type
class SlowQuery:
    @strawberry.field
    async def slow_read(self, info: Info, seconds: float) -> float:
        """A statement on the request's read connection that takes ``seconds``."""
        await info.context.db.execute(text(_sleep_sql(info.context)), {"seconds": seconds})
        return seconds


@strawberry.type
class SlowMutation:
    @strawberry.mutation
    async def slow_create_user(
        self, info: Info, email: str, seconds: float, in_statement: bool, after_commit: bool
    ) -> str:
        """Create a user, and take ``seconds``: in a statement of the transaction, between
        its statements, or once it has committed."""
        context = info.context
        async with write(context.lms, context.viewer) as tx:
            user = await insert_user(tx, name="Slow", email=email)
            if in_statement:
                await tx.db.execute(text(_sleep_sql(context)), {"seconds": seconds})
            elif not after_commit:
                await asyncio.sleep(seconds)
        if after_commit:
            await asyncio.sleep(seconds)
        return str(user.id)


async def _wait(request: Request) -> JSONResponse:
    await asyncio.sleep(float(request.query_params["seconds"]))
    return JSONResponse({"waited": True})


async def _stream(request: Request) -> StreamingResponse:
    seconds = float(request.query_params["seconds"])

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first half;"
        await asyncio.sleep(seconds)
        yield b"second half"

    return StreamingResponse(chunks(), media_type="text/plain")


class SlowPlugin:
    """A plugin whose field, mutation and routes take as long as they are asked to."""

    @hookimpl
    def lms_register_graphql(self) -> GraphQLExtension:
        return GraphQLExtension(query=SlowQuery, mutation=SlowMutation)

    @hookimpl
    def lms_register_routes(self, lms: LMS) -> Iterable[BaseRoute]:
        return [Route("/slow/wait", _wait), Route("/slow/stream", _stream)]


def _sqlite_sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


class TimedApp:
    """The app, noting when the response started (the test client returns only once
    the app has finished, cleanup included)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started_at: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started_at = time.perf_counter()
            await send(message)

        await self.app(scope, receive, timed_send)


class Slow:
    def __init__(self, lms: LMS, http: AsyncClient, timed: TimedApp) -> None:
        self.lms = lms
        self.http = http
        self.gql = GraphQLClient(http)
        self.timed = timed
        self.invalidated = 0
        event.listen(lms.db.engine.sync_engine, "invalidate", self._invalidated)

    def _invalidated(self, *args: Any) -> None:
        self.invalidated += 1

    async def post(self, query: str, variables: dict[str, Any], token: str) -> Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )

    def checked_out(self) -> int:
        return sum(engine.pool.checkedout() for engine in self.lms.db.engines)  # type: ignore[attr-defined]

    async def users(self, email: str) -> int:
        async with self.lms.db.reader() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(m.User).where(m.User.email == email)
            )
        return int(count or 0)


@pytest.fixture
async def slow(lms: LMS) -> AsyncIterator[Slow]:
    """The app with the slow plugin and a deadline of ``DEADLINE``, on ``lms``'s database."""
    service = LMS(lms.settings.replace(request_timeout=DEADLINE), plugins=[SlowPlugin()])
    if service.db.is_sqlite:
        for engine in service.db.engines:
            event.listen(
                engine.sync_engine,
                "connect",
                lambda conn, _record: conn.create_function("sleep", 1, _sqlite_sleep),
            )
    timed = TimedApp(create_app(lms=service))
    async with AsyncClient(transport=ASGITransport(app=timed), base_url="http://lms.test") as http:
        yield Slow(service, http, timed)
    await service.close()


SLOW_READ = "query($s: Float!) { slowRead(seconds: $s) }"
SLOW_CREATE = """
mutation($email: String!, $s: Float!, $inStatement: Boolean!, $afterCommit: Boolean!) {
  slowCreateUser(email: $email, seconds: $s, inStatement: $inStatement, afterCommit: $afterCommit)
}"""


def _assert_timeout(response: Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TIMEOUT"}
    assert "nothing of it was written" in error["message"]


async def _served_afterwards(slow: Slow, admin: Actor) -> None:
    """No connection left checked out; reads and writes are served again, at once."""
    assert slow.checked_out() == 0
    started = time.perf_counter()
    for _ in range(3):
        data = await slow.gql.data("{ users { totalCount } }", token=admin.token)
        assert data["users"]["totalCount"] >= 1
    response = await slow.post(
        SLOW_CREATE,
        {"email": "next@example.com", "s": 0, "inStatement": True, "afterCommit": False},
        admin.token,
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    assert await slow.users("next@example.com") == 1
    assert time.perf_counter() - started < SLOW
    assert slow.checked_out() == 0


async def test_a_slow_read_is_answered_503_timeout_at_the_deadline(
    slow: Slow, world: World
) -> None:
    admin = await world.admin()
    started = time.perf_counter()
    response = await slow.post(SLOW_READ, {"s": SLOW}, admin.token)
    _assert_timeout(response)
    assert slow.timed.started_at is not None
    answered = slow.timed.started_at - started
    # The 503 leaves at the deadline, while the statement in flight is still running.
    assert DEADLINE <= answered < DEADLINE + 1.0
    # The read connection went back once the statement ended (the test client returns
    # when the app has cleaned up).
    await _served_afterwards(slow, admin)


@pytest.mark.parametrize("in_statement", [True, False], ids=["in-statement", "between"])
async def test_a_mutation_stopped_at_the_deadline_writes_nothing(
    slow: Slow, world: World, in_statement: bool
) -> None:
    admin = await world.admin()
    started = time.perf_counter()
    response = await slow.post(
        SLOW_CREATE,
        {"email": "slow@example.com", "s": SLOW, "inStatement": in_statement, "afterCommit": False},
        admin.token,
    )
    _assert_timeout(response)
    assert slow.timed.started_at is not None
    assert DEADLINE <= slow.timed.started_at - started < DEADLINE + 1.0
    assert await slow.users("slow@example.com") == 0
    # Cancelled in the middle of a statement, the connection is discarded, not pooled;
    # cancelled between statements, it rolled back and is as good as any.
    assert (slow.invalidated > 0) is in_statement
    await _served_afterwards(slow, admin)
    # The same user can be created now: the stopped transaction holds nothing.
    response = await slow.post(
        SLOW_CREATE,
        {"email": "slow@example.com", "s": 0, "inStatement": False, "afterCommit": False},
        admin.token,
    )
    assert "errors" not in response.json(), response.json()
    assert await slow.users("slow@example.com") == 1


async def test_a_request_that_has_committed_runs_to_its_end(slow: Slow, world: World) -> None:
    """Stopping it could no longer leave it without effect, so it is not stopped."""
    admin = await world.admin()
    response = await slow.post(
        SLOW_CREATE,
        {"email": "kept@example.com", "s": DEADLINE * 2, "inStatement": False, "afterCommit": True},
        admin.token,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["slowCreateUser"]
    assert await slow.users("kept@example.com") == 1
    assert slow.checked_out() == 0


async def test_a_slow_route_is_answered_json_503_timeout(slow: Slow) -> None:
    started = time.perf_counter()
    response = await slow.http.get("/slow/wait", params={"seconds": SLOW})
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "TIMEOUT"
    assert "0.5 seconds" in body["error"]
    assert DEADLINE <= elapsed < DEADLINE + 1.0
    fast = await slow.http.get("/slow/wait", params={"seconds": 0})
    assert fast.status_code == 200
    assert fast.json() == {"waited": True}


async def test_a_response_already_streaming_is_not_cut(slow: Slow) -> None:
    """The deadline covers the time until the response starts."""
    response = await slow.http.get("/slow/stream", params={"seconds": DEADLINE * 2})
    assert response.status_code == 200
    assert response.text == "first half;second half"


async def test_the_deadline_is_a_setting(slow: Slow, world: World) -> None:
    """Well within the deadline nothing changes; 0 turns it off."""
    admin = await world.admin()
    response = await slow.post(SLOW_READ, {"s": DEADLINE / 5}, admin.token)
    assert response.json() == {"data": {"slowRead": DEADLINE / 5}}
    unlimited = LMS(slow.lms.settings.replace(request_timeout=0), plugins=[SlowPlugin()])
    app = create_app(lms=unlimited)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        waited = await http.get("/slow/wait", params={"seconds": DEADLINE * 2})
    await unlimited.close()
    assert waited.status_code == 200


def test_lms_request_timeout_is_read_in_seconds() -> None:
    base = {"LMS_SECRET_KEY": "k" * 40}
    assert Settings.from_env(base).request_timeout == 30.0
    assert Settings.from_env({**base, "LMS_REQUEST_TIMEOUT": "2.5"}).request_timeout == 2.5
    assert Settings.from_env({**base, "LMS_REQUEST_TIMEOUT": "0"}).request_timeout == 0
    for bad in ("soon", "-1", "inf", "nan"):
        with pytest.raises(SystemExit, match="LMS_REQUEST_TIMEOUT"):
            Settings.from_env({**base, "LMS_REQUEST_TIMEOUT": bad})
