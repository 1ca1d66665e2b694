"""Mass actions on one course of N learners: ``mark_complete`` then ``reset_progress``
through ``runAction``'s service, beside a hand-written set-based transaction doing
the same writes (history rows included), on SQLite and on PostgreSQL.

The garbage collector is tuned as in a serving process (``lms_graph.app.tune_gc``):
with Python's defaults a full collection walking every object of the process lands
in the middle of a 10,000-learner run, which no worker of ``lms-graph serve`` pays.

    python -m bench [--learners N] [--postgres URL] [--plugins all|NAME,...]

``--plugins`` picks the plugins served (default ``self_paced`` alone; ``all``: every
installed one, as a default deployment runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, literal, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from lms_graph import models as m
from lms_graph.app import tune_gc
from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.queries import CURRENT_ATTEMPT
from lms_graph.records import UserRecord
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.settings import Settings
from lms_graph.values import AssignmentType, CourseKind, LearnerState

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _seed(lms: LMS, learners: int) -> tuple[Viewer, int]:
    now = dt.datetime.now(dt.UTC)
    async with lms.db.transaction() as conn:
        admin_id = (
            await conn.execute(
                insert(m.User)
                .values(
                    name="Bench Admin",
                    email="admin@bench.test",
                    is_admin=True,
                    active=True,
                    created_at=now,
                )
                .returning(m.User.id)
            )
        ).scalar_one()
        course_id = (
            await conn.execute(
                insert(m.Course)
                .values(
                    title="Bench course",
                    kind=CourseKind.COURSE,
                    course_type="self_paced",
                    credits=1.0,
                    created_at=now,
                )
                .returning(m.Course.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(m.Chapter),
            [
                {"course_id": course_id, "title": f"Chapter {i}", "kind": "CONTENT", "position": i}
                for i in range(2)
            ],
        )
        await conn.execute(
            insert(m.User),
            [
                {
                    "name": f"Learner {i:05d}",
                    "email": f"l{i}@bench.test",
                    "active": True,
                    "is_admin": False,
                    "created_at": now,
                }
                for i in range(learners)
            ],
        )
        await conn.execute(
            insert(m.Enrollment).from_select(
                ["user_id", "course_id", "assignment", "assigned_at", "attempt_number", "version"],
                select(
                    m.User.id,
                    literal(course_id),
                    literal(AssignmentType.OPTIONAL.value),
                    literal(now, m.Enrollment.assigned_at.type),
                    literal(1),
                    literal(1),
                ).where(m.User.is_admin.is_(False)),
            )
        )
        await conn.execute(
            insert(m.Attempt).from_select(
                ["enrollment_id", "number", "state", "progress", "created_at"],
                select(
                    m.Enrollment.id,
                    literal(1),
                    literal(LearnerState.NOT_STARTED.value),
                    literal(0),
                    literal(now, m.Attempt.created_at.type),
                ),
            )
        )
    async with lms.db.reader() as conn:
        await conn.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
    admin = UserRecord(
        id=admin_id,
        email="admin@bench.test",
        employee_id=None,
        name="Bench Admin",
        active=True,
        is_admin=True,
    )
    return Viewer(user=admin), course_id


@contextmanager
def _serving_gc() -> Iterator[None]:
    """The collector as ``lms-graph serve`` sets it, for the timed runs only."""
    threshold = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def _timed(lms: LMS, work: Callable[[], Awaitable[Any]]) -> tuple[float, int]:
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(lms.db.engine.sync_engine, "before_cursor_execute", count)
    started = time.perf_counter()
    try:
        await work()
    finally:
        elapsed = time.perf_counter() - started
        event.remove(lms.db.engine.sync_engine, "before_cursor_execute", count)
    return elapsed, statements


async def _floor(lms: LMS, course_id: int, admin_id: int, action: str) -> None:
    """The hand-written transaction doing the same writes, history rows included.

    mark_complete: one UPDATE of the current attempts. reset_progress (the learners
    are completed, so each moves on to a new attempt): one UPDATE of enrollments and
    one INSERT ... SELECT of attempts. Then one INSERT ... SELECT of history.
    """
    now = dt.datetime.now(dt.UTC)
    in_course = m.Enrollment.course_id == course_id
    async with lms.db.transaction() as conn:
        if action == "mark_complete":
            current = select(m.Attempt.id).join(m.Enrollment, CURRENT_ATTEMPT).where(in_course)
            await conn.execute(
                update(m.Attempt)
                .where(m.Attempt.id.in_(current))
                .values(state=LearnerState.COMPLETED, progress=100, completed_at=now)
            )
        else:
            await conn.execute(
                update(m.Enrollment)
                .where(in_course)
                .values(attempt_number=m.Enrollment.attempt_number + 1)
            )
            await conn.execute(
                insert(m.Attempt).from_select(
                    ["enrollment_id", "number", "state", "progress", "created_at"],
                    select(
                        m.Enrollment.id,
                        m.Enrollment.attempt_number,
                        literal(LearnerState.NOT_STARTED.value),
                        literal(0),
                        literal(now, m.Attempt.created_at.type),
                    ).where(in_course),
                )
            )
        await conn.execute(
            insert(m.HistoryEntry).from_select(
                ["enrollment_id", "actor_id", "at", "action", "summary"],
                select(
                    m.Enrollment.id,
                    literal(admin_id),
                    literal(now, m.HistoryEntry.at.type),
                    literal(action),
                    literal("hand-written"),
                ).where(in_course),
            )
        )


async def _one_backend(
    name: str, url: str, learners: int, rounds: int, plugins: tuple[str, ...] | None
) -> list[tuple[str, str, float, int]]:
    """Per round: our mark_complete and reset_progress, then the hand-written ones;
    each leaves the learners where the next one expects them. Medians of the rounds."""
    lms = LMS(Settings(database_url=url, secret_key="bench", plugins=plugins))
    timings: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    try:
        await upgrade(lms)
        viewer, course_id = await _seed(lms, learners)
        lms.settings = lms.settings.replace(max_action_targets=max(learners, 10_000))
        with _serving_gc():
            await _rounds(lms, viewer, course_id, rounds, timings, statements)
    finally:
        await lms.close()
    order = [
        "mark_complete",
        "mark_complete (hand-written SQL)",
        "reset_progress",
        "reset_progress (hand-written SQL)",
    ]
    return [(name, label, statistics.median(timings[label]), statements[label]) for label in order]


async def _rounds(
    lms: LMS,
    viewer: Viewer,
    course_id: int,
    rounds: int,
    timings: dict[str, list[float]],
    statements: dict[str, int],
) -> None:
    assert viewer.user is not None
    admin_id = viewer.user.id
    for _ in range(rounds):
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            (
                action,
                partial(run_action, lms, viewer, ActionRequest(action, course_id=course_id)),
            )
            for action in ("mark_complete", "reset_progress")
        ]
        steps += [
            (f"{action} (hand-written SQL)", partial(_floor, lms, course_id, admin_id, action))
            for action in ("mark_complete", "reset_progress")
        ]
        for label, work in steps:
            seconds, count = await _timed(lms, work)
            timings.setdefault(label, []).append(seconds)
            statements[label] = count


async def _postgres_database(admin_url: str) -> tuple[str, Callable[[], Awaitable[None]]] | None:
    name = f"lms_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL at {admin_url} is not reachable ({type(exc).__name__}); skipped.")
        await engine.dispose()
        return None

    async def drop() -> None:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres", default=os.environ.get("LMS_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument(
        "--plugins",
        default="self_paced",
        help="plugins to serve, comma-separated, or 'all' (every installed one)",
    )
    args = parser.parse_args(argv)
    plugins = None if args.plugins == "all" else tuple(args.plugins.split(","))
    results: list[tuple[str, str, float, int]] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        results += await _one_backend("sqlite", sqlite_url, args.learners, args.rounds, plugins)
    database = await _postgres_database(args.postgres)
    if database is not None:
        url, drop = database
        try:
            results += await _one_backend("postgresql", url, args.learners, args.rounds, plugins)
        finally:
            await drop()
    print(
        f"\nMass actions on {args.learners} learners of one course (median of {args.rounds} rounds;"
        f" plugins: {args.plugins})"
    )
    print(f"{'backend':<11} {'run':<38} {'seconds':>8} {'statements':>10} {'x floor':>8}")
    floors = {(b, r.split(" (")[0]): s for b, r, s, _ in results if "hand-written" in r}
    for backend, run, seconds, statements in results:
        ratio = "" if "hand-written" in run else f"{seconds / floors[(backend, run)]:.2f}"
        print(f"{backend:<11} {run:<38} {seconds:>8.3f} {statements:>10} {ratio:>8}")
