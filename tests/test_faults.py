"""Faults in the middle of a write: nothing half-written, and the service goes on.

Two real faults, no mocks:

- PostgreSQL drops the connection: the app talks to the database through a TCP
  proxy (``CuttingProxy``) that reads the wire protocol and, once armed, cuts
  both sides the moment the client sends a chosen statement, i.e. in the middle
  of the mass action's or the import's transaction.
- The database refuses a statement part-way (a trigger raising on an insert
  into ``history`` or ``attempts``), on SQLite and on PostgreSQL.

A transaction that died with its connection before COMMIT wrote nothing, so it runs
again on a new connection and its effect is there once. After a fault that is not run
again (a failing statement; a connection lost at COMMIT, whose outcome is unknown): the
request failed cleanly (a masked error, no internals), every table holds exactly what
it held before, and the next request succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, World
from tests.test_authz_matrix import dump

RUN = """
mutation($input: RunActionInput!) {
  runAction(input: $input) { succeeded outcomes { status code } }
}"""


class CuttingProxy:
    """A TCP proxy to PostgreSQL that, armed with a statement's text, drops every
    connection when a client sends it (before the server sees it)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.trigger: bytes | None = None
        self.cuts = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, server_w}
        await asyncio.gather(
            self._pipe(client_r, server_w, inspect=True),
            self._pipe(server_r, client_w, inspect=False),
            return_exceptions=True,
        )
        for writer in (client_w, server_w):
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, inspect: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if inspect and self.trigger is not None and self.trigger in chunk:
                    self.trigger = None
                    self.cuts += 1
                    self.cut()
                    return
                writer.write(chunk)
                await writer.drain()
        finally:
            # One side closed: close the other, so a peer waiting for the close sees it.
            writer.transport.abort()


@contextlib.asynccontextmanager
async def through_proxy(lms: LMS) -> AsyncIterator[tuple[CuttingProxy, GraphQLClient]]:
    url = lms.db.url
    proxy = CuttingProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    service = LMS(make_settings(proxied))
    app = create_app(lms=service)
    try:
        # As a server answers an unexpected exception: a bare 500 (not raised into the test).
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://lms.test") as h:
            yield proxy, GraphQLClient(h)
    finally:
        await service.close()
        await proxy.stop()


async def _course_with_learners(world: World, count: int = 30) -> tuple[Actor, Any, list[int]]:
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(count)]
    return admin, course, await world.assign(course, learners, admin)


def _run(ids: list[int], action: str = "mark_complete", **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "action": action,
            "enrollmentIds": [to_global_id("Enrollment", pk) for pk in ids],
            **extra,
        }
    }


def _failed_cleanly(body: dict[str, Any]) -> None:
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", error
    assert "Unexpected error" in error["message"], error
    assert "INSERT" not in error["message"], error
    assert "asyncpg" not in error["message"], error


def _postgres(lms: LMS) -> None:
    if lms.db.is_sqlite:
        pytest.skip("a dropped connection is the PostgreSQL leg; SQLite has no connection")


async def test_connection_dropped_mid_mass_action_runs_it_again_once(
    lms: LMS, world: World
) -> None:
    """The transaction died with its connection before COMMIT: nothing of it was
    written, so the mutation runs again on a new connection, and its effect is there
    exactly once."""
    _postgres(lms)
    admin, _, ids = await _course_with_learners(world)
    async with through_proxy(lms) as (proxy, gql):
        # Past the attempts' update, at the first history line: mid-transaction.
        proxy.trigger = b"INSERT INTO history"
        body = await gql.data(RUN, _run(ids), token=admin.token)
        assert proxy.cuts == 1
    assert body["runAction"]["succeeded"] == len(ids)
    assert await _history_lines(lms, ids, "mark_complete") == len(ids)


async def test_connection_dropped_at_commit_is_not_run_again(lms: LMS, world: World) -> None:
    """Whether a COMMIT the connection died in took effect is unknown: the mutation is
    not run again blindly; the client is told it failed (here nothing was written, the
    server never saw the COMMIT)."""
    _postgres(lms)
    admin, _, ids = await _course_with_learners(world)
    before = await dump(lms)
    async with through_proxy(lms) as (proxy, gql):
        proxy.trigger = b"COMMIT"
        _failed_cleanly(await gql(RUN, _run(ids), token=admin.token))
        assert proxy.cuts == 1
        assert await dump(lms) == before
        again = await gql.data(RUN, _run(ids), token=admin.token)
    assert again["runAction"]["succeeded"] == len(ids)


async def _history_lines(lms: LMS, ids: list[int], action: str) -> int:
    async with lms.db.reader() as conn:
        count: int = (
            await conn.execute(
                text("SELECT count(*) FROM history WHERE action = :action"), {"action": action}
            )
        ).scalar_one()
    return count


VIEWER = "{ viewer { id name } }"


async def test_reads_go_on_after_the_server_closed_every_connection(lms: LMS, world: World) -> None:
    """Read connections are not pinged when the pool hands them out: a request whose
    first statement meets a closed connection runs it again on a new one."""
    _postgres(lms)
    admin = await world.admin()
    async with through_proxy(lms) as (proxy, gql):
        before = await gql.data(VIEWER, token=admin.token)
        for _ in range(2):  # the closed pooled connection, then a closed pool of them
            proxy.cut()
            assert await gql.data(VIEWER, token=admin.token) == before
        proxy.cut()  # writes: their pool pings a connection before handing it out
        create = 'mutation { createUser(input: {name: "N", email: "n@example.com"}) { name } }'
        assert (await gql.data(create, token=admin.token))["createUser"]["name"] == "N"


LEARNERS = """
query($id: ID!) {
  course(id: $id) { learners(first: 30) { totalCount edges { node { id state user { name } } } } }
}"""


async def test_a_read_whose_connection_drops_between_statements_runs_on(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    """Reads are in autocommit, each statement on its own: one that meets a dropped
    connection part-way through a request runs again on a new one."""
    _postgres(lms)
    admin, course, _ = await _course_with_learners(world)
    variables = {"id": to_global_id("Course", course.id)}
    expected = await gql.data(LEARNERS, variables, token=admin.token)
    async with through_proxy(lms) as (proxy, proxied):
        proxy.trigger = b"SELECT count(*)"  # the page's total, after its learners were read
        assert await proxied.data(LEARNERS, variables, token=admin.token) == expected
        assert proxy.cuts == 1


async def test_requests_in_flight_when_the_server_terminates_every_backend(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    """``pg_terminate_backend`` on every connection of the app, again and again, while
    reads are in flight: every read is answered; every write sent after each blow too
    (asyncpg reports such connections in several ways: each is recognised)."""
    _postgres(lms)
    admin, course, _ = await _course_with_learners(world)
    variables = {"id": to_global_id("Course", course.id)}
    expected = await gql.data(LEARNERS, variables, token=admin.token)
    database = lms.db.url.database
    kill = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = :db AND pid <> pg_backend_pid()"
    )
    for round_ in range(5):
        reads = [
            asyncio.create_task(gql(LEARNERS, variables, token=admin.token)) for _ in range(12)
        ]
        await asyncio.sleep(0.003 * round_)
        async with lms.db.reader() as conn:
            await conn.execute(kill, {"db": database})
        for body in await asyncio.gather(*reads):
            assert body == {"data": expected}, body
        writes = await asyncio.gather(
            *(
                gql(
                    "mutation($n: String!) { createUser(input: {name: $n, email: null,"
                    " employeeId: $n}) { name } }",
                    {"n": f"E{round_}-{i}"},
                    token=admin.token,
                )
                for i in range(6)
            )
        )
        for body in writes:
            assert not body.get("errors"), body


async def test_readers_outside_requests_go_on_after_the_server_closed_them(lms: LMS) -> None:
    _postgres(lms)
    url = lms.db.url
    proxy = CuttingProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    service = LMS(make_settings(url.set(port=proxy.port).render_as_string(hide_password=False)))
    try:
        async with service.db.reader() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        proxy.cut()
        async with service.db.reader() as conn:
            assert (await conn.execute(text("SELECT 2"))).scalar() == 2
    finally:
        await service.close()
        await proxy.stop()


async def test_connection_dropped_mid_import_runs_it_again_once(lms: LMS, world: World) -> None:
    _postgres(lms)
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(25)]
    csv = "Email ID,Employee ID\n" + "".join(f"{a.user.email},\n" for a in learners)
    async with through_proxy(lms) as (proxy, gql):
        # After the enrollments went in, at their first attempts.
        proxy.trigger = b"INSERT INTO attempts"
        response = await gql.http.post(
            "/imports/assignments",
            params={"courseId": to_global_id("Course", course.id)},
            files={"file": ("in.csv", csv.encode(), "text/csv")},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert proxy.cuts == 1
    assert response.status_code == 200, response.text
    assert response.json()["importedCount"] == len(learners)
    async with lms.db.reader() as conn:
        enrolled = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT user_id) FROM enrollments"
                    " WHERE course_id = :course"
                ),
                {"course": course.id},
            )
        ).one()
    assert tuple(enrolled) == (len(learners), len(learners))


@pytest.fixture
async def failing_insert(lms: LMS) -> AsyncIterator[Any]:
    """``arm(table)``: the next insert into ``table`` fails inside the database."""
    armed: list[str] = []

    async def arm(table: str) -> None:
        async with lms.db.transaction() as conn:
            if lms.db.is_sqlite:
                await conn.execute(
                    text(
                        f"CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
                    )
                )
            else:
                await conn.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION lms_fault() RETURNS trigger AS "
                        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"
                    )
                )
                await conn.execute(
                    text(
                        f"CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} "
                        "FOR EACH ROW EXECUTE FUNCTION lms_fault()"
                    )
                )
        armed.append(table)

    async def disarm() -> None:
        async with lms.db.transaction() as conn:
            for table in armed:
                on = "" if lms.db.is_sqlite else f" ON {table}"
                await conn.execute(text(f"DROP TRIGGER IF EXISTS fault_{table}{on}"))
        armed.clear()

    arm.disarm = disarm  # type: ignore[attr-defined]
    yield arm
    await disarm()


@pytest.mark.parametrize("action", ["mark_complete", "update_due_date", "reset_progress"])
async def test_statement_failing_mid_mass_action_writes_nothing(
    lms: LMS, world: World, gql: GraphQLClient, failing_insert: Any, action: str
) -> None:
    admin, _, ids = await _course_with_learners(world, 20)
    if action == "reset_progress":
        await gql.data(RUN, _run(ids), token=admin.token)
    params = {"params": {"dueDate": (dt.date.today() + dt.timedelta(days=3)).isoformat()}}
    extra = params if action == "update_due_date" else {}
    await failing_insert("history")
    before = await dump(lms)
    _failed_cleanly(await gql(RUN, _run(ids, action, **extra), token=admin.token))
    assert await dump(lms) == before
    await failing_insert.disarm()
    again = await gql.data(RUN, _run(ids, action, **extra), token=admin.token)
    assert again["runAction"]["succeeded"] == len(ids)


async def test_statement_failing_mid_import_writes_nothing(
    lms: LMS, world: World, failing_insert: Any
) -> None:
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(15)]
    csv = "Email ID,Employee ID\n" + "".join(f"{a.user.email},\n" for a in learners)

    transport = ASGITransport(app=create_app(lms=lms), raise_app_exceptions=False)
    client = AsyncClient(transport=transport, base_url="http://lms.test")

    async def upload() -> Any:
        return await client.post(
            "/imports/assignments",
            params={"courseId": to_global_id("Course", course.id)},
            files={"file": ("in.csv", csv.encode(), "text/csv")},
            headers={"Authorization": f"Bearer {admin.token}"},
        )

    await failing_insert("attempts")
    before = await dump(lms)
    async with client:
        failed = await upload()
        assert failed.status_code == 500
        assert "injected fault" not in failed.text
        assert "Traceback" not in failed.text
        assert await dump(lms) == before
        await failing_insert.disarm()
        again = await upload()
    assert again.status_code == 200, again.text
    assert again.json()["importedCount"] == len(learners)
