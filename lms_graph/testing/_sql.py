"""Counting the SQL statements the service sends, for exact assertions (never timings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from lms_graph.core import LMS


class StatementCounter:
    """Every SQL statement sent on ``engines`` from its creation until ``close()``
    (BEGIN and SQLite's pragmas included). ``str(counter)`` lists them, numbered: a
    failure message (``assert counter.count == 4, counter``)."""

    def __init__(self, *engines: AsyncEngine) -> None:
        self.engines = [engine.sync_engine for engine in engines]
        self.statements: list[str] = []
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()

    def close(self) -> None:
        for engine in self.engines:
            if event.contains(engine, "before_cursor_execute", self._seen):
                event.remove(engine, "before_cursor_execute", self._seen)

    def __enter__(self) -> StatementCounter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __str__(self) -> str:
        lines = [f"{self.count} SQL statements:"]
        lines += [f"{n:3}. {' '.join(sql.split())}" for n, sql in enumerate(self.statements, 1)]
        return "\n".join(lines)


class SQLStatements:
    """The ``lms_sql`` fixture: ``with lms_sql.count() as counter:`` counts what the
    service (its every engine) sends during the block."""

    def __init__(self, lms: LMS) -> None:
        self.lms = lms

    @contextmanager
    def count(self) -> Iterator[StatementCounter]:
        with StatementCounter(*self.lms.db.engines) as counter:
            yield counter
