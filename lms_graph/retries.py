"""Running a write again when the database asks for it.

PostgreSQL aborts one of two transactions that deadlock (SQLSTATE 40P01) and, under
stricter isolation, one that cannot be serialised (40001); SQLite answers "database is
locked" when another process held the file past the busy timeout; a connection the
server dropped fails whatever ran on it. In each case nothing of the transaction was
written, so the whole unit of work (a mutation, an HTTP request) runs again from the
start: up to ``MAX_ATTEMPTS`` times, after a short random pause that grows each time.
When the attempts are spent the client gets ``TRY_AGAIN`` (the same request may be sent
again), never an internal error; so does a request that waited too long for a pooled
connection (the server is saturated: running it again at once would only wait longer).

A failure at COMMIT is different: whether the change took effect is unknown, so it is
not run again. Nor is anything run again once a transaction of the unit has committed
(a later failure would repeat the committed part).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lms_graph.errors import LMSError
from lms_graph.metrics import count_retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 5
"""Runs of one unit of work, the first included."""
FIRST_PAUSE_SECONDS = 0.02
"""The longest pause before the first retry; it doubles for each retry after (full jitter)."""

_DEADLOCK = "40P01"
_SERIALIZATION = "40001"
_SQLITE_BUSY = ("database is locked", "database table is locked")


class TryAgain(LMSError):
    """The database kept aborting this request's transaction; sending it again is safe."""

    code = "TRY_AGAIN"

    def __init__(self) -> None:
        super().__init__(
            "The database was too busy to finish this request (it was rolled back, nothing "
            "was written). Send the same request again."
        )


@dataclasses.dataclass(slots=True)
class _Unit:
    committed: bool = False


_unit: ContextVar[_Unit | None] = ContextVar("lms_graph_retry_unit", default=None)
_AT_COMMIT = "_lms_graph_at_commit"


def committed() -> None:
    """Note that a transaction of the unit of work in progress has committed."""
    unit = _unit.get()
    if unit is not None:
        unit.committed = True


def mark_commit_failure(error: BaseException) -> None:
    """Note that ``error`` came from COMMIT: the transaction's outcome is unknown."""
    setattr(error, _AT_COMMIT, True)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(error: DBAPIError) -> str | None:
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def retry_reason(error: BaseException) -> str | None:
    """Why ``error`` calls for running the unit of work again, or None if it does not."""
    for link in _chain(error):
        if getattr(link, _AT_COMMIT, False):
            return None
        if not isinstance(link, DBAPIError):
            continue
        state = _sqlstate(link)
        if state == _DEADLOCK:
            return "deadlock"
        if state == _SERIALIZATION:
            return "serialization"
        if link.connection_invalidated:
            return "disconnect"
        if any(sign in str(link.orig) for sign in _SQLITE_BUSY):
            return "busy"
    return None


def overloaded(error: BaseException) -> bool:
    """Whether ``error`` is a wait for a pooled connection that ran out of time: the
    server is saturated; the client should try again later (running again now would
    only wait longer)."""
    return any(isinstance(link, PoolTimeout) for link in _chain(error))


async def retrying(
    work: Callable[[], Awaitable[T]], *, before_retry: Callable[[], None] | None = None
) -> T:
    """``await work()``, run again while the database asks for it (see the module).

    Nested calls run their work once: only the outermost unit of work is repeated.
    ``before_retry`` forgets what the failed run had read (e.g. a request's loaders).
    """
    if _unit.get() is not None:
        return await work()
    unit = _Unit()
    token = _unit.set(unit)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await work()
            except Exception as error:
                if unit.committed:
                    raise
                if overloaded(error):
                    raise TryAgain() from error
                reason = retry_reason(error)
                if reason is None:
                    raise
                if attempt == MAX_ATTEMPTS:
                    logger.warning("gave up after %d attempts (%s)", attempt, reason)
                    raise TryAgain() from error
                logger.info("running again after %s (attempt %d)", reason, attempt)
                count_retry(reason)
            await asyncio.sleep(random.uniform(0, FIRST_PAUSE_SECONDS * 2 ** (attempt - 1)))
            if before_retry is not None:
                before_retry()
        raise AssertionError("unreachable")
    finally:
        _unit.reset(token)
