"""The dashboard benchmark's data set in PostgreSQL database ``lms_bench``: 60,000 users,
a course of 10,000 learners (and one of 50,000), set-based and deterministic.

The database is kept between runs: ``ensure`` seeds it only when its ``bench_seed``
marker does not hold ``SEED_VERSION`` (bump it whenever the data or the schema changes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.settings import Settings

SEED_VERSION = "dashboard-7"
USERS = 60_000
LEARNERS = 10_000
BENCH_PLUGINS = ("certificates", "self_paced")
"""The plugins the bench serves with (the built-in certificates one is on the dashboard)."""

# Users: 1 is the admin, 2..60000 learners. Course 1 (the dashboard's) enrols users
# 2..10001, course 2 every other learner. Even learners were assigned by the admin,
# one in three has a due date, states cycle through five, and completed learners of
# course 1 hold a certificate.
_SEED = [
    """
    INSERT INTO users (id, name, email, employee_id, active, is_admin, created_at)
    SELECT 1, 'Bench Admin', 'admin@bench.test', 'E000001', true, true,
           TIMESTAMPTZ '2026-01-01 00:00:00+00'
    """,
    """
    INSERT INTO users (id, name, email, employee_id, active, is_admin, created_at)
    SELECT i, 'Learner ' || lpad(i::text, 6, '0'), 'learner' || i || '@bench.test',
           'E' || lpad(i::text, 6, '0'), true, false,
           TIMESTAMPTZ '2026-01-01 00:00:00+00'
    FROM generate_series(2, :users) AS i
    """,
    """
    INSERT INTO courses (id, title, kind, course_type, credits, created_at) VALUES
      (1, 'Dashboard course', 'COURSE', 'self_paced', 2.0, TIMESTAMPTZ '2026-01-01 00:00:00+00'),
      (2, 'Everyone course', 'COURSE', 'self_paced', 1.0, TIMESTAMPTZ '2026-01-01 00:00:00+00')
    """,
    """
    INSERT INTO chapters (course_id, title, kind, position)
    SELECT c, 'Chapter ' || p, 'CONTENT', p FROM generate_series(1, 2) AS c,
           generate_series(0, 1) AS p
    """,
    """
    INSERT INTO enrollments (id, user_id, course_id, assignment, due_date, assigned_by_id,
                             assigned_at, message, attempt_number, unassigned_at, version)
    SELECT u - 1, u, 1,
           CASE WHEN u % 2 = 0 THEN 'REQUIRED' ELSE 'OPTIONAL' END,
           CASE WHEN u % 3 = 0 THEN DATE '2026-06-01' + (u % 90) END,
           CASE WHEN u % 2 = 0 THEN 1 END,
           TIMESTAMPTZ '2026-01-01 00:00:00+00' + (u || ' seconds')::interval,
           NULL, 1, NULL, 1
    FROM generate_series(2, :learners + 1) AS u
    """,
    """
    INSERT INTO enrollments (id, user_id, course_id, assignment, due_date, assigned_by_id,
                             assigned_at, message, attempt_number, unassigned_at, version)
    SELECT :learners + u - 1, u, 2, 'OPTIONAL', NULL, NULL,
           TIMESTAMPTZ '2026-01-01 00:00:00+00' + (u || ' seconds')::interval,
           NULL, 1, NULL, 1
    FROM generate_series(2, :users) AS u
    """,
    """
    INSERT INTO attempts (enrollment_id, number, state, progress, started_at, completed_at,
                          created_at)
    SELECT e.id, 1,
           (ARRAY['NOT_STARTED','STARTED','IN_PROGRESS','COMPLETED','IN_PROGRESS'])[e.id % 5 + 1],
           (ARRAY[0, 5, 50, 100, 75])[e.id % 5 + 1],
           CASE WHEN e.id % 5 <> 0 THEN e.assigned_at + INTERVAL '1 day' END,
           CASE WHEN e.id % 5 = 3 THEN e.assigned_at + INTERVAL '7 days' END,
           e.assigned_at
    FROM enrollments AS e
    """,
    """
    INSERT INTO certificates (enrollment_id, attempt_id, attempt_number, user_id, course_id,
                              code, issued_at, revoked_at, expires_at, credits)
    SELECT e.id, a.id, 1, e.user_id, e.course_id, 'CERT-' || lpad(e.id::text, 8, '0'),
           a.completed_at, NULL, NULL, 2.0
    FROM enrollments AS e JOIN attempts AS a ON a.enrollment_id = e.id
    WHERE e.course_id = 1 AND a.state = 'COMPLETED'
    """,
    "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))",
    "SELECT setval(pg_get_serial_sequence('courses', 'id'), (SELECT max(id) FROM courses))",
    "SELECT setval(pg_get_serial_sequence('enrollments', 'id'), (SELECT max(id) FROM enrollments))",
    # PostGraphile reads an enrollment's current attempt through this computed column
    # (lms-graph joins the same attempt in its page query).
    """
    CREATE FUNCTION enrollments_current_attempt(e enrollments) RETURNS attempts
    LANGUAGE sql STABLE AS $$
      SELECT * FROM attempts WHERE enrollment_id = e.id AND number = e.attempt_number
    $$
    """,
    # The benchmark pages learners in assigned-at order, which both systems read off the
    # index lms-graph's migrations create, ``(course_id, assigned_at, id)``.
    "CREATE TABLE bench_seed (version text NOT NULL)",
    "INSERT INTO bench_seed (version) VALUES (:version)",
]


@dataclass(frozen=True, slots=True)
class Dataset:
    url: str
    """The SQLAlchemy URL of ``lms_bench``."""
    course_id: int = 1
    admin_id: int = 1
    learners: int = LEARNERS

    @property
    def libpq_url(self) -> str:
        """The same database as a ``postgres://`` connection string (PostGraphile)."""
        url = make_url(self.url)
        auth = url.username or "postgres"
        if url.password:
            auth += f":{url.password}"
        return f"postgres://{auth}@{url.host or '127.0.0.1'}:{url.port or 5432}/{url.database}"


async def ensure(admin_url: str, name: str = "lms_bench") -> Dataset:
    """The seeded database, created (or re-created, when stale) as needed."""
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    if await _seeded_version(url) == SEED_VERSION:
        print(f"Database {name} holds seed {SEED_VERSION}: reused.")
        return Dataset(url=url)
    started = time.perf_counter()
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    lms = LMS(Settings(database_url=url, plugins=BENCH_PLUGINS))
    try:
        await upgrade(lms)
        async with lms.db.transaction() as conn:
            params = {"users": USERS, "learners": LEARNERS, "version": SEED_VERSION}
            for statement in _SEED:
                clause = text(statement)
                await conn.execute(
                    clause, {k: v for k, v in params.items() if f":{k}" in statement}
                )
        async with lms.db.reader() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await lms.close()
    seconds = time.perf_counter() - started
    print(f"Seeded {name} ({USERS} users, {LEARNERS} learners) in {seconds:.1f} s.")
    return Dataset(url=url)


async def _seeded_version(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT version FROM bench_seed"))
            return found.scalar_one_or_none()
    except Exception:
        return None
    finally:
        await engine.dispose()
