"""CSV imports of 10,000 and 100,000 rows (3% bad: 1% unknown, 1% deactivated, 1% already
assigned) through ``import_assignments``'s service, and through ``POST /imports/assignments``,
on SQLite and on PostgreSQL: rows per second, SQL statements, peak memory growth.

    python -m bench imports [--rows 10000,100000] [--postgres URL]

Each import goes into a fresh course, the previous imports' rows deleted. The service
is run twice per size: once timed, once under ``tracemalloc`` for the peak of Python
memory allocated during the import (the file is read from disk, as an upload spooled
past 1 MB would be).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.exc import DBAPIError

from bench.actions import DEFAULT_POSTGRES, _postgres_database
from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.auth import Viewer, issue_token
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from lms_graph.migrations import upgrade
from lms_graph.records import UserRecord
from lms_graph.services.imports import ImportRequest, import_assignments
from lms_graph.settings import Settings
from lms_graph.values import AssignmentType, CourseKind, LearnerState

SECRET = "bench-secret-key-long-enough-for-hs256-signing"
Result = tuple[str, str, int, float, int, float | None, int, int]
"""backend, path, rows, seconds, statements, peak MB, imported, failed"""


async def _seed_users(lms: LMS, count: int) -> Viewer:
    """``count`` learners: every 100th deactivated; half with an employee ID."""
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
        await conn.execute(
            insert(m.User),
            [
                {
                    "name": f"Learner {i:06d}",
                    "email": f"l{i}@bench.test",
                    "employee_id": f"E{i:06d}" if i % 2 else None,
                    "active": i % 100 != 1,
                    "is_admin": False,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
    admin = UserRecord(
        id=admin_id,
        email="admin@bench.test",
        employee_id=None,
        name="Bench Admin",
        active=True,
        is_admin=True,
    )
    return Viewer(user=admin)


async def _course(lms: LMS, rows: int, label: str) -> int:
    """A fresh course where every 100th learner (``i % 100 == 2``) is already assigned."""
    now = dt.datetime.now(dt.UTC)
    async with lms.db.transaction() as conn:
        course_id = (
            await conn.execute(
                insert(m.Course)
                .values(
                    title=f"Import {label}",
                    kind=CourseKind.COURSE,
                    course_type="self_paced",
                    credits=1.0,
                    created_at=now,
                )
                .returning(m.Course.id)
            )
        ).scalar_one()
        emails = [f"l{i}@bench.test" for i in range(2, rows, 100)]
        user_ids = list(
            (await conn.execute(select(m.User.id).where(m.User.email.in_(emails)))).scalars()
        )
        enrollments = (
            await conn.execute(
                insert(m.Enrollment).returning(m.Enrollment.id),
                [
                    {
                        "user_id": user_id,
                        "course_id": course_id,
                        "assignment": AssignmentType.OPTIONAL,
                        "assigned_at": now,
                        "attempt_number": 1,
                        "version": 1,
                    }
                    for user_id in user_ids
                ],
            )
        ).scalars()
        await conn.execute(
            insert(m.Attempt),
            [
                {
                    "enrollment_id": enrollment_id,
                    "number": 1,
                    "state": LearnerState.NOT_STARTED,
                    "progress": 0,
                    "created_at": now,
                }
                for enrollment_id in enrollments
            ],
        )
    return course_id


async def _reset(lms: LMS) -> None:
    """Forget the previous imports, so that each one starts from the same tables."""
    tables = [m.HistoryEntry, m.Notification, m.Attempt, m.Enrollment, m.ImportReportRow]
    async with lms.db.transaction() as conn:
        if lms.db.is_sqlite:
            for table in tables:
                await conn.execute(delete(table))
        else:
            names = ", ".join(table.__tablename__ for table in tables)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    if not lms.db.is_sqlite:
        # A checkpoint now rather than in the middle of the next import (needs a role
        # allowed to run it; the figures are just noisier without).
        async with lms.db.reader() as conn:
            with contextlib.suppress(DBAPIError):
                await conn.execute(text("CHECKPOINT"))


def _write_file(path: Path, rows: int) -> None:
    """``rows`` rows: every 100th an unknown email; the others by email, employee ID or
    both. With the seeded users, 3% fail (unknown, deactivated, already assigned)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("\ufeffEmail ID,Employee ID\r\n")
        for i in range(rows):
            if i % 100 == 0:
                file.write(f"unknown{i}@bench.test,\r\n")
            elif i % 2 and i % 3 == 0:
                file.write(f",E{i:06d}\r\n")
            elif i % 2:
                file.write(f"L{i}@Bench.test,E{i:06d}\r\n")
            else:
                file.write(f"l{i}@bench.test,\r\n")


async def _measured(
    lms: LMS, work: Callable[[], Awaitable[tuple[int, int]]], trace: bool
) -> tuple[float, int, float | None, int, int]:
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(lms.db.engine.sync_engine, "before_cursor_execute", count)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        imported, failed = await work()
    finally:
        elapsed = time.perf_counter() - started
        peak = None
        if trace:
            _, peak_bytes = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            peak = peak_bytes / 1024 / 1024
        event.remove(lms.db.engine.sync_engine, "before_cursor_execute", count)
    return elapsed, statements, peak, imported, failed


async def _service(lms: LMS, viewer: Viewer, course_id: int, path: Path) -> tuple[int, int]:
    with path.open("rb") as file:
        report = await import_assignments(lms, viewer, ImportRequest(course_id, path.name), file)
    return report.imported_count, report.failed_count


async def _http(app: Any, token: str, course_id: int, path: Path) -> tuple[int, int]:
    content = await asyncio.to_thread(path.read_bytes)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://bench") as client:
        response = await client.post(
            "/imports/assignments",
            params={"courseId": to_global_id("Course", course_id)},
            files={"file": (path.name, content, "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )
    response.raise_for_status()
    body = response.json()
    return body["importedCount"], body["failedCount"]


async def _one_backend(name: str, url: str, sizes: list[int], folder: Path) -> list[Result]:
    lms = LMS(Settings(database_url=url, secret_key=SECRET, plugins=("self_paced",)))
    results: list[Result] = []
    try:
        await upgrade(lms)
        viewer = await _seed_users(lms, max(sizes))
        assert viewer.user is not None
        token = issue_token(lms.settings, viewer.user.id)
        app = create_app(lms=lms)
        for rows in sizes:
            path = folder / f"import_{rows}.csv"
            if not path.exists():
                _write_file(path, rows)
            peaks: list[float | None] = []
            timings = []
            for trace in (False, True):
                await _reset(lms)
                course_id = await _course(lms, rows, f"{rows} {trace}")
                measured = await _measured(
                    lms, partial(_service, lms, viewer, course_id, path), trace
                )
                timings.append(measured)
                peaks.append(measured[2])
            seconds, statements, _, imported, failed = timings[0]
            results.append((name, "service", rows, seconds, statements, peaks[1], imported, failed))
            await _reset(lms)
            course_id = await _course(lms, rows, f"{rows} http")
            seconds, statements, _, imported, failed = await _measured(
                lms, partial(_http, app, token, course_id, path), trace=False
            )
            results.append((name, "HTTP form", rows, seconds, statements, None, imported, failed))
    finally:
        await lms.close()
    return results


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench imports")
    parser.add_argument("--rows", default="10000,100000", help="comma-separated file sizes")
    parser.add_argument(
        "--postgres", default=os.environ.get("LMS_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.rows.split(",") if size.strip()]
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sqlite_url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        results += await _one_backend("sqlite", sqlite_url, sizes, folder)
        database = await _postgres_database(args.postgres)
        if database is not None:
            url, drop = database
            try:
                results += await _one_backend("postgresql", url, sizes, folder)
            finally:
                await drop()
    print("\nCSV import, 3% bad rows (1% unknown, 1% deactivated, 1% already assigned)")
    print(
        f"{'backend':<11} {'path':<10} {'rows':>7} {'seconds':>8} {'rows/s':>8} "
        f"{'statements':>10} {'peak MB':>8} {'imported':>9} {'failed':>7}"
    )
    for backend, path, rows, seconds, statements, peak, imported, failed in results:
        peak_text = "" if peak is None else f"{peak:.1f}"
        print(
            f"{backend:<11} {path:<10} {rows:>7} {seconds:>8.2f} {rows / seconds:>8.0f} "
            f"{statements:>10} {peak_text:>8} {imported:>9} {failed:>7}"
        )
    print("peak MB: tracemalloc's peak of Python memory allocated during the import (service).")
