"""Plugins come and go (CONTRACT section 11): a database migrated with a plugin keeps
serving when that plugin is left out of ``LMS_PLUGINS`` or uninstalled (its tables and
its revision in ``alembic_version`` left alone, the other branches upgraded), and
loading it again later upgrades its branch and finds its data.

Through the real ``lms-graph db upgrade`` and ``lms-graph serve``, as subprocesses, on a
database of their own per backend.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url

from lms_graph.auth import issue_token, load_viewer
from lms_graph.core import LMS
from lms_graph.migrations import alembic_config, upgrade
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.values import OutcomeStatus
from tests.conftest import (
    BUILTIN_PLUGINS,
    SECRET,
    _make_postgres_database,
    _postgres_admin,
    make_settings,
)
from tests.helpers import World, gid

WITHOUT_CERTIFICATES = tuple(name for name in BUILTIN_PLUGINS if name != "certificates")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own (its migrations are what is tested)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'lms.db'}"
        return
    url = _make_postgres_database()
    yield url
    name = make_url(url).database
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _cli(url: str, plugins: tuple[str, ...], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lms_graph", *argv],
        env=_env(url, plugins),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(url: str, plugins: tuple[str, ...]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env |= {"LMS_DATABASE_URL": url, "LMS_SECRET_KEY": SECRET, "LMS_PLUGINS": ",".join(plugins)}
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """``lms-graph serve`` in a subprocess, until ``stop``."""

    def __init__(self, url: str, plugins: tuple[str, ...], log_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lms_graph", "serve", "--port", str(self.port)],
                cwd=log_path.parent,
                env=_env(url, plugins),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"no answer in 30 s:\n{log_path.read_text()}")
            time.sleep(0.2)

    def graphql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _versions(url: str) -> set[str]:
    lms = LMS(make_settings(url))
    try:
        async with lms.db.reader() as conn:
            return set(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    finally:
        await lms.close()


async def _columns(url: str, table: str) -> set[str]:
    lms = LMS(make_settings(url))
    try:
        async with lms.db.reader() as conn:
            return await conn.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns(table)}
            )
    finally:
        await lms.close()


async def _migrated_with_a_certificate(url: str) -> dict[str, Any]:
    """Every built-in plugin's tables; a learner marked complete (so holding a
    certificate); then the certificates branch taken back to its first revision, as a
    database last upgraded before ``certificates_0002`` was released would be."""
    lms = LMS(make_settings(url))
    try:
        await upgrade(lms)
        world = World(lms)
        admin = await world.admin()
        learner = await world.user("Lena Learner")
        course = await world.course("Forklift license")
        [enrollment] = await world.assign(course, [learner], by=admin)
        async with lms.db.reader() as conn:
            viewer = await load_viewer(conn, admin.user.id)
        result = await run_action(
            lms, viewer, ActionRequest("mark_complete", enrollment_ids=[enrollment])
        )
        assert [o.status for _, o in result.outcomes] == [OutcomeStatus.OK]
        async with lms.db.reader() as conn:
            code = (await conn.execute(text("SELECT code FROM certificates"))).scalar_one()

        config = alembic_config(lms)

        def down(connection: Connection) -> None:
            config.attributes["connection"] = connection
            command.downgrade(config, "certificates_0001")

        async with lms.db.transaction() as conn:
            await conn.run_sync(down)
        return {
            "admin": admin,
            "enrollment": gid("Enrollment", enrollment),
            "course": gid("Course", course.id),
            "code": code,
        }
    finally:
        await lms.close()


ENROLLMENT = "query ($id: ID!) { enrollment(id: $id) { state user { name } } }"
CERTIFICATES = """
query ($id: ID!) {
  enrollment(id: $id) {
    state certificates { code valid } certificateHistory { code revokedBy { id } }
  }
}
"""
ASSIGN = """
mutation ($course: ID!, $users: [ID!]!) {
  assignCourse(input: {courseId: $course, userIds: $users}) { enrollments { id state } }
}
"""


def test_a_plugin_left_out_then_loaded_again(fresh_url: str, tmp_path: Path) -> None:
    scene = asyncio.run(_migrated_with_a_certificate(fresh_url))
    token = issue_token(make_settings(fresh_url), scene["admin"].user.id)
    assert asyncio.run(_versions(fresh_url)) >= {"certificates_0001"}
    assert "revoked_by_id" not in asyncio.run(_columns(fresh_url, "certificates"))

    # Left out: the upgrade upgrades the rest and leaves the plugin's branch as it is.
    upgraded = _cli(fresh_url, WITHOUT_CERTIFICATES, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is up to date" in upgraded.stdout
    assert "certificates_0001" in asyncio.run(_versions(fresh_url))
    assert "revoked_by_id" not in asyncio.run(_columns(fresh_url, "certificates"))
    again = _cli(fresh_url, WITHOUT_CERTIFICATES, "db", "upgrade")
    assert again.returncode == 0, again.stderr

    # ... and the service serves, reads and writes, without it.
    served = Served(fresh_url, WITHOUT_CERTIFICATES, tmp_path / "without.log")
    try:
        body = served.graphql(token, ENROLLMENT, id=scene["enrollment"])
        assert body == {
            "data": {"enrollment": {"state": "COMPLETED", "user": {"name": "Lena Learner"}}}
        }
        body = served.graphql(token, CERTIFICATES, id=scene["enrollment"])
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        body = served.graphql(token, ASSIGN, course=scene["course"], users=[scene["admin"].id])
        assert body["data"]["assignCourse"]["enrollments"][0]["state"] == "NOT_STARTED"
        assert httpx.get(f"{served.base}/certificates/verify/{scene['code']}").status_code == 404
    finally:
        served.stop()

    # Loaded again: its branch is upgraded, and its data is there.
    upgraded = _cli(fresh_url, BUILTIN_PLUGINS, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    versions = asyncio.run(_versions(fresh_url))
    assert "certificates_0002" in versions
    assert "certificates_0001" not in versions
    assert "revoked_by_id" in asyncio.run(_columns(fresh_url, "certificates"))
    served = Served(fresh_url, BUILTIN_PLUGINS, tmp_path / "with.log")
    try:
        body = served.graphql(token, CERTIFICATES, id=scene["enrollment"])
        assert body == {
            "data": {
                "enrollment": {
                    "state": "COMPLETED",
                    "certificates": [{"code": scene["code"], "valid": True}],
                    "certificateHistory": [{"code": scene["code"], "revokedBy": None}],
                }
            }
        }
        verified = httpx.get(f"{served.base}/certificates/verify/{scene['code']}").json()
        assert verified["valid"] is True
    finally:
        served.stop()


async def _with_an_uninstalled_plugin(url: str) -> None:
    """What an uninstalled partner package leaves: a table and a revision no installed
    plugin knows."""
    lms = LMS(make_settings(url))
    try:
        await upgrade(lms)
        async with lms.db.transaction() as conn:
            await conn.execute(text("CREATE TABLE partner_things (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO partner_things (id) VALUES (7)"))
            await conn.execute(text("INSERT INTO alembic_version VALUES ('partner_0003')"))
    finally:
        await lms.close()


async def _partner_rows(url: str) -> list[int]:
    lms = LMS(make_settings(url))
    try:
        async with lms.db.reader() as conn:
            return list((await conn.execute(text("SELECT id FROM partner_things"))).scalars())
    finally:
        await lms.close()


def test_an_uninstalled_plugins_tables_and_revision_are_left_alone(
    fresh_url: str, tmp_path: Path
) -> None:
    asyncio.run(_with_an_uninstalled_plugin(fresh_url))
    upgraded = _cli(fresh_url, BUILTIN_PLUGINS, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "partner_0003" in asyncio.run(_versions(fresh_url))
    assert asyncio.run(_partner_rows(fresh_url)) == [7]
    created = _cli(fresh_url, BUILTIN_PLUGINS, "create-admin", "ops@example.com")
    assert created.returncode == 0, created.stderr
    token = _cli(fresh_url, BUILTIN_PLUGINS, "token", "ops@example.com").stdout.strip()
    served = Served(fresh_url, BUILTIN_PLUGINS, tmp_path / "served.log")
    try:
        body = served.graphql(token, "{ viewer { email isAdmin } }")
        assert body == {"data": {"viewer": {"email": "ops@example.com", "isAdmin": True}}}
    finally:
        served.stop()


async def _with_a_newer_certificates_revision(url: str) -> None:
    """A database upgraded by a newer release of a plugin than the one installed."""
    lms = LMS(make_settings(url))
    try:
        await upgrade(lms)
        async with lms.db.transaction() as conn:
            await conn.execute(
                text(
                    "UPDATE alembic_version SET version_num = 'certificates_0099' "
                    "WHERE version_num = 'certificates_0002'"
                )
            )
    finally:
        await lms.close()


def test_a_newer_revision_of_a_loaded_plugin_is_refused_clearly(fresh_url: str) -> None:
    """Setting that revision aside would build the plugin's tables again: refused."""
    asyncio.run(_with_a_newer_certificates_revision(fresh_url))
    refused = _cli(fresh_url, BUILTIN_PLUGINS, "db", "upgrade")
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("lms-graph: Database migration failed: the tables of plugin")
    assert "'certificates'" in line
    assert "certificates_0099" in line
    assert "certificates_0099" in asyncio.run(_versions(fresh_url))
    # Without that plugin, the rest is served as usual.
    upgraded = _cli(fresh_url, WITHOUT_CERTIFICATES, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
