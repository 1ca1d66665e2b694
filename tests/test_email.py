"""The ``email`` plugin against a real SMTP server (aiosmtpd) in the test process.

The app runs with its lifespan, so its delivery loop runs as under ``lms-graph serve``
(polling every 0.1 s, first retry after 0.2 s). Reminders are swept with a chosen
``now`` instead of waiting for days.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, insert, select, update

from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.cli import main
from lms_graph.core import LMS
from lms_graph.errors import StartupError
from lms_graph_plugins.email.config import MailConfig, config_for, parse_smtp_url
from lms_graph_plugins.email.delivery import deliver_due, refresh_backlog
from lms_graph_plugins.email.outbox import backoff, requeue_failed
from lms_graph_plugins.email.sweep import sweep
from lms_graph_plugins.email.tables import mail_outbox
from tests.conftest import BUILTIN_PLUGINS, _empty, make_settings
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid
from tests.mail_sink import MailSink, Received, free_port
from tests.test_actions import run
from tests.test_ilt_sessions import change_session, ilt_course, learners, new_session

MAIL_ENV = {
    "LMS_MAIL_POLL_SECONDS": "0.1",
    "LMS_MAIL_RETRY_SECONDS": "0.2",
    "LMS_MAIL_SWEEP_SECONDS": "3600",  # the tests sweep when they choose
    "LMS_PUBLIC_URL": "https://lms.example.org",
    "LMS_MAIL_FROM": "Learning Team <learning@example.org>",
}
ASSIGN = """
mutation($input: AssignCourseInput!) {
  assignCourse(input: $input) { enrollments { id } skipped { reason } }
}"""
MAILS = """
query($id: ID!) {
  node(id: $id) {
    ... on User {
      mailReminders
      mails {
        kind subject recipient messageId
        notification { subject body }
        delivery { state attempts lastError sentAt }
      }
    }
  }
}"""
MARK_COMPLETE = """
mutation($ids: [ID!]!) {
  runAction(input: {action: "mark_complete", enrollmentIds: $ids}) { succeeded }
}"""


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink().start()
    yield server
    server.stop()


def _mail_env(monkeypatch: pytest.MonkeyPatch, smtp_url: str) -> None:
    for name, value in MAIL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LMS_SMTP_URL", smtp_url)
    monkeypatch.delenv("LMS_MAIL_DIR", raising=False)


async def _service(database_url: str) -> LMS:
    service = LMS(make_settings(database_url))
    await _empty(service)
    return service


@pytest.fixture
async def mail_lms(
    database_url: str, monkeypatch: pytest.MonkeyPatch, sink: MailSink
) -> AsyncIterator[LMS]:
    _mail_env(monkeypatch, sink.url)
    service = await _service(database_url)
    yield service
    await service.close()


@pytest.fixture
async def http(mail_lms: LMS) -> AsyncIterator[AsyncClient]:
    """The app with its background loops running (its lifespan), and a client."""
    app = create_app(lms=mail_lms)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as client,
    ):
        yield client


@pytest.fixture
def gql(http: AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def world(mail_lms: LMS) -> World:
    return World(mail_lms)


async def _assign(
    gql: GraphQLClient,
    admin: Actor,
    course_id: int,
    learners: list[Actor],
    message: str | None,
    due: dt.date | None = None,
) -> list[str]:
    data = await gql.data(
        ASSIGN,
        {
            "input": {
                "courseId": gid("Course", course_id),
                "userIds": [learner.id for learner in learners],
                "message": message,
                "dueDate": due.isoformat() if due else None,
            }
        },
        token=admin.token,
    )
    return [enrollment["id"] for enrollment in data["assignCourse"]["enrollments"]]


async def _outbox(lms: LMS) -> list[Any]:
    async with lms.db.reader() as conn:
        return list((await conn.execute(select(mail_outbox).order_by(mail_outbox.c.id))).all())


async def _settle(seconds: float = 0.6) -> None:
    """Give the loop time to send anything it still would (it polls every 0.1 s)."""
    await asyncio.sleep(seconds)


def _raw_headers(received: Received) -> str:
    """The header block as sent: 7-bit ASCII when non-ASCII text is encoded right."""
    return received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


# --- notifications -------------------------------------------------------------------------


async def test_an_assignment_with_a_message_arrives_once_with_message_and_course(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user("Zoë Ångström", email="zoe@example.com")
    course = await world.course("Sécurité incendie — 防火訓練")
    due = dt.date.today() + dt.timedelta(days=30)
    message = "Please finish by the end of the month.\n<b>Rooms 5 & 6</b> first."
    await _assign(gql, admin, course.id, [learner], message, due)

    [mail] = await sink.wait_for(1)
    await _settle()
    assert sink.count() == 1
    assert mail.recipients == ["zoe@example.com"]
    assert mail.sender == "learning@example.org"
    parsed = mail.message
    assert parsed["Subject"] == "You have been assigned Sécurité incendie — 防火訓練"
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["From"].addresses[0].display_name == "Learning Team"
    assert "=?utf-8?" in _raw_headers(mail)  # encoded words, not raw 8-bit headers
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", parsed["Message-ID"])
    assert "List-Unsubscribe" not in parsed  # assignment mails are not unsubscribable
    text = mail.part("plain")
    assert "Please finish by the end of the month.\n> <b>Rooms 5 & 6</b> first." in text
    assert "Sécurité incendie — 防火訓練 as a required course" in text
    assert f"due on {due:%A} {due.day} {due:%B %Y}" in text
    assert "https://lms.example.org/courses/" in text
    page = mail.part("html")
    assert "&lt;b&gt;Rooms 5 &amp; 6&lt;/b&gt; first." in page
    assert "<b>" not in page

    # The admin sees how it went; the learner sees no delivery details.
    data = await gql.data(MAILS, {"id": learner.id}, token=admin.token)
    [shown] = data["node"]["mails"]
    assert shown["kind"] == "notification"
    assert shown["messageId"] == parsed["Message-ID"]
    assert shown["notification"]["body"] == message
    assert shown["delivery"]["state"] == "SENT"
    assert shown["delivery"]["attempts"] == 1
    assert shown["delivery"]["lastError"] is None
    assert shown["delivery"]["sentAt"] is not None
    own = await gql.data(MAILS, {"id": learner.id}, token=learner.token)
    assert own["node"]["mails"] == []
    assert own["node"]["mailReminders"] is True


async def test_no_message_no_mail(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    await _assign(gql, admin, course.id, [learner], None)
    await _settle()
    assert sink.count() == 0
    assert await _outbox(mail_lms) == []


async def test_a_mass_assignment_sends_one_mail_per_learner(
    gql: GraphQLClient, world: World, sink: MailSink
) -> None:
    admin = await world.admin()
    learners = [await world.user(f"Learner {n}") for n in range(60)]
    course = await world.course("Fire safety")
    await _assign(gql, admin, course.id, learners, "Welcome aboard.")

    received = await sink.wait_for(60)
    await _settle()
    assert sink.count() == 60
    assert all(len(mail.recipients) == 1 for mail in received)
    assert sorted(mail.recipients[0] for mail in received) == sorted(
        str(learner.user.email) for learner in learners
    )
    assert len({mail.message["Message-ID"] for mail in received}) == 60

    # A page of users with their mails (one statement for the page).
    data = await gql.data(
        "{ users(first: 100) { edges { node { email mails(first: 5) { recipient "
        "delivery { state } } } } } }",
        token=admin.token,
    )
    shown = {edge["node"]["email"]: edge["node"]["mails"] for edge in data["users"]["edges"]}
    assert shown[admin.user.email] == []
    assert all(
        shown[str(learner.user.email)]
        == [{"recipient": learner.user.email, "delivery": {"state": "SENT"}}]
        for learner in learners
    )


async def test_smtp_down_while_assigning_then_up_each_mail_arrives_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there yet
    _mail_env(monkeypatch, f"smtp://127.0.0.1:{port}")
    lms = await _service(database_url)
    world = World(lms)
    admin = await world.admin()
    learners = [await world.user() for _ in range(3)]
    course = await world.course()
    app = create_app(lms=lms)
    sink = MailSink(port)
    try:
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as client,
        ):
            gql = GraphQLClient(client)
            await _assign(gql, admin, course.id, learners, "Down, then up.")
            await asyncio.sleep(1.0)  # attempts at 0, 0.2, 0.6 s: all refused
            rows = await _outbox(lms)
            assert [row.state for row in rows] == ["QUEUED"] * 3
            assert all(row.attempts >= 2 for row in rows)
            assert all("cannot reach the relay" in row.last_error for row in rows)
            data = await gql.data("{ mailOutbox { queued failed } }", token=admin.token)
            assert data["mailOutbox"] == {"queued": 3, "failed": 0}

            sink.start()
            received = await sink.wait_for(3, seconds=10)
            await _settle(1.0)
            assert sink.count() == 3
            assert sorted(mail.recipients[0] for mail in received) == sorted(
                str(learner.user.email) for learner in learners
            )
            assert {row.state for row in await _outbox(lms)} == {"SENT"}
    finally:
        sink.stop()
        await lms.close()


def test_the_first_retry_comes_within_15_seconds() -> None:
    config = MailConfig()
    # At most: the backoff, then a poll interval before the loop looks.
    assert backoff(config, 1).total_seconds() + config.poll_seconds <= 15
    assert backoff(config, 2) > backoff(config, 1)
    assert backoff(config, 30).total_seconds() == 3600


async def test_a_5xx_fails_the_mail_at_once_and_it_is_not_retried(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    sink.refuse = "550 5.1.1 No such mailbox"
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    await _assign(gql, admin, course.id, [learner], "Hello.")
    await _settle(1.0)  # five retry periods
    assert sink.data_commands == 1
    [row] = await _outbox(mail_lms)
    assert row.state == "FAILED"
    assert row.attempts == 1
    assert row.last_error == "550 5.1.1 No such mailbox"
    data = await gql.data(MAILS, {"id": learner.id}, token=admin.token)
    assert data["node"]["mails"][0]["delivery"] == {
        "state": "FAILED",
        "attempts": 1,
        "lastError": "550 5.1.1 No such mailbox",
        "sentAt": None,
    }
    assert (await gql.data("{ mailOutbox { failed } }", token=admin.token)) == {
        "mailOutbox": {"failed": 1}
    }

    # Queued again by hand (what `lms-graph mail retry` does): sent, once.
    sink.refuse = None
    assert await requeue_failed(mail_lms) == 1
    [mail] = await sink.wait_for(1)
    await _settle()
    assert sink.count() == 1
    assert mail.message["Message-ID"] == row.message_id
    [row] = await _outbox(mail_lms)
    assert (row.state, row.attempts) == ("SENT", 2)


async def test_the_outbox_backlog_is_an_admin_field_and_a_metrics_gauge(
    gql: GraphQLClient, http: AsyncClient, world: World, mail_lms: LMS, sink: MailSink
) -> None:
    sink.refuse = "554 5.7.1 Rejected"
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    await _assign(gql, admin, course.id, [learner], "Hello.")
    await _settle()
    await refresh_backlog(mail_lms, force=True)
    metrics = (await http.get("/metrics")).text
    assert 'lms_mail_outbox{state="failed"} 1.0' in metrics
    assert 'lms_mail_outbox{state="queued"} 0.0' in metrics
    error = await gql.error("{ mailOutbox { queued } }", token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_header_injection_attempts_arrive_as_plain_text(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user(email="learner@example.com")
    async with mail_lms.db.transaction() as conn:  # names are kept on one line by the API
        await conn.execute(
            update(m.User)
            .where(m.User.id == learner.user.id)
            .values(name="Eve\r\nBcc: thief@evil.example")
        )
    course = await world.course("Safety\r\nBcc: thief@evil.example\r\nX-Injected: yes")
    message = "Line one\r\nBcc: thief@evil.example\r\n\r\n<script>alert(1)</script>"
    await _assign(gql, admin, course.id, [learner], message)

    [mail] = await sink.wait_for(1)
    await _settle()
    assert mail.recipients == ["learner@example.com"]
    headers = _raw_headers(mail)
    assert "\nBcc:" not in headers
    assert "\nX-Injected:" not in headers
    parsed = mail.message
    assert parsed["Bcc"] is None
    assert parsed["X-Injected"] is None
    assert parsed["Subject"] == (
        "You have been assigned Safety Bcc: thief@evil.example X-Injected: yes"
    )
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: thief@evil.example"
    assert parsed["To"].addresses[0].addr_spec == "learner@example.com"
    assert "> Bcc: thief@evil.example" in mail.part("plain")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.part("html")


async def test_without_smtp_url_nothing_is_queued_and_start_up_says_so(
    lms: LMS, world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LMS_SMTP_URL", raising=False)
    monkeypatch.delenv("LMS_MAIL_DIR", raising=False)
    with caplog.at_level(logging.INFO, logger="lms_graph_plugins.email"):
        app = create_app(lms=lms)
    assert [r.getMessage() for r in caplog.records if r.name == "lms_graph_plugins.email"] == [
        "E-mail is off: LMS_SMTP_URL is not set. Notifications are stored, not mailed."
    ]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as c:
        admin = await world.admin()
        learner = await world.user()
        course = await world.course()
        await _assign(GraphQLClient(c), admin, course.id, [learner], "Stored only.")
    async with lms.db.reader() as conn:
        assert (await conn.execute(select(func.count()).select_from(m.Notification))).scalar() == 1
    assert await _outbox(lms) == []


# --- reminders and certificates ------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


async def test_reminders_before_and_after_the_due_date_once_each(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    config = config_for(mail_lms)
    admin = await world.admin()
    due_soon, due_later, done, opted_out = [await world.user() for _ in range(4)]
    course = await world.course("Ladder safety")
    today = dt.date.today()
    due = today + dt.timedelta(days=3)
    await _assign(gql, admin, course.id, [due_soon, opted_out], None, due)
    await _assign(gql, admin, course.id, [due_later], None, due + dt.timedelta(days=7))
    completed = await _assign(gql, admin, course.id, [done], None, due)
    await gql.data(MARK_COMPLETE, {"ids": completed}, token=admin.token)
    assert await gql.data(
        "mutation { setMailReminders(enabled: false) }", token=opted_out.token
    ) == {"setMailReminders": False}

    four_days_before = _at(due - dt.timedelta(days=4))
    assert await sweep(mail_lms, config, four_days_before, certificates_table=False) == 0
    three_days_before = _at(due - dt.timedelta(days=3))
    assert await sweep(mail_lms, config, three_days_before, certificates_table=False) == 1
    assert await sweep(mail_lms, config, three_days_before, certificates_table=False) == 0
    assert await sweep(mail_lms, config, _at(due), certificates_table=False) == 0
    assert (
        await sweep(mail_lms, config, _at(due + dt.timedelta(days=1)), certificates_table=False)
        == 1
    )
    assert (
        await sweep(mail_lms, config, _at(due + dt.timedelta(days=2)), certificates_table=False)
        == 0
    )

    received = await sink.wait_for(2)
    await _settle()
    assert sink.count() == 2
    assert {mail.recipients[0] for mail in received} == {str(due_soon.user.email)}
    before, after = sorted(received, key=lambda mail: "Overdue" in str(mail.message["Subject"]))
    assert before.message["Subject"] == f"Reminder: Ladder safety is due on {due.isoformat()}"
    assert after.message["Subject"] == f"Overdue: Ladder safety was due on {due.isoformat()}"
    for mail in (before, after):
        url = mail.message["List-Unsubscribe"]
        # On one line, as written: a folded URL would become encoded words, not a link.
        assert f"\nList-Unsubscribe: {url}\r\n" in _raw_headers(mail)
        assert url.startswith(
            f"<https://lms.example.org/mail/unsubscribe?user={due_soon.user.id}&sig="
        )
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url.strip("<>") in mail.part("plain")

    # A course that reminds ten days ahead reaches the learner due later.
    days = await gql.data(
        "mutation($id: ID!) { setCourseReminderDays(courseId: $id, days: 10) }",
        {"id": gid("Course", course.id)},
        token=admin.token,
    )
    assert days == {"setCourseReminderDays": 10}
    assert await sweep(mail_lms, config, three_days_before, certificates_table=False) == 1
    [*_, last] = await sink.wait_for(3)
    assert last.recipients == [str(due_later.user.email)]


async def test_sweeps_running_at_once_queue_each_reminder_once(
    gql: GraphQLClient, world: World, mail_lms: LMS, database_url: str
) -> None:
    admin = await world.admin()
    learners = [await world.user() for _ in range(30)]
    course = await world.course()
    due = dt.date.today() + dt.timedelta(days=1)
    await _assign(gql, admin, course.id, learners, None, due)
    others = [LMS(make_settings(database_url)) for _ in range(3)]
    try:
        counts = await asyncio.gather(
            *(
                sweep(service, config_for(mail_lms), _at(dt.date.today()), certificates_table=False)
                for service in [mail_lms, *others]
            )
        )
    finally:
        for service in others:
            await service.close()
    assert sum(counts) == 30
    rows = await _outbox(mail_lms)
    assert len(rows) == 30
    assert len({row.ref_id for row in rows}) == 30


async def test_unsubscribe_works_and_a_bad_signature_is_refused(
    gql: GraphQLClient, http: AsyncClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course()
    other_course = await world.course("Second course")
    due = dt.date.today() + dt.timedelta(days=2)
    await _assign(gql, admin, course.id, [learner], None, due)
    await sweep(mail_lms, config_for(mail_lms), _at(dt.date.today()), certificates_table=False)
    [mail] = await sink.wait_for(1)
    parts = urlsplit(str(mail.message["List-Unsubscribe"]).strip("<>"))
    path = f"{parts.path}?{parts.query}"

    async def reminders() -> bool:
        data = await gql.data(MAILS, {"id": learner.id}, token=admin.token)
        return bool(data["node"]["mailReminders"])

    page = await http.get(path)  # a link checker opening it changes nothing
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert await reminders()

    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    refused = await http.post(forged, data={"List-Unsubscribe": "One-Click"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    other_user = path.replace(f"user={learner.user.id}", f"user={admin.user.id}")
    assert (await http.post(other_user)).status_code == 403
    missing = await http.post("/mail/unsubscribe?user=1")
    assert (missing.status_code, missing.json()["code"]) == (400, "BAD_USER_INPUT")
    assert await reminders()

    done = await http.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "no more due-date reminders" in done.text
    assert not await reminders()
    await _assign(gql, admin, other_course.id, [learner], None, due)
    assert (
        await sweep(mail_lms, config_for(mail_lms), _at(dt.date.today()), certificates_table=False)
        == 0
    )


async def test_a_certificate_issued_is_mailed_with_its_verification_link(
    gql: GraphQLClient, world: World, sink: MailSink, mail_lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user()
    course = await world.course("Forklift licence")
    [enrollment_id] = await _assign(gql, admin, course.id, [learner], None)
    await gql.data(MARK_COMPLETE, {"ids": [enrollment_id]}, token=admin.token)
    at = dt.datetime.now(dt.UTC)
    assert await sweep(mail_lms, config_for(mail_lms), at, certificates_table=True) == 1
    assert await sweep(mail_lms, config_for(mail_lms), at, certificates_table=True) == 0
    [mail] = await sink.wait_for(1)
    assert mail.message["Subject"] == "Your certificate for Forklift licence"
    code = re.search(r"/certificates/verify/(\S+)", mail.part("plain"))
    assert code is not None
    async with mail_lms.db.reader() as conn:
        codes = (await conn.execute(select(func.count()).select_from(mail_outbox))).scalar()
    assert codes == 1


async def test_a_pass_with_nothing_due_writes_nothing(mail_lms: LMS) -> None:
    """The loop looks every poll interval: with nothing due it only reads (SQLite's
    writer stays free)."""
    counter = StatementCounter(*mail_lms.db.engines)
    try:
        done = await deliver_due(mail_lms, config_for(mail_lms))
    finally:
        counter.close()
    assert (done.sent, done.retrying, done.failed) == (0, 0, 0)
    assert counter.statements
    assert not [s for s in counter.statements if not s.lstrip().upper().startswith("SELECT")]


async def test_a_no_show_message_arrives_by_mail(
    gql: GraphQLClient, world: World, sink: MailSink
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1)
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], session["id"])
    await run(gql, admin, "mark_no_show", [lena_id], params={"message": "We missed you."})

    [mail] = await sink.wait_for(1)
    await _settle()
    assert sink.count() == 1
    assert mail.recipients == [str(lena.user.email)]
    assert str(mail.message["Subject"]).startswith("You were marked as a no-show in Morning class")
    assert "> We missed you." in mail.part("plain")


async def test_the_sweep_loop_finds_reminders_on_its_own(
    database_url: str, monkeypatch: pytest.MonkeyPatch, sink: MailSink
) -> None:
    _mail_env(monkeypatch, sink.url)
    monkeypatch.setenv("LMS_MAIL_SWEEP_SECONDS", "0.2")
    lms = await _service(database_url)
    try:
        world = World(lms)
        admin = await world.admin()
        learner = await world.user()
        course = await world.course("Ladder safety")
        await world.assign(course, [learner], admin, due=dt.date.today() + dt.timedelta(days=1))
        app = create_app(lms=lms)
        async with app.router.lifespan_context(app):
            [mail] = await sink.wait_for(1)
            await _settle()
        assert sink.count() == 1
        assert str(mail.message["Subject"]).startswith("Reminder: Ladder safety is due on")
    finally:
        await lms.close()


async def test_without_a_relay_mails_can_be_written_to_a_folder(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``LMS_MAIL_DIR`` (what ``make demo`` uses): one ``.eml`` file per mail."""
    for name, value in MAIL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LMS_SMTP_URL", raising=False)
    monkeypatch.setenv("LMS_MAIL_DIR", str(tmp_path / "mail"))
    lms = await _service(database_url)
    try:
        world = World(lms)
        admin = await world.admin()
        learner = await world.user(email="folder@example.com")
        course = await world.course("Ladder safety")
        app = create_app(lms=lms)
        async with app.router.lifespan_context(app):
            await world.assign(course, [learner], admin, message="Into the folder.")
            for _ in range(100):
                if list((tmp_path / "mail").glob("*.eml")):
                    break
                await asyncio.sleep(0.05)
        [path] = (tmp_path / "mail").glob("*.eml")
        parsed = Received("", [], path.read_bytes()).message
        assert parsed["To"].addresses[0].addr_spec == "folder@example.com"
        assert path.name == parsed["Message-ID"].strip("<>").split("@")[0] + ".eml"
        assert {row.state for row in await _outbox(lms)} == {"SENT"}
    finally:
        await lms.close()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LMS_SMTP_URL", "http://relay.example.org", "LMS_SMTP_URL must start with smtp://"),
        ("LMS_SMTP_URL", "smtp://", "LMS_SMTP_URL names no host"),
        ("LMS_MAIL_FROM", "not an address", "LMS_MAIL_FROM must be an address"),
        ("LMS_PUBLIC_URL", "lms.example.org", "LMS_PUBLIC_URL must be an http(s):// address"),
        ("LMS_REMINDER_DAYS", "2.5", "LMS_REMINDER_DAYS must be a whole number"),
        ("LMS_REMINDER_DAYS", "-1", "LMS_REMINDER_DAYS must be a number between 0 and 365"),
    ],
)
async def test_a_wrong_mail_setting_stops_start_up(
    lms: LMS, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("LMS_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv(name, value)
    with pytest.raises(StartupError, match=re.escape(message)):
        create_app(lms=lms)


def test_smtp_urls() -> None:
    relay = parse_smtp_url("smtp+starttls://mailer%40example.org:p%40ss%3Aw0rd@relay.example.org")
    assert (relay.host, relay.port, relay.starttls, relay.tls) == (
        "relay.example.org",
        587,
        True,
        False,
    )
    assert (relay.username, relay.password) == ("mailer@example.org", "p@ss:w0rd")
    assert "p@ss" not in str(relay)
    assert (parse_smtp_url("smtps://relay.example.org").port, parse_smtp_url("smtp://h").port) == (
        465,
        25,
    )
    assert parse_smtp_url("smtps://relay.example.org").tls


def test_lms_graph_mail_retry_queues_failed_mails_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def failed_mail() -> None:
        lms = await _service(database_url)
        try:
            learner = await World(lms).user()
            at = dt.datetime.now(dt.UTC)
            async with lms.db.transaction() as conn:
                await conn.execute(
                    insert(mail_outbox),
                    [
                        {
                            "kind": "notification",
                            "ref_id": ref,
                            "user_id": learner.user.id,
                            "recipient": str(learner.user.email),
                            "subject": "Hello",
                            "content": {"template": "notice"},
                            "message_id": f"<{ref}@example.org>",
                            "state": state,
                            "attempts": 1,
                            "last_error": "550 No",
                            "created_at": at,
                            "queued_at": at,
                            "next_attempt_at": at,
                        }
                        for ref, state in ((1, "FAILED"), (2, "FAILED"), (3, "SENT"))
                    ],
                )
        finally:
            await lms.close()

    async def states() -> list[str]:
        lms = LMS(make_settings(database_url))
        try:
            return [row.state for row in await _outbox(lms)]
        finally:
            await lms.close()

    asyncio.run(failed_mail())
    monkeypatch.setenv("LMS_DATABASE_URL", database_url)
    monkeypatch.setenv("LMS_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
    monkeypatch.setenv("LMS_PLUGINS", "email")
    assert main(["mail", "retry"]) == 0
    assert capsys.readouterr().out == "Queued 2 failed e-mails again.\n"
    assert asyncio.run(states()) == ["QUEUED", "QUEUED", "SENT"]
    assert main(["mail", "retry"]) == 0
    assert capsys.readouterr().out == "Queued 0 failed e-mails again.\n"

    monkeypatch.setenv("LMS_PLUGINS", "self_paced")
    assert main(["mail", "retry"]) == 2
    assert "The email plugin is not loaded" in capsys.readouterr().err


async def test_the_service_runs_without_the_plugin_on_a_database_migrated_with_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch, sink: MailSink
) -> None:
    _mail_env(monkeypatch, sink.url)
    await (await _service(database_url)).close()  # emptied, the mail tables included
    without = make_settings(
        database_url, plugins=tuple(name for name in BUILTIN_PLUGINS if name != "email")
    )
    lms = LMS(without)
    try:
        world = World(lms)
        admin = await world.admin()
        learner = await world.user()
        course = await world.course()
        app = create_app(lms=lms)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as c,
        ):
            await _assign(GraphQLClient(c), admin, course.id, [learner], "Stored, not mailed.")
            await _settle()
        assert sink.count() == 0
        assert await _outbox(lms) == []
        async with lms.db.reader() as conn:
            count = select(func.count()).select_from(m.Notification)
            assert (await conn.execute(count)).scalar() == 1
    finally:
        await lms.close()
