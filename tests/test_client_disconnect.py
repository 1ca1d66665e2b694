"""A client that goes away while sending its body: nothing is written, nothing is
answered, and the server logs no error (a routine event under load, not a fault)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.types import Message

from lms_graph.app import create_app
from lms_graph.core import LMS


@pytest.mark.parametrize("path", ["/graphql", "/xapi/statements", "/imports/assignments"])
async def test_a_client_gone_mid_body_is_no_error(
    lms: LMS, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    app = create_app(lms=lms)
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"query": "{ viewer', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"lms.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"x-experience-api-version", b"1.0.3"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("lms.test", 80),
        "state": {},
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert all(status < 500 for status in statuses), statuses
