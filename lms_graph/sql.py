"""Set-membership tests that bind ONE parameter however many IDs (or texts) they hold.

``column.in_(ids)`` binds one parameter per ID: 10,000 learners cost 10,000 binds
to compile and send, and a statement whose text changes with the number of IDs. These
send a PostgreSQL array, or a JSON array that SQLite reads with ``json_each``.

``ids_in(column, ids)`` is the one for IDs, given now or by the name of the parameter
that carries them at execution; ``lms_graph.ids_param`` is the same function, under the
name plugins know it by.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean, TypeDecorator


class SetTest(ColumnElement[bool]):
    """A membership test: a comparison already, so no dialect appends ``= 1`` to it
    (SQLite would then scan the whole table instead of using the column's index)."""

    inherit_cache = False
    type = Boolean()
    _is_implicitly_boolean = True


class _JsonIds(TypeDecorator[list[int]]):
    """A list of IDs bound as one JSON text, which SQLite's ``json_each`` reads."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps([int(pk) for pk in value])


_ID_LIST = postgresql.ARRAY(Integer).with_variant(_JsonIds(), "sqlite")
"""A list of IDs as one parameter: a PostgreSQL array; a JSON array on SQLite."""


class IdsIn(SetTest):
    """``column IN ids``, the IDs bound as ONE parameter (``ids_in``)."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("param", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, ids: Sequence[int] | str) -> None:
        self.column = column
        if isinstance(ids, str):
            self.param = bindparam(ids, type_=_ID_LIST)
        else:
            self.param = bindparam(None, list(ids), type_=_ID_LIST, unique=True)


class TextsIn(SetTest):
    """``column IN texts`` (emails, employee IDs)."""

    inherit_cache = False  # its values are bound when compiled, not in a cache key

    def __init__(self, column: Any, texts: Sequence[str]) -> None:
        self.column = column
        self.texts = list(texts)


class PairsIn(SetTest):
    """``(first, second) IN pairs``: e.g. (id, version) as they were read."""

    inherit_cache = False  # its values are bound when compiled, not in a cache key

    def __init__(self, first: Any, second: Any, pairs: Sequence[tuple[int, int]]) -> None:
        self.first = first
        self.second = second
        self.pairs = list(pairs)


def ids_in(column: Any, ids: Sequence[int] | str) -> IdsIn:
    """``column IN ids`` bound as one parameter however many IDs.

    ``ids``: the IDs themselves; or, for a statement built once and run many times, the
    name of the parameter that carries them, ``execute(statement, {name: ids})``: its SQL
    text and compiled form then never change, unlike ``column.in_(ids)``, which binds and
    renders one parameter per ID on every call. Either way SQLAlchemy keeps the compiled
    form of a statement built again with other IDs.
    """
    return IdsIn(column, ids)


ids_param = ids_in
"""``ids_in`` under the name plugins import (``lms_graph.ids_param``)."""


def texts_in(column: Any, texts: Sequence[str]) -> TextsIn:
    return TextsIn(column, texts)


def pairs_in(first: Any, second: Any, pairs: Sequence[tuple[int, int]]) -> PairsIn:
    return PairsIn(first, second, pairs)


def _array(values: list[int], compiler: SQLCompiler, **kw: Any) -> str:
    param = bindparam(None, values, type_=postgresql.ARRAY(Integer), unique=True)
    return str(compiler.process(param, **kw))


def _json(value: Any, compiler: SQLCompiler, **kw: Any) -> str:
    param = bindparam(None, json.dumps(value), type_=String, unique=True)
    return str(compiler.process(param, **kw))


@compiles(IdsIn, "postgresql")
def _ids_in_postgresql(element: IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.param, **kw)})"


@compiles(IdsIn)
def _ids_in_sqlite(element: IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.param, **kw)}))"


@compiles(TextsIn, "postgresql")
def _texts_in_postgresql(element: TextsIn, compiler: SQLCompiler, **kw: Any) -> str:
    param = bindparam(None, element.texts, type_=postgresql.ARRAY(String), unique=True)
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(param, **kw)})"


@compiles(TextsIn)
def _texts_in_sqlite(element: TextsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({_json(element.texts, compiler, **kw)}))"


@compiles(PairsIn, "postgresql")
def _pairs_in_postgresql(element: PairsIn, compiler: SQLCompiler, **kw: Any) -> str:
    first = _array([a for a, _ in element.pairs], compiler, **kw)
    second = _array([b for _, b in element.pairs], compiler, **kw)
    columns = f"{compiler.process(element.first, **kw)}, {compiler.process(element.second, **kw)}"
    return f"({columns}) IN (SELECT * FROM unnest({first}, {second}))"


@compiles(PairsIn)
def _pairs_in_sqlite(element: PairsIn, compiler: SQLCompiler, **kw: Any) -> str:
    columns = f"{compiler.process(element.first, **kw)}, {compiler.process(element.second, **kw)}"
    pairs = _json(element.pairs, compiler, **kw)
    return (
        f"({columns}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
        f" FROM json_each({pairs}))"
    )
