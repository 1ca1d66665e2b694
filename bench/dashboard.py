"""The dashboard query over HTTP: lms-graph beside PostGraphile 5, on one PostgreSQL
database (``lms_bench``: 60,000 users, a course of 10,000 learners).

    python -m bench dashboard [--rounds 3] [--seconds 5] [--clients 10] [--workers N]
                              [--burst-clients 200] [--burst-seconds 10]
                              [--postgres URL] [--json PATH] [--no-postgraphile]

1. Seeds ``lms_bench`` unless it already holds this seed version (bench/dataset.py).
2. Counts SQL statements per request: each server is started once behind a counting
   proxy (bench/pgcount.py), and both answers are checked to list the same learners.
3. Times: the servers are started again, straight on PostgreSQL, warmed up, then each
   round runs one client for ``--seconds`` (latency) and ``--clients`` clients
   (throughput) against each system in turn. Figures are medians over the rounds.
   lms-graph runs on as many uvicorn workers as PostGraphile has Node.js processes
   (one) unless ``--workers`` says otherwise; the table prints both counts.
4. Burst: ``--burst-clients`` clients at once for ``--burst-seconds`` against each
   system, each request allowed ``--burst-timeout`` seconds: errors of any kind
   (non-200, GraphQL errors, refused or reset connections, timeouts), p50, p99, req/s.
5. Prints the tables and writes the figures as JSON (bench/results/latest.json).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import dataset, load, queries, servers
from bench.pgcount import StatementCounter
from lms_graph.auth import issue_token
from lms_graph.ids import to_global_id
from lms_graph.settings import Settings

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).parent / "results" / "latest.json"
LMS_PORT, POSTGRAPHILE_PORT = 8711, 8712

LMS = "lms-graph"
LMS_ACTIONS = "lms-graph + availableActions"
POSTGRAPHILE = "PostGraphile 5"


def _targets(
    dataset_: dataset.Dataset, lms_url: str, postgraphile_url: str | None
) -> dict[str, load.Target]:
    token = issue_token(Settings(secret_key=servers.SECRET_KEY), dataset_.admin_id)
    auth = {"Authorization": f"Bearer {token}"}
    variables = {"course": to_global_id("Course", dataset_.course_id), "first": queries.PAGE}
    targets = {
        LMS: load.Target(lms_url, {"query": queries.LMS_QUERY, "variables": variables}, auth),
        LMS_ACTIONS: load.Target(
            lms_url, {"query": queries.LMS_QUERY_ACTIONS, "variables": variables}, auth
        ),
    }
    if postgraphile_url is not None:
        targets[POSTGRAPHILE] = load.Target(
            postgraphile_url,
            {
                "query": queries.POSTGRAPHILE_QUERY,
                "variables": {"course": dataset_.course_id, "first": queries.PAGE},
            },
        )
    return targets


@contextlib.asynccontextmanager
async def _servers(
    dataset_: dataset.Dataset, workers: int, with_postgraphile: bool, port: int | None = None
) -> AsyncIterator[dict[str, load.Target]]:
    """Both servers, on PostgreSQL directly or (``port``) through the counting proxy."""
    lms_db, pg_db = dataset_.url, dataset_.libpq_url
    if port is not None:
        lms_db = make_url(lms_db).set(port=port).render_as_string(hide_password=False)
        pg_db = dataset.Dataset(url=lms_db).libpq_url
    async with contextlib.AsyncExitStack() as stack:
        lms_url = await stack.enter_async_context(servers.lms_graph(lms_db, LMS_PORT, workers))
        pg_url = None
        if with_postgraphile:
            pg_url = await stack.enter_async_context(servers.postgraphile(pg_db, POSTGRAPHILE_PORT))
        yield _targets(dataset_, lms_url, pg_url)


async def _count_and_check(
    dataset_: dataset.Dataset, with_postgraphile: bool, requests: int = 10
) -> dict[str, float]:
    """SQL statements per request of each system, after checking their answers agree."""
    upstream = make_url(dataset_.url)
    counter = StatementCounter(upstream.host or "127.0.0.1", upstream.port or 5432)
    counts: dict[str, float] = {}
    async with counter.running(), _servers(dataset_, 1, with_postgraphile, counter.port) as targets:
        answers = {}
        for name, target in targets.items():
            status, answer = await load.fetch(target)
            if status != 200 or answer.get("errors"):
                raise SystemExit(f"{name} answered {status}: {json.dumps(answer)[:500]}")
            answers[name] = answer
            await load.run(target, clients=1, seconds=60, max_requests=3)  # warm-up
            before, control = counter.statements, counter.control
            await load.run(target, clients=1, seconds=60, max_requests=requests)
            counts[name] = (counter.statements - before) / requests
            counts[f"{name} control"] = (counter.control - control) / requests
        _check_same_learners(answers)
    return counts


def _check_same_learners(answers: dict[str, Any]) -> None:
    learners = queries.lms_learners(answers[LMS])
    if len(learners) != queries.PAGE:
        raise SystemExit(f"lms-graph listed {len(learners)} learners, not {queries.PAGE}")
    if queries.lms_learners(answers[LMS_ACTIONS]) != learners:
        raise SystemExit("the two lms-graph queries list different learners")
    if POSTGRAPHILE in answers and queries.postgraphile_learners(answers[POSTGRAPHILE]) != learners:
        raise SystemExit("lms-graph and PostGraphile list different learners: not comparable")
    print(f"Both systems list the same {len(learners)} learners, fields and certificates.")


async def _time(
    dataset_: dataset.Dataset, args: argparse.Namespace, with_postgraphile: bool
) -> tuple[dict[str, dict[str, list[float]]], dict[str, load.Round]]:
    """The rounds' figures, then the burst's rounds (on the same servers)."""
    figures: dict[str, dict[str, list[float]]] = {}
    bursts: dict[str, load.Round] = {}
    async with _servers(dataset_, args.workers, with_postgraphile) as targets:
        for target in targets.values():
            await load.run(target, clients=2, seconds=min(3.0, args.seconds))  # warm-up
        for number in range(1, args.rounds + 1):
            print(f"Round {number}/{args.rounds} ...", flush=True)
            for name, target in targets.items():
                one = await load.run(target, clients=1, seconds=args.seconds)
                many = await load.run(target, clients=args.clients, seconds=args.seconds)
                row = figures.setdefault(name, {})
                row.setdefault("p50_ms", []).append(one.percentile(50) * 1000)
                row.setdefault("p99_ms", []).append(one.percentile(99) * 1000)
                row.setdefault("rps_1", []).append(one.requests_per_second)
                row.setdefault("p50_ms_c", []).append(many.percentile(50) * 1000)
                row.setdefault("p99_ms_c", []).append(many.percentile(99) * 1000)
                row.setdefault("rps_c", []).append(many.requests_per_second)
                row.setdefault("errors", []).append(float(one.errors + many.errors))
        if args.burst_clients:
            print(
                f"Burst: {args.burst_clients} clients for {args.burst_seconds:g} s each ...",
                flush=True,
            )
            for name, target in targets.items():
                bursts[name] = await load.run(
                    target,
                    clients=args.burst_clients,
                    seconds=args.burst_seconds,
                    request_timeout=args.burst_timeout,
                )
    return figures, bursts


def _processes(name: str, args: argparse.Namespace) -> int:
    return servers.POSTGRAPHILE_PROCESSES if name == POSTGRAPHILE else args.workers


def _table(
    figures: dict[str, dict[str, list[float]]],
    counts: dict[str, float],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    rows = []
    for name, series in figures.items():
        row: dict[str, Any] = {
            "system": name,
            "processes": _processes(name, args),
            "statements": counts.get(name),
            "control_statements": counts.get(f"{name} control"),
        }
        row.update({key: load.median(values) for key, values in series.items()})
        rows.append(row)
    base = next((row for row in rows if row["system"] == POSTGRAPHILE), None)
    print(
        f"\nDashboard query: {queries.PAGE} learners of a {dataset.LEARNERS}-learner course, "
        f"{dataset.USERS} users, PostgreSQL. Medians of {args.rounds} rounds of "
        f"{args.seconds:g} s; lms-graph on {args.workers} uvicorn worker(s), PostGraphile on "
        f"{servers.POSTGRAPHILE_PROCESSES} Node.js process(es) (procs)."
    )
    header = (
        f"{'system':<30} {'procs':>5} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'SQL/req':>7} "
        f"{'x PG p50':>8} | c={args.clients}: "
        f"{'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'x PG rps':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = f"{row['p50_ms'] / base['p50_ms']:.2f}" if base else "-"
        rps_ratio = f"{row['rps_c'] / base['rps_c']:.2f}" if base else "-"
        statements = "-" if row["statements"] is None else f"{row['statements']:.1f}"
        row["ratio_p50"] = row["p50_ms"] / base["p50_ms"] if base else None
        row["ratio_rps_c"] = row["rps_c"] / base["rps_c"] if base else None
        print(
            f"{row['system']:<30} {row['processes']:>5} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['rps_1']:>7.0f} {statements:>7} {ratio:>8} | "
            f"{'':>{len(str(args.clients)) + 3}}"
            f"{row['p50_ms_c']:>7.2f} {row['p99_ms_c']:>7.2f} {row['rps_c']:>7.0f} {rps_ratio:>8}"
        )
    control = ", ".join(
        f"{row['system']} {row['control_statements']:.1f}"
        for row in rows
        if row.get("control_statements") is not None
    )
    if control:
        print(
            "SQL/req counts statements doing the request's work; besides them, per request, "
            f"transaction control and pool pings: {control}."
        )
    if base:
        ours = [row for row in rows if row is not base]
        worst_p50 = max(row["ratio_p50"] for row in ours)
        worst_rps = min(row["ratio_rps_c"] for row in ours)
        verdict = "met" if worst_p50 <= 1 and worst_rps >= 1 else "NOT met"
        print(
            f"Target p50 <= 1.0x and req/s at c={args.clients} >= 1.0x PostGraphile's, "
            f"as many processes: {verdict} (worst p50 ratio {worst_p50:.2f}, "
            f"worst req/s ratio {worst_rps:.2f})."
        )
    return rows


def _burst_table(bursts: dict[str, load.Round], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, burst in bursts.items():
        rows.append(
            {
                "system": name,
                "processes": _processes(name, args),
                "requests": len(burst.latencies) + burst.errors,
                "errors": burst.errors,
                "error_rate": burst.error_rate,
                "error_kinds": burst.kinds,
                "p50_ms": burst.percentile(50) * 1000,
                "p99_ms": burst.percentile(99) * 1000,
                "rps": burst.requests_per_second,
            }
        )
    if not rows:
        return rows
    print(
        f"\nBurst: {args.burst_clients} clients at once for {args.burst_seconds:g} s, "
        f"{args.burst_timeout:g} s allowed per request."
    )
    header = (
        f"{'system':<30} {'procs':>5} {'requests':>8} {'errors':>6} {'error %':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['system']:<30} {row['processes']:>5} {row['requests']:>8} "
            f"{row['errors']:>6} {row['error_rate'] * 100:>7.2f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['rps']:>7.0f}"
        )
    kinds = "; ".join(
        f"{row['system']}: " + ", ".join(f"{n} {kind}" for kind, n in row["error_kinds"].items())
        for row in rows
        if row["errors"]
    )
    total = sum(row["errors"] for row in rows)
    print(f"Burst errors: {total}" + (f" ({kinds})." if kinds else " (the requirement: 0)."))
    return rows


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per system, per round")
    parser.add_argument("--clients", type=int, default=10, help="for throughput")
    parser.add_argument(
        "--workers",
        type=int,
        default=servers.POSTGRAPHILE_PROCESSES,
        help="uvicorn workers (default: as many as PostGraphile's Node.js processes, 1)",
    )
    parser.add_argument("--burst-clients", type=int, default=200, help="0: no burst")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--burst-timeout", type=float, default=30.0, help="per request")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LMS_BENCH_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="a database URL on the server to create lms_bench on",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--no-postgraphile", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 64 or not 0 < args.seconds <= 120 or not 1 <= args.rounds <= 20:
        parser.error("keep the load bounded: 1-64 clients, up to 120 s, 1-20 rounds")
    if not 0 <= args.burst_clients <= 500 or not 0 < args.burst_seconds <= 60:
        parser.error("keep the burst bounded: 0-500 clients, up to 60 s")
    if not 0 < args.burst_timeout <= 120 or not 1 <= args.workers <= 16:
        parser.error("a burst request may wait up to 120 s; 1-16 workers")
    with_postgraphile = not args.no_postgraphile
    if with_postgraphile and (reason := servers.postgraphile_ready()) is not None:
        print(reason)
        with_postgraphile = False
    dataset_ = await dataset.ensure(args.postgres)
    counts = await _count_and_check(dataset_, with_postgraphile)
    figures, bursts = await _time(dataset_, args, with_postgraphile)
    rows = _table(figures, counts, args)
    burst_rows = _burst_table(bursts, args)
    print(
        "Load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "options": {k: str(v) for k, v in vars(args).items()},
                "seed": dataset.SEED_VERSION,
                "load_average": os.getloadavg(),
                "rows": rows,
                "burst": burst_rows,
            },
            indent=2,
        )
    )
    print(f"Results written to {args.json}.")
