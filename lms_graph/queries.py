"""Column sets and base statements shared by loaders and services."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Integer, Select, String, and_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

from lms_graph import models as m
from lms_graph.sql import SetTest

USER_COLUMNS = (
    m.User.id,
    m.User.email,
    m.User.employee_id,
    m.User.name,
    m.User.active,
    m.User.is_admin,
)

COURSE_COLUMNS = (
    m.Course.id,
    m.Course.title,
    m.Course.kind,
    m.Course.course_type,
    m.Course.credits,
)

ENROLLMENT_COLUMNS = (
    m.Enrollment.id,
    m.Enrollment.user_id,
    m.Enrollment.course_id,
    m.Enrollment.assignment,
    m.Enrollment.due_date,
    m.Enrollment.assigned_by_id,
    m.Enrollment.assigned_at,
    m.Enrollment.message,
    m.Enrollment.attempt_number,
    m.Enrollment.version,
    m.Attempt.id.label("attempt_id"),
    m.Attempt.state,
    m.Attempt.progress,
    m.Attempt.started_at,
    m.Attempt.completed_at,
)

CURRENT_ATTEMPT = and_(
    m.Attempt.enrollment_id == m.Enrollment.id,
    m.Attempt.number == m.Enrollment.attempt_number,
)

ACTIVE_ENROLLMENT = m.Enrollment.unassigned_at.is_(None)


def enrollments_select(*extra: Any) -> Select[*tuple[Any, ...]]:
    """Active enrollments joined with their current attempt."""
    return (
        select(*ENROLLMENT_COLUMNS, *extra)
        .join(m.Attempt, CURRENT_ATTEMPT)
        .where(ACTIVE_ENROLLMENT)
    )


class _JsonIds(TypeDecorator[list[int]]):
    """A list of IDs bound as one JSON text, which SQLite's ``json_each`` reads."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps([int(pk) for pk in value])


_ID_LIST = postgresql.ARRAY(Integer).with_variant(_JsonIds(), "sqlite")


class IdsParam(SetTest):
    """``column IN :name``, the list of IDs bound at execution as ONE parameter."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("param", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, name: str) -> None:
        self.column = column
        self.param = bindparam(name, type_=_ID_LIST)


def ids_param(column: Any, name: str) -> IdsParam:
    """``column IN :name`` for a statement built once and run many times with
    ``execute(statement, {name: ids})``: one parameter however many IDs (a PostgreSQL
    array; a JSON array on SQLite), so its SQL text and compiled form never change,
    unlike ``column.in_(ids)``, which binds and renders one parameter per ID."""
    return IdsParam(column, name)


@compiles(IdsParam, "postgresql")
def _ids_param_postgresql(element: IdsParam, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.param, **kw)})"


@compiles(IdsParam)
def _ids_param_sqlite(element: IdsParam, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.param, **kw)}))"
