"""``make bench-load``: mixed traffic against ``lms-graph serve``, on SQLite and PostgreSQL.

    python -m bench load [--backend sqlite|postgresql|both] [--clients 50,200]
                         [--seconds 10] [--workers 2] [--timeout 30] [--max-requests N]
                         [--postgres URL]

Per backend: a fresh database (a temporary SQLite file, or a throwaway PostgreSQL
database dropped afterwards) seeded with a few hundred learners in four courses
(bench/mixed_seed.py), served by the real ``lms-graph serve`` (uvicorn, production
mode, its JSON log kept in a temporary file). Then, for each client count, one
phase: a tenth of the clients are admins (the dashboard, ``massActions``, mass
actions on learners of their own), the rest are learners, each with its own token
on its own enrollments (startCourse, completeChapter, answerQuiz, xAPI statements
with a Basic key or a bearer token, SCORM commits) (bench/mixed_traffic.py).

Printed per kind of request: how many were sent, how many failed (non-2xx, GraphQL
``errors``, connection errors, client timeouts) and why, p50 and p99 latency of the
successful ones, and requests per second. Then each phase's writes are checked
against the database: a write the server answered as done but did not store is a
lost write, reported, and the command exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import mixed_seed, mixed_traffic
from bench.load import LOOPBACK, Round
from bench.mixed_traffic import Call, Connection, Tally
from lms_graph import models as m
from lms_graph.queries import CURRENT_ATTEMPT
from lms_graph_plugins.scorm_xapi.tables import scorm_commits, xapi_statements

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "bench-load-secret-key-bench-load-secret-key-0123"
HOST = "127.0.0.1"
COUNTED_ACTIONS = (
    mixed_traffic.CHAPTER_COMPLETED,
    mixed_traffic.QUIZ_ANSWERED,
    *mixed_traffic.MASS_ACTION_KEYS,
)


def admins_of(clients: int) -> int:
    return max(1, clients // 10)


# --- the database and the server ------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database(backend: str, admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty database: its SQLAlchemy URL."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lms-bench-load-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'load.db'}"
        return
    name = f"lms_bench_load_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _start(
    database_url: str, port: int, workers: int, log: IO[bytes], deadline: float
) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("lms-graph")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lms_graph"]
    command += ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    env = {
        **os.environ,
        "LMS_DATABASE_URL": database_url,
        "LMS_SECRET_KEY": SECRET_KEY,
        "LMS_PLUGINS": ",".join(mixed_seed.PLUGINS),
        "LMS_ENV": "production",
        # The server gives up before the client does: a request too slow for the
        # client ends in the server's 503 TIMEOUT, with nothing written.
        "LMS_REQUEST_TIMEOUT": f"{deadline:g}",
    }
    return subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def server_deadline(client_timeout: float) -> float:
    """``LMS_REQUEST_TIMEOUT`` for the served app: a little under the client's timeout."""
    return max(1.0, client_timeout - 2.0)


@contextlib.asynccontextmanager
async def _serve(
    database_url: str, workers: int, log_path: Path, deadline: float
) -> AsyncIterator[int]:
    """``lms-graph serve`` on a free loopback port, until it answers: the port."""
    port = _free_port()
    with log_path.open("ab") as log:
        process = _start(database_url, port, workers, log, deadline)
    try:
        await _wait_ready(port, process)
        yield port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait)


async def _wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    probe = Call("ready", "/graphql", {"query": "{ __typename }"}, {})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lms-graph serve exited ({process.returncode}); see its log")
        connection = Connection(HOST, port)
        try:
            async with asyncio.timeout(5):
                status, _ = await connection.send(probe)
            if status == 200:
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            connection.close()
        await asyncio.sleep(0.3)
    raise SystemExit(f"lms-graph serve did not answer within {seconds:.0f} s")


# --- what the database holds ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    rows: collections.Counter[tuple[str, int]]
    """History lines (of the counted kinds) and SCORM commits, by record and enrollment."""
    statement_ids: frozenset[str]


async def _stored(engine: AsyncEngine) -> Stored:
    rows: collections.Counter[tuple[str, int]] = collections.Counter()
    async with engine.connect() as conn:
        history = await conn.execute(
            select(m.HistoryEntry.action, m.HistoryEntry.enrollment_id, func.count())
            .where(m.HistoryEntry.action.in_(COUNTED_ACTIONS))
            .group_by(m.HistoryEntry.action, m.HistoryEntry.enrollment_id)
        )
        for action, enrollment_id, count in history.tuples():
            rows[(action, enrollment_id)] = count
        commits = await conn.execute(
            select(scorm_commits.c.enrollment_id, func.count()).group_by(
                scorm_commits.c.enrollment_id
            )
        )
        for enrollment_id, count in commits.tuples():
            rows[(mixed_traffic.SCORM_COMMIT, enrollment_id)] = count
        ids = (await conn.execute(select(xapi_statements.c.statement_id))).scalars().all()
    return Stored(rows=rows, statement_ids=frozenset(ids))


def _log_records(log_path: Path, start: int) -> list[dict[str, object] | str]:
    """The server's log lines since byte ``start``: JSON records, or raw text."""
    with log_path.open("rb") as log:
        log.seek(start)
        raw = log.read()
    records: list[dict[str, object] | str] = []
    for line in raw.decode(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = line
        records.append(record if isinstance(record, dict) else line)
    return records


async def _drained(
    log_path: Path, start: int, expected: int, seconds: float = 60
) -> tuple[int, float]:
    """Wait until the server has finished ``expected`` requests (one access line each,
    written when a request ends, even one its client gave up on): how many were still
    running when the wait ended, and how long it was."""
    started = time.monotonic()
    while True:
        finished = sum(
            1
            for record in _log_records(log_path, start)
            if isinstance(record, dict) and record.get("logger") == "lms_graph.access"
        )
        waited = time.monotonic() - started
        if finished >= expected or waited > seconds:
            return max(0, expected - finished), waited
        await asyncio.sleep(0.5)


async def _not_started(engine: AsyncEngine, enrollment_ids: set[int]) -> set[int]:
    """Of ``enrollment_ids``, those whose current attempt has no start."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(m.Enrollment.id)
            .join(m.Attempt, CURRENT_ATTEMPT)
            .where(m.Attempt.started_at.is_(None))
        )
        return enrollment_ids & set(rows.scalars())


# --- one phase ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    backend: str
    clients: int
    kind: str
    sent: int
    errors: int
    p50_ms: float
    p99_ms: float
    per_second: float

    @property
    def error_rate(self) -> float:
        return 100 * self.errors / self.sent if self.sent else 0.0


async def _phase(
    port: int,
    world: mixed_seed.World,
    rest_auth: dict[int, dict[str, str]],
    clients: int,
    args: argparse.Namespace,
) -> tuple[Tally, float]:
    tally = Tally(budget=args.max_requests)
    admins = admins_of(clients)
    scripts = [mixed_traffic.admin_script(world, number) for number in range(admins)]
    scripts += [
        mixed_traffic.learner_script(world, number, rest_auth[number])
        for number in range(clients - admins)
    ]
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(
            mixed_traffic.client(HOST, port, script, deadline, args.timeout, tally)
            for script in scripts
        )
    )
    return tally, time.perf_counter() - started


def _rows(backend: str, clients: int, tally: Tally, seconds: float) -> list[Row]:
    rows = []
    everything = Round(latencies=[], seconds=seconds, errors=0)
    for kind in mixed_traffic.KINDS:
        counted = tally.kinds[kind]
        errors = sum(counted.errors.values())
        done = Round(latencies=counted.latencies, seconds=seconds, errors=errors)
        everything.latencies.extend(counted.latencies)
        rows.append(
            Row(
                backend,
                clients,
                kind,
                counted.sent,
                errors,
                done.percentile(50) * 1000,
                done.percentile(99) * 1000,
                counted.sent / seconds,
            )
        )
    sent = sum(row.sent for row in rows)
    errors = sum(row.errors for row in rows)
    rows.append(
        Row(
            backend,
            clients,
            "all",
            sent,
            errors,
            everything.percentile(50) * 1000,
            everything.percentile(99) * 1000,
            sent / seconds,
        )
    )
    return rows


def _print_phase(rows: list[Row], tally: Tally, seconds: float) -> None:
    print(f"  {seconds:.1f} s from the first request to the last answer")
    print(
        f"  {'request':<16} {'count':>7} {'errors':>7} {'error %':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}"
    )
    for row in rows:
        print(
            f"  {row.kind:<16} {row.sent:>7} {row.errors:>7} {row.error_rate:>8.1f} "
            f"{row.p50_ms:>8.1f} {row.p99_ms:>8.1f} {row.per_second:>7.1f}"
        )
    for kind, counted in tally.kinds.items():
        for label, count in counted.errors.most_common():
            print(f"    {kind}: {count} x {label}: {counted.samples[label]!r}")


def _check_writes(tally: Tally, before: Stored, after: Stored, not_started: set[int]) -> int:
    """Print each kind of write as answered done and as stored, learner by learner (a
    write answered as failed but stored cannot hide a lost one of another learner);
    return how many were lost."""
    added = after.rows.copy()
    added.subtract(before.rows)
    lines: list[tuple[str, int, int, int | None]] = []  # what, done, lost, stored if failed
    for what, record in (
        ("completeChapter", mixed_traffic.CHAPTER_COMPLETED),
        ("answerQuiz", mixed_traffic.QUIZ_ANSWERED),
        ("SCORM commits", mixed_traffic.SCORM_COMMIT),
        *((f"runAction {key} (learners)", key) for key in mixed_traffic.MASS_ACTION_KEYS),
    ):
        keys = {key for key in (*tally.done, *added) if key[0] == record}
        done = sum(tally.done[key] for key in keys)
        lost = sum(max(0, tally.done[key] - added[key]) for key in keys)
        extra = sum(max(0, added[key] - tally.done[key]) for key in keys)
        lines.append((what, done, lost, extra))
    ok_ids, failed_ids = tally.statements_ok, tally.statements_failed
    lines.append(
        (
            "xAPI statements",
            len(ok_ids),
            len(ok_ids - after.statement_ids),
            len(failed_ids & after.statement_ids),
        )
    )
    lines.append(("startCourse (learners)", len(tally.started_ok), len(not_started), None))
    print("  Writes answered as done, checked in the database afterwards:")
    for what, done, missing, surplus in lines:
        note = "" if surplus is None else f"; {surplus} stored though answered as failed"
        flag = "  <- LOST WRITES" if missing else ""
        print(f"    {what:<36} done {done:>6}, lost {missing:>4}{note}{flag}")
    return sum(missing for _, _, missing, _ in lines)


def _log_summary(log_path: Path, start: int) -> None:
    """The server's warnings and errors logged since byte ``start``, grouped."""
    groups: collections.Counter[str] = collections.Counter()
    for record in _log_records(log_path, start):
        if isinstance(record, str):
            groups[f"(not JSON) {record[:160]}"] += 1
            continue
        if record.get("level") in ("DEBUG", "INFO"):
            continue
        cause = " ".join(str(record.get("traceback") or "").strip().splitlines()[-1:])
        message = " ".join(str(record.get("message", "")).split())[:120]
        groups[f"{record.get('level')} {record.get('logger')}: {message} {cause}".strip()] += 1
    if not groups:
        print("  Server log: no warnings or errors.")
        return
    print(f"  Server log: {groups.total()} warnings and errors, by kind:")
    for what, count in groups.most_common(8):
        print(f"    {count} x {what[:300]}")


# --- a backend, the command -----------------------------------------------------------------


async def _backend(backend: str, args: argparse.Namespace) -> tuple[list[Row], int]:
    biggest = max(args.clients)
    active = biggest - admins_of(biggest)
    total = mixed_seed.learners_needed(biggest, admins_of(biggest))
    rows: list[Row] = []
    lost = 0
    async with contextlib.AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(_database(backend, args.postgres))
        except OSError as exc:
            print(f"\n{backend}: {args.postgres} is not reachable ({exc}); skipped.")
            return rows, lost
        started = time.perf_counter()
        world = await mixed_seed.seed(url, SECRET_KEY, active, total)
        print(
            f"\n{backend}: seeded {total} learners ({active} for learner clients) in "
            f"{len(world.courses)} courses in {time.perf_counter() - started:.1f} s"
        )
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-load-log-")))
        log_path = folder / "server.log"
        port = await stack.enter_async_context(
            _serve(url, args.workers, log_path, server_deadline(args.timeout))
        )
        basic = await mixed_traffic.credentials(HOST, port, world, list(range(0, active, 2)))
        rest_auth = {
            number: {"Authorization": basic[number]}
            if number in basic
            else {"Authorization": f"Bearer {world.learners[number].token}"}
            for number in range(active)
        }
        engine = create_async_engine(url)
        stack.push_async_callback(engine.dispose)
        for clients in args.clients:
            before = await _stored(engine)
            log_start = log_path.stat().st_size
            admins = admins_of(clients)
            print(
                f"\n{backend}, {clients} clients ({admins} admins, {clients - admins} learners), "
                f"{args.seconds:g} s, {args.workers} uvicorn workers, timeout {args.timeout:g} s"
            )
            tally, seconds = await _phase(port, world, rest_auth, clients, args)
            phase_rows = _rows(backend, clients, tally, seconds)
            _print_phase(phase_rows, tally, seconds)
            # Requests whose client gave up may still be running: their writes count.
            reached = sum(
                tally.kinds[kind].sent
                - sum(n for label, n in tally.kinds[kind].errors.items() if "connection" in label)
                for kind in mixed_traffic.KINDS
            )
            running, waited = await _drained(log_path, log_start, reached)
            if running or waited > 1:
                print(
                    f"  The server finished its requests {waited:.0f} s after the last answer; "
                    f"{running} were still running then"
                )
            after = await _stored(engine)
            not_started = await _not_started(engine, tally.started_ok)
            lost += _check_writes(tally, before, after, not_started)
            _log_summary(log_path, log_start)
            rows += phase_rows
    return rows, lost


def _clients(raw: str) -> list[int]:
    try:
        counts = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of client counts: {raw!r}") from None
    if not counts or not all(2 <= count <= 500 for count in counts):
        raise argparse.ArgumentTypeError("client counts are between 2 and 500")
    return counts


def _revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "lms_graph", "plugins")
    return f"{commit} (+ uncommitted changes)" if changed else commit


def _summary(rows: list[Row], args: argparse.Namespace, revision: str) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\nMixed load, {dt.date.today().isoformat()}, commit {revision}, "
        f"{args.workers} uvicorn workers, {os.cpu_count()} CPUs (load average now {load}); "
        f"{args.seconds:g} s per phase, client timeout {args.timeout:g} s. "
        "Latencies are of successful requests."
    )
    print(
        "| backend | clients | request | count | errors | error % | p50 ms | p99 ms | req/s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for row in rows:
        print(
            f"| {row.backend} | {row.clients} | {row.kind} | {row.sent} | {row.errors} | "
            f"{row.error_rate:.1f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.per_second:.1f} |"
        )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--clients", type=_clients, default=[50, 200], help="one phase per count (50,200)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="client-side, per request (the server's deadline is set 2 s shorter)",
    )
    parser.add_argument(
        "--max-requests", type=int, default=100_000, help="per phase, all clients together"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LMS_BENCH_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="a database URL on the server to create the throwaway database on",
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120 or not 0 < args.timeout <= 120:
        parser.error("keep the load bounded: --seconds and --timeout up to 120")
    if not 1 <= args.workers <= 8 or not 1 <= args.max_requests <= 1_000_000:
        parser.error("--workers is 1 to 8, --max-requests 1 to 1,000,000")
    if make_url(args.postgres).host not in LOOPBACK:
        parser.error("the bench only uses a loopback PostgreSQL server")
    revision = _revision()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows: list[Row] = []
    lost = 0
    for backend in backends:
        backend_rows, backend_lost = await _backend(backend, args)
        rows += backend_rows
        lost += backend_lost
    _summary(rows, args, revision)
    if lost:
        raise SystemExit(f"{lost} writes were answered as done but not stored.")
