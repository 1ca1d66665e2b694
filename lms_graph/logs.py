"""Logs: a request id on every line, secrets and e-mail addresses never written.

``RequestId`` (ASGI middleware) gives each request an id, taken from a well-formed
``X-Request-ID`` header (a load balancer's) or made up, and sends it back in the
response. Every log line written while the request runs carries it, its access
line included (uvicorn's own access log is off: it knows no request id). ``log_config``
is the logging set-up ``lms-graph serve`` hands uvicorn: one JSON object per line
in production, plain text in development, both through ``RedactSecrets``, which
masks bearer tokens, signed-link tokens and e-mail addresses wherever they appear
(messages, arguments, tracebacks, uvicorn's access lines).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms_graph.settings import Settings

HEADER = "x-request-id"
_request_id: ContextVar[str | None] = ContextVar("lms_graph_request_id", default=None)
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,64}")


def current_request_id() -> str | None:
    """The id of the request being served, or None outside one."""
    return _request_id.get()


access_log = logging.getLogger("lms_graph.access")


class RequestId:
    """ASGI middleware: a request id for the logs and the ``X-Request-ID`` header, and
    one access line per request (method, path, status, milliseconds) carrying it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = given if _WELL_FORMED.fullmatch(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(pair for pair in message.get("headers", []) if pair[0] != HEADER.encode()),
                    (HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                path = scope["path"] + (f"?{query}" if query else "")
                elapsed = (time.perf_counter() - started) * 1000
                access_log.info("%s %s %d %.1f ms", scope["method"], path, status, elapsed)
            _request_id.reset(token)


_SECRETS = (
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[token]"),  # a JWT anywhere
    (re.compile(r"(?i)(bearer|basic)\s+\S+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(token|secret|password)=[^&\s\"']+"), r"\1=[redacted]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks tokens and e-mail addresses in the message (arguments merged in) and in
    the traceback, and adds the request id to the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the redacted text stands in for the exception
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or current_request_id() or "-",
            "message": record.getMessage(),
        }
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(settings: Settings) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` set-up for the server (uvicorn's included)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if settings.production else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "lms",
        "filters": ["redact"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": {"lms": formatter},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
