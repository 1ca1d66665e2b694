"""A real server for the browser tests: a seeded SQLite file and ``lms-graph serve``
in a subprocess on a free port, and Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from lms_graph.auth import issue_token
from lms_graph.core import LMS
from lms_graph.ids import decode_id
from lms_graph.migrations import upgrade
from lms_graph.plugin_manager import installed_plugins
from lms_graph.settings import Settings
from tests.browser.seed import seed

CHROMIUM = os.environ.get("LMS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "browser-test-secret-key-that-is-long-enough-for-hs256"
PLUGINS = ("certificates", "self_paced", *(("ilt",) if "ilt" in installed_plugins() else ()))
"""The plugins the seed needs (ILT when installed, for its course)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Server:
    base_url: str
    token: str
    """The seeded admin's bearer token."""

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """What the API itself says (to compare the page with), as the admin or ``token``."""
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def token_for(self, user_id: str) -> str:
        """The bearer token of another user (a learner acting on their own), by global ID."""
        settings = Settings(database_url="sqlite://", secret_key=SECRET, plugins=PLUGINS)
        return issue_token(settings, decode_id(user_id, "User"))


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: `pip install -e '.[test]'`."
    if not Path(CHROMIUM).exists():
        return (
            f"No Chromium at {CHROMIUM}: `apt-get install -y chromium` "
            "(or set LMS_TEST_CHROMIUM) to run the browser tests."
        )
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _prepare(settings: Settings) -> int:
    lms = LMS(settings)
    try:
        await upgrade(lms)
        admin = await seed(lms)
    finally:
        await lms.close()
    return admin.id


@contextlib.contextmanager
def running_server(folder: Path) -> Iterator[Server]:
    """Seed ``folder/lms.db`` and serve it until the block ends."""
    url = f"sqlite+aiosqlite:///{folder / 'lms.db'}"
    settings = Settings(database_url=url, secret_key=SECRET, plugins=PLUGINS)
    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        admin_id = pool.submit(asyncio.run, _prepare(settings)).result()
    port = _free_port()
    env = {
        **os.environ,
        "LMS_DATABASE_URL": url,
        "LMS_SECRET_KEY": SECRET,
        "LMS_PLUGINS": ",".join(PLUGINS),
        "LMS_ENV": "development",
        "LMS_ADMIN_UI": "1",
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "lms_graph", "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, folder / "server.log")
        yield Server(base_url, issue_token(settings, admin_id))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within 30 s:\n{log.read_text()}")
