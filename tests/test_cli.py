"""The ``lms-graph`` command, in-process (``main([...])``) and once as a real server.

The CLI runs its own event loop (``asyncio.run``), so these tests are plain functions.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from lms_graph import cli
from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.auth import Viewer
from lms_graph.cli import main
from lms_graph.core import LMS
from lms_graph.queries import USER_COLUMNS
from lms_graph.records import UserRecord
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from tests.conftest import BUILTIN_PLUGINS, SECRET, make_settings

T = TypeVar("T")

VIEWER = "{ viewer { email name isAdmin } }"


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI's settings at the session's test database."""
    _set_env(monkeypatch, database_url)
    return database_url


def _set_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LMS_DATABASE_URL", url)
    monkeypatch.setenv("LMS_SECRET_KEY", SECRET)
    monkeypatch.setenv("LMS_PLUGINS", ",".join(BUILTIN_PLUGINS))
    monkeypatch.delenv("LMS_ENV", raising=False)
    monkeypatch.delenv("LMS_TOKEN_TTL", raising=False)


def _email(label: str = "user") -> str:
    """The session database is not emptied between these tests: unique emails."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def _with_lms(url: str, work: Callable[[LMS], Awaitable[T]]) -> T:
    async def run() -> T:
        lms = LMS(make_settings(url))
        try:
            return await work(lms)
        finally:
            await lms.close()

    return asyncio.run(run())


def _add_user(url: str, email: str, *, name: str = "Pat Doe", active: bool = True) -> UserRecord:
    async def work(lms: LMS) -> UserRecord:
        async with write(lms, Viewer(user=None)) as tx:
            user = await insert_user(tx, name=name, email=email)
            if not active:
                await tx.db.execute(update(m.User).where(m.User.id == user.id).values(active=False))
        return user

    return _with_lms(url, work)


def _user(url: str, email: str) -> UserRecord | None:
    async def work(lms: LMS) -> UserRecord | None:
        async with lms.db.reader() as conn:
            row = (
                (await conn.execute(select(*USER_COLUMNS).where(m.User.email == email)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else UserRecord.from_row(row)

    return _with_lms(url, work)


def _graphql(url: str, query: str, token: str) -> dict[str, Any]:
    """One request through the real app (in-process ASGI), with a bearer token."""

    async def work(lms: LMS) -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(lms=lms))
        async with httpx.AsyncClient(transport=transport, base_url="http://lms.test") as http:
            response = await http.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return _with_lms(url, work)


# --- token --------------------------------------------------------------------------------------


def test_token_authenticates_a_graphql_request(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    email = _email()
    _add_user(env, email, name="Tok Holder")

    assert main(["token", email.upper()]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == token + "\n", "the token is alone on stdout"
    assert err == ""

    body = _graphql(env, VIEWER, token)
    assert body == {"data": {"viewer": {"email": email, "name": "Tok Holder", "isAdmin": False}}}


def test_token_lifetime(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = _email()
    _add_user(env, email)

    assert main(["token", email, "--ttl", "90"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 90

    assert main(["token", email]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 12 * 3600


def test_token_for_unknown_email_fails(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = _email("nobody")
    assert main(["token", email]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert email in err
    assert "Traceback" not in err


def test_token_for_deactivated_user_fails(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = _email("gone")
    _add_user(env, email, active=False)
    assert main(["token", email]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "deactivated" in err


def test_token_for_invalid_email_fails(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "not-an-email"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "not a valid email" in err


# --- create-admin -------------------------------------------------------------------------------


def test_create_admin_creates_then_promotes(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = _email("boss")
    assert main(["create-admin", email, "--name", "Bo Boss"]) == 0
    out, _ = capsys.readouterr()
    assert len(out.splitlines()) == 1
    assert email in out
    created = _user(env, email)
    assert created is not None
    assert (created.name, created.is_admin, created.active) == ("Bo Boss", True, True)

    # An existing, deactivated learner is promoted and reactivated; the name stays.
    learner = _email("learner")
    _add_user(env, learner, name="Lee Learner", active=False)
    assert main(["create-admin", learner]) == 0
    out, _ = capsys.readouterr()
    assert learner in out
    promoted = _user(env, learner)
    assert promoted is not None
    assert (promoted.name, promoted.is_admin, promoted.active) == ("Lee Learner", True, True)

    # Running it again changes nothing and still succeeds.
    assert main(["create-admin", learner]) == 0
    capsys.readouterr()
    again = _user(env, learner)
    assert again is not None
    assert (again.id, again.is_admin, again.active) == (promoted.id, True, True)

    assert main(["token", learner]) == 0
    body = _graphql(env, VIEWER, capsys.readouterr().out.strip())
    assert body["data"]["viewer"]["isAdmin"] is True


def test_create_admin_on_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    _set_env(monkeypatch, url)
    assert main(["create-admin", "first@example.com"]) == 0
    assert "first@example.com" in capsys.readouterr().out
    user = _user(url, "first@example.com")
    assert user is not None
    assert user.is_admin


def test_create_admin_refuses_an_invalid_email(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "nope"]) == 1
    _, err = capsys.readouterr()
    assert "not a valid email" in err


# --- schema, db upgrade, usage ------------------------------------------------------------------


def test_schema_prints_the_sdl(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out, err = capsys.readouterr()
    assert "type Enrollment implements Node" in out
    assert "type Query" in out
    assert out.endswith("}\n")
    assert err == ""


def test_db_upgrade_is_repeatable(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [[], ["db"], ["token"], ["token", "a@example.com", "--ttl", "0"], ["serve", "--port", "x"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    _set_env(monkeypatch, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing")
    assert main(["token", "a@example.com"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("lms-graph: ")
    assert "Traceback" not in err


def test_demo_refuses_production(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LMS_ENV", "production")
    assert main(["demo"]) == 2
    assert "production" in capsys.readouterr().err


# --- demo and serve -----------------------------------------------------------------------------


def test_demo_seeds_prints_token_then_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    _set_env(monkeypatch, url)
    served: list[tuple[str, int, int]] = []

    def fake_server(host: str, port: int, workers: int, settings: object) -> int:
        served.append((host, port, workers))
        return 0

    monkeypatch.setattr(cli, "_run_server", fake_server)
    port = _free_port()  # demo checks the port is free before it seeds
    assert main(["demo", "--port", str(port)]) == 0
    assert served == [("127.0.0.1", port, 1)]
    lines = capsys.readouterr().out.splitlines()
    assert f"http://127.0.0.1:{port}/graphql" in "\n".join(lines)
    [token_line] = [line for line in lines if line.startswith("Admin token:")]
    token = token_line.removeprefix("Admin token:").strip()
    # The dashboard link carries the same token, for a newcomer to click.
    assert f"Dashboard:   http://127.0.0.1:{port}/admin/#token={token}" in lines
    body = _graphql(url, VIEWER, token)
    assert body["data"]["viewer"] == {
        "email": "admin@example.com",
        "name": "Ada Admin",
        "isAdmin": True,
    }


def test_demo_on_a_busy_port_fails_before_seeding_or_printing(tmp_path: Path) -> None:
    """Nothing seeded, no banner, no URL, no token: one line on stderr and a non-zero exit."""
    database = tmp_path / "demo.db"
    env = {
        **os.environ,
        "LMS_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LMS_SECRET_KEY": SECRET,
        "LMS_PLUGINS": ",".join(BUILTIN_PLUGINS),
    }
    env.pop("LMS_ENV", None)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lms_graph", "demo", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"lms-graph: Port {port} on 127.0.0.1 is already in use; stop what listens there, "
        "or choose another port with --port.\n"
    )
    assert not database.exists()
    assert not (tmp_path / "demo-mail").exists()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_graphql_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    _set_env(monkeypatch, url)
    assert main(["create-admin", "ops@example.com", "--name", "Ops"]) == 0
    assert main(["token", "ops@example.com"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]

    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lms_graph", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"the server exited:\n{log_path.read_text()}"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no answer in 20 s:\n{log_path.read_text()}"
            time.sleep(0.2)

        response = httpx.post(
            f"{base}/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "data": {"viewer": {"email": "ops@example.com", "name": "Ops", "isAdmin": True}}
        }
        # The server's log: the request's access line with its id; no token, no e-mail.
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 10
        while f"[{request_id}] POST /graphql 200" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        assert token not in log_path.read_text()
        assert "ops@example.com" not in log_path.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
