"""``Tx``: one write transaction with who acts, when, and what runs after commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph.auth import Viewer
from lms_graph.values import Event

if TYPE_CHECKING:
    from lms_graph.core import LMS

logger = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class Tx:
    lms: LMS
    db: AsyncConnection
    viewer: Viewer
    now: dt.datetime
    _after_commit: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    events: list[Event] = dataclasses.field(default_factory=list)

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def emit(self, name: str, **data: Any) -> None:
        """Record an event for ``lms_on_events``, told only if the transaction commits."""
        self.events.append(Event(name=name, at=self.now, data=data))

    @property
    def actor_id(self) -> int | None:
        return self.viewer.user.id if self.viewer.user is not None else None


_current: ContextVar[Tx | None] = ContextVar("lms_graph_current_tx", default=None)


def emit_event(name: str, **data: Any) -> None:
    """Record an event on the core transaction in progress, for ``lms_on_events`` once
    it commits (plugins call it from their hooks). Outside one, nothing happens."""
    tx = _current.get()
    if tx is not None:
        tx.emit(name, **data)


@asynccontextmanager
async def write(lms: LMS, viewer: Viewer) -> AsyncIterator[Tx]:
    """Open a write transaction; commit at the end, then run the after-commit callbacks.

    A failing callback is logged: the committed change stands.
    """
    async with lms.db.transaction() as conn:
        tx = Tx(lms=lms, db=conn, viewer=viewer, now=dt.datetime.now(dt.UTC))
        token = _current.set(tx)
        try:
            yield tx
        finally:
            _current.reset(token)
    for callback in tx._after_commit:
        try:
            await callback()
        except Exception:
            logger.exception("after-commit callback failed")
    if tx.events and lms.implements("lms_on_events"):
        await lms.call_hook("lms_on_events", isolate=True, events=tx.events)
