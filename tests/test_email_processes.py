"""E-mail from real ``lms-graph serve`` processes: one killed half-way through a send,
and two on one PostgreSQL database claiming from the same outbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from lms_graph.core import LMS
from lms_graph_plugins.email.tables import mail_outbox
from tests.conftest import BUILTIN_PLUGINS, SECRET
from tests.helpers import Actor, World, gid
from tests.mail_sink import MailSink
from tests.test_concurrency import _command, _free_port, _wait_healthy, served, server_logs

ASSIGN = """
mutation($input: AssignCourseInput!) { assignCourse(input: $input) { enrollments { id } } }"""


def _mail_env(sink: MailSink) -> dict[str, str]:
    return {
        "LMS_SMTP_URL": sink.url,
        "LMS_MAIL_POLL_SECONDS": "0.1",
        "LMS_MAIL_RETRY_SECONDS": "0.2",
        "LMS_MAIL_LEASE_SECONDS": "2",
        "LMS_MAIL_FROM": "Learning <learning@example.org>",
        "LMS_PUBLIC_URL": "https://lms.example.org",
    }


@contextlib.contextmanager
def _server(
    database_url: str, workdir: Path, env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One ``lms-graph serve``, which the test may kill; stopped afterwards if it did not."""
    port = _free_port()
    log = (workdir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [*_command(), "serve", "--port", str(port)],
        env={
            **os.environ,
            "LMS_DATABASE_URL": database_url,
            "LMS_SECRET_KEY": SECRET,
            "LMS_PLUGINS": ",".join(BUILTIN_PLUGINS),
            **env,
        },
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, workdir)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def _assign(
    http: httpx.AsyncClient, url: str, admin: Actor, course_id: int, learners: list[Actor]
) -> None:
    response = await http.post(
        f"{url}/graphql",
        json={
            "query": ASSIGN,
            "variables": {
                "input": {
                    "courseId": gid("Course", course_id),
                    "userIds": [learner.id for learner in learners],
                    "message": "Welcome.",
                }
            },
        },
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text


def _sent_by_process(workdir: Path) -> list[int]:
    """What each server's log says it sent (``mail: N sent, ...`` lines)."""
    return [
        sum(int(n) for n in re.findall(r"mail: (\d+) sent", log.read_text()))
        for log in sorted(workdir.glob("server-*.log"))
    ]


async def _rows(lms: LMS) -> list[tuple[str, int, str]]:
    async with lms.db.reader() as conn:
        rows = await conn.execute(
            select(mail_outbox.c.state, mail_outbox.c.attempts, mail_outbox.c.message_id)
        )
        return [(row.state, row.attempts, row.message_id) for row in rows]


async def test_a_mail_committed_before_the_process_was_killed_is_sent_after_restart(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    sink = MailSink().start()
    hold = sink.hold = threading.Event()  # the first DATA waits: the server is mid-send
    url = lms.db.url.render_as_string(hide_password=False)
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    try:
        with _server(url, tmp_path, _mail_env(sink)) as (base, process):
            async with httpx.AsyncClient(timeout=30) as http:
                await _assign(http, base, admin, course.id, [learner])
            assert await asyncio.to_thread(sink.holding.wait, 15)
            process.kill()  # between the commit and the end of the send
            process.wait()
        hold.set()  # the dead client's DATA is answered 451: nothing was delivered
        assert sink.count() == 0
        [(state, attempts, message_id)] = await _rows(lms)
        assert (state, attempts) == ("SENDING", 1)

        with _server(url, tmp_path, _mail_env(sink)):
            [mail] = await sink.wait_for(1, seconds=20)  # once the 2 s lease has run out
            await asyncio.sleep(1.0)
        assert sink.count() == 1
        assert mail.recipients == [str(learner.user.email)]
        assert mail.message["Message-ID"] == message_id
        assert await _rows(lms) == [("SENT", 2, message_id)]
    finally:
        hold.set()
        sink.stop()


async def test_two_processes_on_one_postgresql_database_send_each_mail_once(
    lms: LMS, world: World, tmp_path: Path
) -> None:
    if lms.db.is_sqlite:
        pytest.skip("two server processes on one database: the PostgreSQL deployment")
    sink = MailSink().start()
    url = lms.db.url.render_as_string(hide_password=False)
    admin = await world.admin()
    learners = [await world.user(f"L{n}") for n in range(60)]
    courses = [await world.course(f"Course {n}") for n in range(4)]
    try:
        # One mail per claim: the two processes claim over and over, at the same moments.
        with served(url, 2, tmp_path, **_mail_env(sink), LMS_MAIL_BATCH="1") as servers:
            async with httpx.AsyncClient(timeout=60) as http:
                await asyncio.gather(
                    *(
                        _assign(http, servers[n % 2], admin, course.id, learners)
                        for n, course in enumerate(courses)
                    )
                )
            received = await sink.wait_for(240, seconds=60)
            await asyncio.sleep(1.0)
    finally:
        sink.stop()
    assert sink.count() == 240
    sent = Counter((mail.recipients[0], str(mail.message["Subject"])) for mail in received)
    assert len(sent) == 240
    assert set(sent.values()) == {1}
    assert {state for state, _, _ in await _rows(lms)} == {"SENT"}
    # Both processes took their share: what each says it sent adds up to every mail.
    by_process = _sent_by_process(tmp_path)
    assert sum(by_process) == 240, server_logs(tmp_path)
    assert all(by_process), by_process
