"""Run ADL's xAPI LRS conformance suite (1.0.3) against ``lms-graph serve``.

``make xapi-conformance`` calls this. Steps: copy the suite (``--suite``, a checkout of
``adlnet/lrs-conformance-test-suite``) to a temporary directory and ``npm install`` it
there; create a throwaway database (a fresh SQLite file, or with ``--db postgresql`` a
database it creates and drops on the local server); make an administrator and an xAPI
API key (``createXapiCredential``); start ``lms-graph serve`` on 127.0.0.1; run
``node bin/console_runner.js ... -x 1.0.3``; print the tally and the failing tests
grouped by suite section; stop everything. Exit status: 0 when every test passed.

The suite stores what it sends and never cleans up, hence the throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LMS_GRAPH = str(BIN / "lms-graph")
POSTGRES_URL = os.environ.get(
    "XAPI_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
ADMIN_EMAIL = "conformance-admin@example.com"
SECRET_KEY = "xapi-conformance-secret-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install_suite(source: Path, workdir: Path, reuse: Path | None) -> Path:
    """The suite, installed: ``reuse`` if given (an installed copy), else a fresh one."""
    if reuse is not None:
        return reuse
    target = workdir / "suite"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "logs"))
    print(f"npm install in {target} ...", flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target, check=True
    )
    return target


async def _postgres(sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _database(kind: str, workdir: Path) -> tuple[str, str | None]:
    """(the URL, the PostgreSQL database to drop afterwards)."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'lrs.db'}", None
    from sqlalchemy.engine import make_url

    name = f"xapi_conformance_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return url, name


def _graphql(port: int, token: str, query: str, variables: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = json.load(answer)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL error: {body['errors']}")
    return body["data"]


def _wait(port: int, server: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"lms-graph serve exited ({server.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/xapi/about", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"lms-graph serve did not answer on port {port}")


def _credential(port: int, env: dict[str, str]) -> tuple[str, str]:
    subprocess.run([LMS_GRAPH, "create-admin", ADMIN_EMAIL], env=env, check=True)
    token = subprocess.run(
        [LMS_GRAPH, "token", ADMIN_EMAIL], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    made = _graphql(
        port,
        token,
        'mutation { createXapiCredential(label: "conformance") { credential { key } secret } }',
        {},
    )["createXapiCredential"]
    return str(made["credential"]["key"]), str(made["secret"])


def _failures(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(top-level section, test title, error) of each failed leaf test."""
    found: list[tuple[str, str, str]] = []

    def walk(node: dict[str, Any], section: str) -> None:
        children = node.get("tests") or []
        if not children:
            if node.get("status") == "failed":
                found.append((section, str(node.get("title", "")), str(node.get("error", ""))))
            return
        for child in children:
            walk(child, section or str(child.get("title", "")))

    for top in (record.get("log") or {}).get("tests") or []:
        walk(top, str(top.get("title", "")))
    return found


def _report(suite: Path, output: str, verbose: bool) -> int:
    summary: dict[str, Any] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"total"' in line:
            summary = json.loads(line)
    log_path = next(
        (
            line.split("written to", 1)[1].strip()
            for line in output.splitlines()
            if "Full run log written to" in line
        ),
        None,
    )
    failures: list[tuple[str, str, str]] = []
    if log_path:
        failures = _failures(json.loads(Path(log_path).read_text()))
    by_section = Counter(section for section, _, _ in failures)
    print("\nFailing tests by section:")
    for section, count in by_section.most_common():
        print(f"  {count:4d}  {section}")
        if verbose:
            for sec, title, error in failures:
                if sec == section:
                    print(f"          - {title}: {error.splitlines()[0] if error else ''}"[:240])
    total, passed, failed = (summary.get(k, 0) for k in ("total", "passed", "failed"))
    print(f"\nxAPI 1.0.3 conformance: {passed} passed, {failed} failed (of {total}).")
    return 0 if summary and not failed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--suite", type=Path, required=True, help="the suite's checkout")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--installed", type=Path, help="an installed copy of the suite to use as it is"
    )
    parser.add_argument("--verbose", action="store_true", help="list every failing test")
    parser.add_argument("runner_args", nargs="*", help="more console_runner options (-g ...)")
    args = parser.parse_args()
    if shutil.which("npm") is None or shutil.which("node") is None:
        print("Node.js and npm are needed to run the suite.", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="xapi-conformance-"))
    server: subprocess.Popen[bytes] | None = None
    drop: str | None = None
    try:
        suite = _install_suite(args.suite, workdir, args.installed)
        url, drop = _database(args.db, workdir)
        port = _free_port()
        env = {**os.environ, "LMS_DATABASE_URL": url, "LMS_SECRET_KEY": SECRET_KEY}
        env.pop("LMS_PLUGINS", None)
        subprocess.run([LMS_GRAPH, "db", "upgrade"], env=env, check=True)
        with (workdir / "server.log").open("wb") as server_log:
            server = subprocess.Popen(
                [LMS_GRAPH, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            _wait(port, server)
            key, secret = _credential(port, env)
            print(f"Running the suite against http://127.0.0.1:{port}/xapi ({args.db}) ...")
            started = time.monotonic()
            done = subprocess.run(
                [
                    "node",
                    "bin/console_runner.js",
                    "-e",
                    f"http://127.0.0.1:{port}/xapi",
                    "-a",
                    "-u",
                    key,
                    "-p",
                    secret,
                    "-x",
                    "1.0.3",
                    "-z",
                    *args.runner_args,
                ],
                cwd=suite,
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"(suite ran {time.monotonic() - started:.0f} s)")
        if '"total"' not in done.stdout:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            print(f"The suite stopped without a tally (exit {done.returncode}).", file=sys.stderr)
            return 2
        return _report(suite, done.stdout, args.verbose)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if drop is not None:
            asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
