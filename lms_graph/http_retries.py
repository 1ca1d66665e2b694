"""HTTP routes run again when their transaction was aborted (``lms_graph.retries``).

The request body is read first (``BodyLimit`` has bounded it) so that each run reads
it afresh. A run is repeated only while nothing of its response has been sent. When the
attempts are spent, or the server is saturated, the client gets 503 with code
``TRY_AGAIN`` and ``Retry-After``. GraphQL is left to its own layer, which repeats each
mutation on its own (``lms_graph.schema.transactions``) and answers in GraphQL errors.

A client that goes away before its body has arrived gets nothing (there is no one to
answer): an information line, not an error with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms_graph.retries import TryAgain, committed, retrying

logger = logging.getLogger(__name__)


class RetryTransactions:
    def __init__(self, app: ASGIApp, skip: Collection[str] = ()) -> None:
        self.app = app
        self.skip = frozenset(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.skip:
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:
                logger.info("the client went away before its request was read")
            return
        body: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                logger.info("the client went away before its request was read")
                return
            body.append(message)
            if not message.get("more_body", False):
                break
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def run() -> None:
            pending = list(body)

            async def replay() -> Message:
                return pending.pop(0) if pending else await receive()

            try:
                await self.app(scope, replay, tracking_send)
            except Exception:
                if started:  # like a commit, a response on its way cannot be taken back
                    committed()
                raise

        try:
            await retrying(run)
        except TryAgain as error:
            await _refuse(send, error)


async def _refuse(send: Send, error: TryAgain) -> None:
    body = orjson.dumps({"error": error.message, "code": error.code})
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
