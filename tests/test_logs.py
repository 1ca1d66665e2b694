"""Logs carry the request id and never a token or an e-mail address (CONTRACT section 8:
production mode)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from httpx import AsyncClient

from lms_graph.logs import JsonFormatter, RedactSecrets, redact
from tests.helpers import World

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, str]] = []
        self.addFilter(RedactSecrets())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("lms_graph")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_every_response_carries_a_request_id(client: AsyncClient) -> None:
    made = (await client.get("/healthz")).headers["x-request-id"]
    assert len(made) == 32
    assert int(made, 16) >= 0
    assert (await client.get("/healthz")).headers["x-request-id"] != made
    # A load balancer's id is kept when it is well formed, replaced when not.
    given = {"X-Request-ID": "lb-7f3a.42_x"}
    assert (await client.get("/healthz", headers=given)).headers["x-request-id"] == "lb-7f3a.42_x"
    for bad in ("a b", "x" * 65, "id;drop", "<script>"):
        header = {"X-Request-ID": bad}
        answer = (await client.get("/healthz", headers=header)).headers["x-request-id"]
        assert answer != bad
        assert len(answer) == 32


async def test_the_access_line_has_the_request_id_and_no_token(
    client: AsyncClient, world: World, logged: _Lines
) -> None:
    admin = await world.admin("Ada Admin")
    response = await client.get(
        f"/imports/reports/1/failures.csv?token={TOKEN}",
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    [line] = [line for line in logged.lines if line["logger"] == "lms_graph.access"]
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["level"] == "INFO"
    assert line["message"].startswith("GET /imports/reports/1/failures.csv?token=[redacted] ")
    assert f" {response.status_code} " in line["message"]
    text = json.dumps(logged.lines)
    assert TOKEN not in text
    assert admin.token not in text


def test_messages_and_tracebacks_are_redacted(logged: _Lines) -> None:
    logger = logging.getLogger("lms_graph.test")
    try:
        raise ValueError(f"no user ada@example.com for Bearer {TOKEN}")
    except ValueError:
        logger.exception("import for %s failed with secret=%s", "ada@example.com", "s3cr3t")
    [line] = logged.lines
    assert line["message"] == "import for [email] failed with secret=[redacted]"
    assert "ValueError: no user [email] for Bearer [redacted]" in line["traceback"]
    text = json.dumps(line)
    for secret in ("ada@example.com", TOKEN, "s3cr3t"):
        assert secret not in text
    assert line["request_id"] == "-"  # outside a request


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer [redacted]"),
        (f"GET /c.pdf?token={TOKEN}&x=1", "GET /c.pdf?token=[redacted]&x=1"),
        (f"a {TOKEN} b", "a [token] b"),
        ("Basic eGs6c2VjcmV0", "Basic [redacted]"),
        ("mail first.last+tag@mail.example.co.uk now", "mail [email] now"),
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_redact(raw: str, expected: str) -> None:
    assert redact(raw) == expected


@pytest.mark.parametrize("env", ["production", "development"])
def test_the_servers_log_set_up(env: str) -> None:
    """``lms-graph serve``'s set-up, applied in a fresh interpreter: JSON lines in
    production, text in development, both redacted and with the request id."""
    script = (
        "import logging, logging.config\n"
        "from lms_graph.logs import log_config\n"
        "from lms_graph.settings import Settings\n"
        f"settings = Settings(database_url='sqlite+aiosqlite:///x.db', env={env!r})\n"
        "logging.config.dictConfig(log_config(settings))\n"
        "logging.getLogger('lms_graph.x').warning('sent to %s', 'ada@example.com')\n"
        "logging.getLogger('uvicorn.error').info('Started server process')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert "ada@example.com" not in done.stderr
    if env == "production":
        first, second = (json.loads(line) for line in lines)
        assert (first["level"], first["logger"], first["message"]) == (
            "WARNING",
            "lms_graph.x",
            "sent to [email]",
        )
        assert first["request_id"] == "-"
        assert second["logger"] == "uvicorn.error"
    else:
        assert lines[0].endswith("WARNING lms_graph.x [-] sent to [email]")
