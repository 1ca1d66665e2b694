"""Set-membership tests that bind ONE parameter however many IDs (or texts) they hold.

``column.in_(ids)`` binds one parameter per ID: 10,000 learners cost 10,000 binds
to compile and send. These send a PostgreSQL array, or a JSON array that SQLite
reads with ``json_each``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean


class SetTest(ColumnElement[bool]):
    """A membership test: a comparison already, so no dialect appends ``= 1`` to it
    (SQLite would then scan the whole table instead of using the column's index)."""

    inherit_cache = False
    type = Boolean()
    _is_implicitly_boolean = True


class IdsIn(SetTest):
    """``column IN ids``."""

    inherit_cache = False  # its values are bound when compiled, not in a cache key

    def __init__(self, column: Any, ids: Sequence[int]) -> None:
        self.column = column
        self.ids = list(ids)


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


def ids_in(column: Any, ids: Sequence[int]) -> IdsIn:
    return IdsIn(column, ids)


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
    return f"{compiler.process(element.column, **kw)} = ANY({_array(element.ids, compiler, **kw)})"


@compiles(IdsIn)
def _ids_in_sqlite(element: IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({_json(element.ids, compiler, **kw)}))"


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
