"""What a performance-minded GraphQL field declares: the public field metadata.

A page of a hundred learners resolves thousands of fields; the executor
(``lms_graph.schema.execution``) takes a field's value without a resolver call when
the field says how:

- ``from_parent(fn)``: ``fn(parent)`` is the value, read off the parent alone
  (``RESOLVE`` when it is not at hand: the resolver then runs), e.g.
  ``@strawberry.field(metadata=from_parent(lambda root: root.user or RESOLVE))``;
- ``batched(fn)``: in a query, ``await fn(context, parents)`` answers for every parent
  of a page at once (one value per parent, in order), e.g.
  ``@strawberry.field(metadata=batched(certificates_of))``; the resolver still serves
  mutations and must agree with ``fn``;
- ``INFO_FREE``: set to True on a type's ``is_type_of`` that never reads its info;
- ``ids_param(column, name)``: ``column IN :name`` bound as one parameter however many
  IDs the page holds, for the one statement a batch runs (also exported by
  ``lms_graph``, for any statement);
- ``sql_field(spec)``: how PostgreSQL builds the field's JSON when it renders a page of
  learners (``SqlGlobalId``, ``SqlObject``, ``SqlList``). A plain attribute whose
  name is a column of the page needs nothing: it is rendered from that column.

This module holds only the declarations (no GraphQL library is imported); the
executor reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

from lms_graph.sql import ids_param

__all__ = [
    "BATCHED",
    "FROM_PARENT",
    "INFO_FREE",
    "RESOLVE",
    "SQL_FIELD",
    "BatchFn",
    "Resolve",
    "SqlGlobalId",
    "SqlList",
    "SqlObject",
    "SqlRows",
    "batched",
    "from_parent",
    "ids_param",
    "sql_field",
]

FROM_PARENT: Final = "lms_from_parent"
"""The metadata key of a field's parent-only shortcut (see ``from_parent``)."""

BATCHED: Final = "lms_batched"
"""The metadata key of a field's whole-request batch (see ``batched``)."""

SQL_FIELD: Final = "lms_sql_field"
"""The metadata key of a field's SQL rendering (see ``sql_field``)."""

INFO_FREE: Final = "__lms_info_free__"
"""Set to True on an ``is_type_of`` function that does not read its info argument."""


class _Resolve(Enum):
    RESOLVE = "resolve"


RESOLVE: Final = _Resolve.RESOLVE
"""What a ``from_parent`` function answers when the value is not at hand."""

Resolve = Literal[_Resolve.RESOLVE]

BatchFn = Callable[[Any, list[Any]], Awaitable[Sequence[Any]]]
"""``batched``'s function: ``(context, parents)`` to one value per parent, in order."""


def from_parent(fn: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: ``fn(parent)`` gives the field's value without calling its resolver
    (or ``RESOLVE`` to call it). ``fn`` must agree with the resolver wherever it answers:
    ``@strawberry.field(metadata=from_parent(lambda root: root.user or RESOLVE))``."""
    return {FROM_PARENT: fn}


def batched(fn: BatchFn) -> dict[str, Any]:
    """Field metadata: in a query, ``await fn(context, parents)`` gives the field's value
    for every parent at once (one value per parent, in order), instead of one resolver
    call per parent. ``fn`` must agree with the resolver, which still serves mutations."""
    return {BATCHED: fn}


@dataclass(frozen=True, slots=True)
class SqlGlobalId:
    """The field is the global ID of the row's ``column``, for the type ``typename``
    (None: the type the field belongs to), e.g. ``Certificate.enrollmentId`` is
    ``SqlGlobalId("enrollment_id", "Enrollment")``."""

    column: str = "id"
    typename: str | None = None


@dataclass(frozen=True, slots=True)
class SqlObject:
    """The field is an object read off the same row: its fields are the row's columns
    named ``prefix`` + name (``Enrollment.user``: ``u_id``, ``u_name``...). A nullable
    field is null where the object's ``id`` column is."""

    prefix: str


@dataclass(frozen=True, slots=True)
class SqlRows:
    """The rows of a list field, for one parent: their columns by name (what the item
    type's fields read), the condition tying them to the parent, their order."""

    columns: Mapping[str, Any]
    where: Any
    order_by: Sequence[Any]


@dataclass(frozen=True, slots=True)
class SqlList:
    """The field is a list of objects, one per row that ``rows(parent_columns)``
    describes (a correlated subquery aggregating them in order)."""

    rows: Callable[[Mapping[str, Any]], SqlRows]


SqlSpec = SqlGlobalId | SqlObject | SqlList


def sql_field(spec: SqlSpec) -> dict[str, Any]:
    """Field metadata: how PostgreSQL renders the field when it builds a page of learners
    as JSON (``docs/plugins.md``). It must give what the resolver gives; a field without
    a rendering (and not a plain column) sends the page down the ordinary path."""
    return {SQL_FIELD: spec}
