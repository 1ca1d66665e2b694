"""Keyset pagination: cursors that carry the sort key, never an offset."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from operator import itemgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, TypeDecorator, and_, literal, or_
from sqlalchemy.orm import InstrumentedAttribute

from lms_graph.caches import MISSING, IdentityCache
from lms_graph.db import RequestConnection
from lms_graph.errors import BadInput

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]

DEFAULT_PAGE_SIZE = 20


@dataclasses.dataclass(slots=True)
class PageInfoRecord:
    has_next_page: bool
    end_cursor: str | None


class EdgeRecord(Generic[T]):
    """An item of a page; its cursor is encoded only when a query asks for it."""

    __slots__ = ("_cursor", "keys", "node")

    def __init__(self, node: T, keys: Sequence[Any]) -> None:
        self.node = node
        self.keys = keys
        self._cursor: str | None = None

    @property
    def cursor(self) -> str:
        if self._cursor is None:
            self._cursor = encode_cursor(self.keys)
        return self._cursor


@dataclasses.dataclass(slots=True)
class Page(Generic[T]):
    """What a connection field returns; ``totalCount`` runs its query only when asked."""

    edges: list[EdgeRecord[T]]
    page_info: PageInfoRecord
    count: Callable[[], Awaitable[int]]

    async def total_count(self) -> int:
        return await self.count()

    @property
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if not 1 <= first <= maximum:
        raise BadInput(f"`first` must be between 1 and {maximum}.")
    return first


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            moment = dt.datetime.fromisoformat(value["t"])
            if moment.tzinfo is None:
                raise ValueError("bad cursor value")
            return moment
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        raise ValueError("bad cursor value")
    if isinstance(value, str) and "\x00" in value:  # no stored text holds one
        raise ValueError("bad cursor value")
    return value


def _fits(value: Any, key: SortKey) -> bool:
    """Whether a cursor value can be compared with the key's column (when its type is known):
    a cursor of another list or order is refused, not sent to the database."""
    sql_type = key.expression.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return True
    if python_type is object:
        return True
    if python_type is int:
        bits = 63 if isinstance(sql_type, BigInteger) else 31
        return type(value) is int and -(2**bits) <= value < 2**bits
    if python_type is dt.date:
        return type(value) is dt.date
    return isinstance(value, python_type)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("bad cursor")
        decoded = [_decode_value(v) for v in values]
        if not all(_fits(value, key) for value, key in zip(decoded, keys, strict=True)):
            raise ValueError("bad cursor")
        return decoded
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError):
        raise BadInput("The `after` cursor is not one this list gave out.") from None


@dataclasses.dataclass(frozen=True, slots=True)
class SortKey:
    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool = False


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys`` (the last key is unique)."""
    clauses = []
    for index, key in enumerate(keys):
        equal = [keys[i].expression == values[i] for i in range(index)]
        beyond = (
            key.expression < values[index] if key.descending else key.expression > values[index]
        )
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


_FIRST_PAGES: IdentityCache[AnySelect] = IdentityCache(512)
"""First-page statements by their query (kept alive with them) and page size."""


def _statement(query: AnySelect, keys: Sequence[SortKey], first: int, after: str | None) -> Any:
    labelled = [key.expression.label(f"_k{i}") for i, key in enumerate(keys)]
    statement = query.add_columns(*labelled).order_by(
        *(key.expression.desc() if key.descending else key.expression.asc() for key in keys)
    )
    if after is not None:
        statement = statement.where(_after(keys, decode_cursor(after, keys)))
    # An int written into the SQL text (see ``lists.course_learners``).
    return statement.limit(literal(first + 1, literal_execute=True))


async def keyset_page(
    db: RequestConnection,
    query: AnySelect,
    keys: Sequence[SortKey],
    *,
    first: int,
    after: str | None,
    make: Callable[[Any], T] | None = None,
    count: Callable[[], Awaitable[int]],
    make_rows: Callable[[Sequence[str]], Callable[[Any], T]] | None = None,
    reuse: bool = False,
) -> Page[T]:
    """One statement for the page: ``first + 1`` rows past the cursor, in key order.

    Each row becomes a node by ``make(mapping)``, or (faster, for big pages) by the
    function ``make_rows(column names)`` returns, which takes the plain row tuple.
    ``reuse``: ``query`` and ``keys`` are long-lived (the caller keeps them), so the
    statement of a first page is kept with them and SQLAlchemy reuses its compiled form.
    """
    if after is None and reuse:
        found = _FIRST_PAGES.get(query, first)
        if found is MISSING:
            found = _FIRST_PAGES.put(query, _statement(query, keys, first, None), first)
        statement = found
    else:
        statement = _statement(query, keys, first, after)
    result = await db.execute(statement)
    names = list(result.keys())
    rows = result.all()
    if make_rows is not None:
        build = make_rows(names)
    elif make is not None:
        build = lambda row: make(row._mapping)  # noqa: E731
    else:  # pragma: no cover - a programming error
        raise TypeError("keyset_page needs make or make_rows")
    # The sort keys of a row, by position: a tuple from one C call per row.
    positions = [names.index(f"_k{i}") for i in range(len(keys))]
    key_values: Callable[[Any], Sequence[Any]] = (
        itemgetter(*positions) if len(positions) > 1 else lambda row: (row[positions[0]],)
    )
    edges = [EdgeRecord(build(row), key_values(row)) for row in rows[:first]]
    return Page(
        edges=edges,
        page_info=PageInfoRecord(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
        count=count,
    )
