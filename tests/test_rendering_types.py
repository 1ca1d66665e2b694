"""A column renders only as the scalar whose JSON it would give: the SQL of a shape is
refused (the page then takes the executor) when a column's type does not match."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    type_coerce,
)

from lms_graph.models import UTCDateTime
from lms_graph.schema.rendering import node_columns


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


table = Table(
    "things",
    MetaData(),
    Column("id", Integer),
    Column("name", String),
    Column("count", Integer),
    Column("ratio", Float),
    Column("flag", Boolean),
    Column("day", Date),
    Column("naive", DateTime),
    Column("moment", UTCDateTime),
    Column("color", Enum(Color)),
    Column("color_by_value", Enum(Color, values_callable=lambda e: [m.value for m in e])),
)
COLUMNS: dict[str, Any] = {column.key: column for column in table.c}
COLUMNS["color_as_text"] = type_coerce(table.c.color, String()).label("color_as_text")
COLORS = ("enum", frozenset({"RED", "BLUE"}))


def _renders(column: str, form: Any) -> bool:
    return node_columns(((column, "value", (column, form)),), COLUMNS) is not None


@pytest.mark.parametrize(
    ("column", "form"),
    [
        ("name", "text"),
        ("count", "int"),
        ("count", "float"),
        ("ratio", "float"),
        ("flag", "boolean"),
        ("day", "date"),
        ("moment", "datetime"),
        ("color", COLORS),
        ("color_as_text", COLORS),
    ],
)
def test_a_column_of_the_scalars_type_renders(column: str, form: Any) -> None:
    assert _renders(column, form)


@pytest.mark.parametrize(
    ("column", "form"),
    [
        ("count", "text"),  # a number where a string is output
        ("name", "int"),
        ("flag", "int"),
        ("ratio", "int"),
        ("count", "boolean"),
        ("moment", "date"),
        ("day", "datetime"),
        ("naive", "datetime"),  # no offset to print
        ("color", "text"),  # a member name where the attribute would be the member
        ("color_by_value", COLORS),  # stored by value, not by the GraphQL names
        ("color", ("enum", frozenset({"RED"}))),  # a stored name the GraphQL enum lacks
        ("name", COLORS),
    ],
)
def test_a_column_of_another_type_is_refused(column: str, form: Any) -> None:
    assert not _renders(column, form)


def test_a_global_id_needs_an_integer_column() -> None:
    assert node_columns((("id", "id", ("id", "Thing")),), COLUMNS) is not None
    assert node_columns((("id", "id", ("name", "Thing")),), COLUMNS) is None
