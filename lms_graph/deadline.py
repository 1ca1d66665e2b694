"""Every request has a deadline (``LMS_REQUEST_TIMEOUT``): past it, it is stopped.

``Deadline`` (ASGI middleware) sets a timer of ``request_timeout`` seconds. When it
goes off and nothing of the response has been sent, the request's task is cancelled
and the client gets 503 with code ``TIMEOUT`` at once, sent from a task of its own:
a GraphQL-shaped body on ``/graphql``, ``{"error", "code"}`` elsewhere. The
cancellation unwinds the request as an exception would: a write transaction in
progress rolls back (SQLAlchemy discards a connection cancelled in the middle of a
statement, so no broken one goes back to the pool), and the request's read
connection is given back once the statement it is running ends (those statements
are shielded; see ``RequestConnection``).

The deadline covers the time until the response starts, the request body's upload
included. It never cuts a response half-way: once the first bytes are sent (a
download streaming), the request runs to its end; uvicorn's and the proxy's
timeouts bound that part. Nor does it stop a request that has committed a write (its
``COMMIT`` was sent): stopping it then could no longer leave it without effect, and
the client would be told that nothing was written when something was. So a 503
``TIMEOUT`` always means that nothing of the request was written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms_graph import metrics

logger = logging.getLogger(__name__)

CODE = "TIMEOUT"
GRAPHQL_PATH = "/graphql"


@dataclasses.dataclass(slots=True)
class _Progress:
    """How far the request got: what decides whether it may still be stopped."""

    started: bool = False
    """The response's first message has been sent."""
    committed: bool = False
    """A write transaction of the request has sent its COMMIT."""
    stopped: bool = False
    """The deadline passed: the 503 has been sent instead of the app's response."""


_progress: ContextVar[_Progress | None] = ContextVar("lms_graph_deadline", default=None)


def _on_commit(conn: Connection) -> None:
    # Runs just before COMMIT is sent, in the request's context (SQLAlchemy's
    # greenlets carry the task's context variables).
    progress = _progress.get()
    if progress is not None:
        progress.committed = True


def watch_commits(engine: AsyncEngine) -> None:
    """Learn when a request commits on ``engine`` (idempotent)."""
    if not event.contains(engine.sync_engine, "commit", _on_commit):
        event.listen(engine.sync_engine, "commit", _on_commit)


class Deadline:
    """Stop a request that has not started its response ``seconds`` after it came in.

    ``seconds`` of 0 turns the deadline off.
    """

    def __init__(self, app: ASGIApp, seconds: float, engines: tuple[AsyncEngine, ...]) -> None:
        self.app = app
        self.seconds = seconds
        for engine in engines:
            watch_commits(engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        progress = _Progress()
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        loop = asyncio.get_running_loop()
        refusal: asyncio.Task[None] | None = None

        async def guarded_send(message: Message) -> None:
            if progress.stopped:
                return  # the 503 went out instead of whatever the app still says
            if message["type"] == "http.response.start":
                progress.started = True
            await send(message)

        def expire() -> None:
            nonlocal refusal
            if progress.started or progress.committed:
                return  # too far along to be stopped: it runs its course
            progress.stopped = True
            metrics.note_error(scope, CODE)
            logger.warning(
                "request stopped at its deadline of %g s: %s %s",
                self.seconds,
                scope.get("method"),
                scope.get("path"),
            )
            # The 503 leaves at once, from a task of its own, while the request unwinds
            # (a read statement in flight finishes first: see RequestConnection).
            refusal = loop.create_task(_refuse(send, scope, self.seconds))
            task.cancel()

        timer = loop.call_later(self.seconds, expire)
        token = _progress.set(progress)
        try:
            await self.app(scope, receive, guarded_send)
        except asyncio.CancelledError:
            if not progress.stopped or task.uncancel() > cancelling:
                raise  # not (only) the deadline: cancelled from outside
        except Exception:
            if not progress.stopped:
                raise
            logger.exception("a request stopped at its deadline failed while unwinding")
        else:
            if progress.stopped:  # the app swallowed the cancellation
                task.uncancel()
        finally:
            timer.cancel()
            _progress.reset(token)
        if refusal is not None:
            await refusal


def _message(seconds: float) -> str:
    return (
        f"The request ran longer than {seconds:g} seconds and was stopped; nothing of it "
        "was written. Send it again later, or ask for less at once."
    )


async def _refuse(send: Send, scope: Scope, seconds: float) -> None:
    body: dict[str, Any]
    if scope["path"] == GRAPHQL_PATH:
        body = {
            "data": None,
            "errors": [{"message": _message(seconds), "extensions": {"code": CODE}}],
        }
    else:
        body = {"error": _message(seconds), "code": CODE}
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
