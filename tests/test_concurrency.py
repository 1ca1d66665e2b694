"""Concurrency between real server processes sharing one database.

PostgreSQL: two ``lms-graph serve`` processes take conflicting mass actions,
imports and idempotent retries at the same moment; nothing is lost, nothing is
doubled. SQLite: eight writers at once across two processes on one file; none
sees "database is locked".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from tests.conftest import BUILTIN_PLUGINS, SECRET
from tests.helpers import Actor, World


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command() -> list[str]:
    found = shutil.which("lms-graph", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "lms_graph"]


@contextlib.contextmanager
def served(database_url: str, count: int, workdir: Path, **env: str) -> Iterator[list[str]]:
    """``count`` real ``lms-graph serve`` processes on free ports, sharing ``database_url``;
    yields their base URLs once each answers ``/healthz``; always stopped afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs: list[Any] = []
    environment = {
        **os.environ,
        "LMS_DATABASE_URL": database_url,
        "LMS_SECRET_KEY": SECRET,
        "LMS_PLUGINS": ",".join(BUILTIN_PLUGINS),
        **env,
    }
    try:
        for index in range(count):
            port = _free_port()
            log = (workdir / f"server-{index}.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [*_command(), "serve", "--port", str(port)],
                    env=environment,
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_healthy(url, process, workdir)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = "\n".join(p.read_text() for p in workdir.glob("server-*.log"))
            raise AssertionError(f"lms-graph serve exited with {process.returncode}:\n{logs}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


def server_logs(workdir: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(workdir.glob("server-*.log")))


async def graphql(
    http: httpx.AsyncClient, url: str, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


RUN = """
mutation($input: RunActionInput!) {
  runAction(input: $input) { succeeded skipped failed outcomes { enrollmentId status code } }
}"""


def _postgres_only(lms: LMS) -> None:
    if lms.db.is_sqlite:
        pytest.skip("two server processes on one database: the PostgreSQL deployment")


async def test_two_servers_conflicting_imports_assign_each_user_once(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    _postgres_only(lms)
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(40)]
    csv = "Email ID,Employee ID\n" + "".join(f"{a.user.email},\n" for a in learners)
    url = lms.db.url.render_as_string(hide_password=False)
    with served(url, 2, tmp_path) as (one, two):
        async with httpx.AsyncClient(timeout=60) as http:

            async def upload(base: str) -> dict[str, Any]:
                response = await http.post(
                    f"{base}/imports/assignments",
                    params={"courseId": to_global_id("Course", course.id)},
                    files={"file": ("in.csv", csv.encode(), "text/csv")},
                    headers={"Authorization": f"Bearer {admin.token}"},
                )
                assert response.status_code == 200, response.text
                report: dict[str, Any] = response.json()
                return report

            reports = await asyncio.gather(*(upload(base) for base in [one, two] * 3))
    assert sum(r["importedCount"] for r in reports) == len(learners)
    assert sum(r["failedCount"] for r in reports) == len(learners) * 5
    async with lms.db.reader() as conn:
        per_user = (
            await conn.execute(
                select(m.Enrollment.user_id, func.count())
                .where(m.Enrollment.course_id == course.id)
                .group_by(m.Enrollment.user_id)
            )
        ).all()
    assert len(per_user) == len(learners)
    assert {count for _, count in per_user} == {1}


async def test_two_servers_conflicting_mass_actions_lose_nothing(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    """Mark complete, reset and due-date runs over the same 60 learners from two
    processes at once: every OK outcome is written exactly once, nothing else is."""
    _postgres_only(lms)
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(60)]
    ids = await world.assign(course, learners, admin)
    gids = [to_global_id("Enrollment", pk) for pk in ids]
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    url = lms.db.url.render_as_string(hide_password=False)
    runs: list[dict[str, Any]] = [
        {"action": "mark_complete", "enrollmentIds": gids},
        {"action": "reset_progress", "enrollmentIds": gids},
        {"action": "update_due_date", "enrollmentIds": gids, "params": {"dueDate": due}},
        {"action": "mark_complete", "enrollmentIds": gids[::-1]},
    ]
    ok: Counter[tuple[int, str]] = Counter()
    with served(url, 2, tmp_path) as servers:
        async with httpx.AsyncClient(timeout=60) as http:
            for _ in range(3):
                answers = await asyncio.gather(
                    *(
                        graphql(http, servers[i % 2], admin.token, RUN, {"input": run})
                        for i, run in enumerate(runs)
                    )
                )
                for run, body in zip(runs, answers, strict=True):
                    assert not body.get("errors"), body
                    for outcome in body["data"]["runAction"]["outcomes"]:
                        pk = ids[gids.index(outcome["enrollmentId"])]
                        if outcome["status"] == "OK":
                            ok[pk, str(run["action"])] += 1
                        else:
                            assert outcome["code"] in ("STALE", "NOT_APPLICABLE"), outcome
        logs = server_logs(tmp_path)
    assert "Traceback" not in logs, logs
    async with lms.db.reader() as conn:
        written = Counter(
            {
                (eid, action): count
                for eid, action, count in (
                    await conn.execute(
                        select(m.HistoryEntry.enrollment_id, m.HistoryEntry.action, func.count())
                        .where(m.HistoryEntry.enrollment_id.in_(ids))
                        .group_by(m.HistoryEntry.enrollment_id, m.HistoryEntry.action)
                    )
                ).all()
                if action in {"mark_complete", "reset_progress", "update_due_date"}
            }
        )
        attempts = (
            await conn.execute(
                select(m.Attempt.state, m.Attempt.completed_at).where(
                    m.Attempt.enrollment_id.in_(ids)
                )
            )
        ).all()
    assert written == ok
    assert sum(ok.values()) >= len(ids)  # the first run of each learner went through
    for state, completed_at in attempts:
        assert (state.value == "COMPLETED") == (completed_at is not None)


async def test_two_servers_same_idempotency_key_runs_once(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    _postgres_only(lms)
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"L{i}") for i in range(20)]
    ids = await world.assign(course, learners, admin)
    run = {
        "action": "mark_complete",
        "enrollmentIds": [to_global_id("Enrollment", pk) for pk in ids],
        "idempotencyKey": "retry-42",
    }
    url = lms.db.url.render_as_string(hide_password=False)
    with served(url, 2, tmp_path) as servers:
        async with httpx.AsyncClient(timeout=60) as http:
            answers = await asyncio.gather(
                *(graphql(http, servers[i % 2], admin.token, RUN, {"input": run}) for i in range(6))
            )
    for body in answers:
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] == "CONFLICT", body
        else:
            assert body["data"]["runAction"]["succeeded"] == len(ids), body
    async with lms.db.reader() as conn:
        lines = (
            await conn.execute(
                select(func.count()).where(
                    m.HistoryEntry.enrollment_id.in_(ids), m.HistoryEntry.action == "mark_complete"
                )
            )
        ).scalar_one()
    assert lines == len(ids)


async def test_sqlite_eight_concurrent_writers_never_see_a_locked_database(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    """Two processes on one SQLite file, four writers each, every write a transaction."""
    if not lms.db.is_sqlite:
        pytest.skip("the SQLite leg")
    admin = await world.admin()
    course = await world.course(chapters=3)
    learners: list[Actor] = [await world.user(f"L{i}") for i in range(8)]
    ids = await world.assign(course, learners, admin)
    url = lms.db.url.render_as_string(hide_password=False)
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    rounds = 6
    with served(url, 2, tmp_path) as servers:
        async with httpx.AsyncClient(timeout=120) as http:

            async def writer(index: int) -> list[dict[str, Any]]:
                """A learner's own progress, interleaved with an admin's actions on them."""
                base = servers[index % 2]
                learner, enrollment = learners[index], to_global_id("Enrollment", ids[index])
                bodies = [
                    await graphql(
                        http,
                        base,
                        learner.token,
                        "mutation($c: ID!) { startCourse(courseId: $c) { id } }",
                        {"c": to_global_id("Course", course.id)},
                    )
                ]
                for _ in range(rounds):
                    for action in ("update_due_date", "mark_complete", "reset_progress"):
                        params = {"dueDate": due} if action == "update_due_date" else None
                        run = {"action": action, "enrollmentIds": [enrollment], "params": params}
                        bodies.append(await graphql(http, base, admin.token, RUN, {"input": run}))
                return bodies

            started = time.monotonic()
            results = await asyncio.gather(*(writer(i) for i in range(8)))
            elapsed = time.monotonic() - started
        logs = server_logs(tmp_path)
    assert "locked" not in logs.lower(), logs
    assert "Traceback" not in logs, logs
    for bodies in results:
        for body in bodies:
            assert not body.get("errors"), body
            run = body["data"].get("runAction")
            if run is not None:
                assert run["succeeded"] == 1, run
    async with lms.db.reader() as conn:
        lines = (
            await conn.execute(
                select(func.count()).where(
                    m.HistoryEntry.enrollment_id.in_(ids),
                    m.HistoryEntry.action.in_(
                        ["update_due_date", "mark_complete", "reset_progress"]
                    ),
                )
            )
        ).scalar_one()
    assert lines == 8 * rounds * 3
    print(f"8 writers x {1 + rounds * 3} writes on SQLite in {elapsed:.1f}s")
