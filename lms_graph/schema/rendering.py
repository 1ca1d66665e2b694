"""A page of learners whose JSON PostgreSQL builds.

A dashboard page is ~1,500 values; completing them in Python was most of a request.
On PostgreSQL the page query can carry each node's JSON instead, the way PostGraphile
answers: ``json_build_object`` over the row's columns for the fields it knows, a
correlated ``json_agg`` for a list such as the certificates plugin's, and the
executor embeds the text as it is (an ``orjson.Fragment``). The menu
(``availableActions``) is worked out in Python as before and spliced in.

What a field renders to comes from the field itself (``lms_graph.fields.sql_field``),
or, for a plain attribute, from the page's column of that name. A node selection with
any field the renderer does not know, arguments, directives other than
``@include``/``@skip``, or an object of more than 50 fields is not rendered: the page
takes the ordinary path, so the answer is the same either way
(``tests/test_sql_rendering.py`` compares them).

The shape of a selection (``Shape``) is pure data, so the SQL built from it is kept
with the page's statement (``resolvers/lists.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    is_abstract_type,
)
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    case,
    cast,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeEngine
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from lms_graph.caches import MISSING, IdentityCache
from lms_graph.fields import SQL_FIELD, SqlGlobalId, SqlList, SqlObject
from lms_graph.schema.execution.fields import definition_of, metadata, plain_attribute

MENU_FIELD = "lms_menu_field"
"""Metadata of ``Enrollment.availableActions``: spliced in from Python."""

MAX_FIELDS = 50
"""``json_build_object`` takes at most 100 arguments."""

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")

Shape = tuple[tuple[str, str, Any], ...]
"""An object's fields in response order: ``(response key, kind, payload)``."""


class NotRendered(Exception):
    """The selection has something the renderer does not know."""


# --- the shape of a selection ---------------------------------------------------------------


_SHAPES: IdentityCache[Shape | None] = IdentityCache(256, lru=True)
"""Shapes by the ``learners`` field's node in its (cached) document, the schema and the
variables (a directive may read one)."""


def shape_of(info: Any) -> Shape | None:
    """``node_shape`` of the ``learners`` field ``info`` resolves (strawberry's info),
    worked out once per document, schema and variables."""
    raw = info._raw_info
    key = (raw.schema, len(raw.field_nodes), repr(raw.variable_values))
    found = _SHAPES.get(raw.field_nodes[0], key)
    if found is MISSING:
        found = _SHAPES.put(
            raw.field_nodes[0], node_shape(raw.schema, info.selected_fields[0]), key
        )
    return found


def node_shape(schema: GraphQLSchema, learners: SelectedField) -> Shape | None:
    """The shape of ``learners { edges { node { ... } } }``, or None when the page must
    take the ordinary path (no node selected, or something not renderable)."""
    connection = _object_type(schema, "EnrollmentConnection")
    edge = _object_type(schema, "EnrollmentEdge")
    enrollment = _object_type(schema, "Enrollment")
    try:
        edges = _only(_collect(schema, connection, learners.selections), "edges")
        if edges is None:
            return None
        node = _only(_collect(schema, edge, edges), "node")
        if node is None:
            return None
        return _shape(schema, enrollment, node, top=True)
    except NotRendered:
        return None


def _object_type(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = schema.get_type(name)
    if not isinstance(found, GraphQLObjectType):
        raise NotRendered(name)
    return found


def _only(fields: dict[str, tuple[str, list[Any]]], name: str) -> list[Any] | None:
    """The merged selections of the one response key asking for ``name``; two response
    keys for it (aliases) read one value twice, which a rendered node cannot be."""
    found = [selections for field, selections in fields.values() if field == name]
    if len(found) > 1:
        raise NotRendered(name)
    return found[0] if found else None


def _collect(
    schema: GraphQLSchema, parent: GraphQLObjectType, selections: Sequence[Any]
) -> dict[str, tuple[str, list[Any]]]:
    """Response key -> (field name, merged sub-selections), in response order, as
    graphql-core collects them (fragments applying to ``parent``, directives applied)."""
    fields: dict[str, tuple[str, list[Any]]] = {}

    def walk(items: Sequence[Any]) -> None:
        for item in items:
            if not _included(item.directives):
                continue
            if isinstance(item, SelectedField):
                if item.arguments:
                    raise NotRendered(item.name)
                key = item.alias or item.name
                found = fields.setdefault(key, (item.name, []))
                found[1].extend(item.selections or [])
            elif isinstance(item, FragmentSpread | InlineFragment):
                if _applies(schema, item.type_condition, parent):
                    walk(item.selections)
            else:  # pragma: no cover - strawberry has no other kind
                raise NotRendered(repr(item))

    walk(selections)
    return fields


def _included(directives: Mapping[str, Any]) -> bool:
    for name, arguments in directives.items():
        if name == "include":
            if arguments.get("if") is not True:
                return False
        elif name == "skip":
            if arguments.get("if") is True:
                return False
        else:
            raise NotRendered(f"@{name}")
    return True


def _applies(schema: GraphQLSchema, condition: str | None, parent: GraphQLObjectType) -> bool:
    if condition is None or condition == parent.name:
        return True
    found = schema.get_type(condition)
    return found is not None and is_abstract_type(found) and schema.is_sub_type(found, parent)


def _field(parent: GraphQLObjectType, name: str) -> tuple[GraphQLField, StrawberryField]:
    """The field ``name`` of ``parent`` and the strawberry field behind it, when it takes
    no arguments; ``NotRendered`` otherwise."""
    field_def = parent.fields.get(name)
    definition = None if field_def is None else definition_of(field_def)
    if field_def is None or definition is None or field_def.args:
        raise NotRendered(name)
    return field_def, definition


def _unwrap(kind: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(kind, GraphQLNonNull):
        return kind.of_type, False
    return kind, True


def _shape(
    schema: GraphQLSchema, parent: GraphQLObjectType, selections: Sequence[Any], top: bool = False
) -> Shape:
    fields = _collect(schema, parent, selections)
    if len(fields) > MAX_FIELDS or not fields:
        raise NotRendered(parent.name)
    shape: list[tuple[str, str, Any]] = []
    for key, (name, subselections) in fields.items():
        if not _NAME.match(key):
            raise NotRendered(key)
        if name == "__typename":
            shape.append((key, "typename", parent.name))
            continue
        field_def, definition = _field(parent, name)
        kind, nullable = _unwrap(field_def.type)
        spec = metadata(definition).get(SQL_FIELD)
        if top and metadata(definition).get(MENU_FIELD):
            shape.append((key, "menu", _menu_shape(schema, kind, subselections)))
        elif isinstance(spec, SqlGlobalId):
            shape.append((key, "id", (spec.column, spec.typename or parent.name)))
        elif isinstance(spec, SqlObject) and isinstance(kind, GraphQLObjectType):
            sub = _shape(schema, kind, subselections)
            shape.append((key, "object", (spec.prefix, nullable, sub)))
        elif isinstance(spec, SqlList) and isinstance(kind, GraphQLList):
            item, _ = _unwrap(kind.of_type)
            if not isinstance(item, GraphQLObjectType):
                raise NotRendered(name)
            shape.append((key, "list", (spec, _shape(schema, item, subselections))))
        elif spec is None and isinstance(kind, GraphQLLeafType):
            attribute = plain_attribute(field_def, definition)
            if attribute is None:
                raise NotRendered(name)
            shape.append((key, "value", (attribute, _format(kind))))
        else:
            raise NotRendered(name)
    return tuple(shape)


def _format(kind: GraphQLLeafType) -> Any:
    """How a leaf's column becomes what the scalar outputs: text, numbers and booleans
    as they are, an enum's stored member name as it is (the names its values have), a
    date or date-time as ISO text. The column's type is checked when the SQL is built
    (``_leaf_sql``)."""
    if isinstance(kind, GraphQLEnumType):
        return ("enum", frozenset(kind.values))
    if isinstance(kind, GraphQLScalarType):
        form = _SCALAR_FORMS.get(kind.name)
        if form is not None:
            return form
    raise NotRendered(kind.name)


_SCALAR_FORMS = {
    "String": "text",
    "ID": "text",
    "Int": "int",
    "Float": "float",
    "Boolean": "boolean",
    "Date": "date",
    "DateTime": "datetime",
}


# --- the menu, rendered in Python -----------------------------------------------------------


def _menu_shape(schema: GraphQLSchema, kind: GraphQLOutputType, selections: Sequence[Any]) -> Any:
    if not isinstance(kind, GraphQLList):
        raise NotRendered("menu")
    item, _ = _unwrap(kind.of_type)
    if not isinstance(item, GraphQLObjectType):
        raise NotRendered("menu")
    shape: list[tuple[str, str | None, Any, bool]] = []
    for key, (name, _sub) in _collect(schema, item, selections).items():
        if name == "__typename":
            shape.append((key, None, item.name, True))
            continue
        field_def, definition = _field(item, name)
        leaf, nullable = _unwrap(field_def.type)
        attribute = plain_attribute(field_def, definition)
        if attribute is None or not isinstance(leaf, GraphQLLeafType):
            raise NotRendered(name)
        shape.append((key, attribute, leaf, nullable))
    if not shape:
        raise NotRendered("menu")
    return (item.name, tuple(shape))


def menu_json(shape: Any, menu: Sequence[Any]) -> bytes:
    """The menu as the executor would output it; ``NotRendered`` for a value it would
    refuse (then that learner takes the ordinary path)."""
    typename, fields = shape
    items: list[dict[str, Any]] = []
    for action in menu:
        item: dict[str, Any] = {}
        for key, attribute, leaf, nullable in fields:
            if attribute is None:
                item[key] = typename
                continue
            value = getattr(action, attribute)
            if value is None:
                if not nullable:
                    raise NotRendered(key)
                item[key] = None
                continue
            try:
                item[key] = leaf.serialize(value)
            except Exception as error:
                raise NotRendered(key) from error
        items.append(item)
    return orjson.dumps(items)


# --- SQL ------------------------------------------------------------------------------------


def node_columns(shape: Shape, columns: Mapping[str, Any]) -> list[ColumnElement[Any]] | None:
    """Text columns holding each node's JSON, in pieces around the menu (which Python
    splices in), or None when the page's columns lack something the shape reads."""
    pieces: list[ColumnElement[Any]] = []
    run: list[tuple[str, str, Any]] = []
    try:
        for field in shape:
            if field[1] == "menu":
                pieces.append(_object_sql(tuple(run), columns))
                run = []
            else:
                run.append(field)
        pieces.append(_object_sql(tuple(run), columns))
    except (NotRendered, KeyError):
        return None
    return [cast(piece, Text).label(f"r{index}") for index, piece in enumerate(pieces)]


def _object_sql(shape: Shape, columns: Mapping[str, Any]) -> ColumnElement[Any]:
    arguments: list[Any] = []
    for key, kind, payload in shape:
        arguments.append(literal_column(f"'{key}'", String()))
        arguments.append(_field_sql(kind, payload, columns))
    return func.json_build_object(*arguments)


def _field_sql(kind: str, payload: Any, columns: Mapping[str, Any]) -> Any:
    if kind == "typename":
        return _text_literal(payload)
    if kind == "value":
        name, form = payload
        return _leaf_sql(columns[name], form)
    if kind == "id":
        name, typename = payload
        column = columns[name]
        if not isinstance(_type_of(column), Integer):
            raise NotRendered(name)
        return _global_id_sql(typename, column)
    if kind == "object":
        prefix, nullable, sub = payload
        scope = {
            name[len(prefix) :]: column
            for name, column in _items(columns)
            if name.startswith(prefix)
        }
        built = _object_sql(sub, scope)
        return case((scope["id"].is_(None), None), else_=built) if nullable else built
    if kind == "list":
        spec, sub = payload
        rows = spec.rows(columns)
        item = _object_sql(sub, rows.columns)
        aggregated = func.json_agg(aggregate_order_by(item, *rows.order_by))
        return (
            func.coalesce(aggregated, literal_column("'[]'::json"))
            .select()
            .where(rows.where)
            .scalar_subquery()
        )
    raise NotRendered(kind)


def _items(columns: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(name, columns[name]) for name in columns.keys()]  # noqa: SIM118 - not a dict


def _text_literal(text: str) -> Any:
    if not _NAME.match(text):
        raise NotRendered(text)
    return literal_column(f"'{text}'", String())


_COLUMN_TYPES: dict[str, tuple[type[TypeEngine[Any]], ...]] = {
    "text": (String,),
    "int": (Integer,),
    "float": (Float, Numeric, Integer),
    "boolean": (Boolean,),
    "date": (Date,),
    "datetime": (DateTime,),
}
"""The SQL types a column may have for each form: a column of another type (an integer
for a ``String`` field, say) would give another JSON value than the executor's."""


def _leaf_sql(column: Any, form: Any) -> Any:
    if isinstance(form, tuple):  # ("enum", the GraphQL names of its values)
        stored = _stored_enum(column)
        if stored is None or not set(stored.enums) <= form[1]:
            raise NotRendered("enum")
        return column
    kind = _type_of(column)
    if isinstance(kind, Enum) or not isinstance(kind, _COLUMN_TYPES[form]):
        raise NotRendered(form)
    if form == "date":
        return func.to_char(column, literal_column("'YYYY-MM-DD'"))
    if form == "datetime":
        if not getattr(kind, "timezone", False):  # a naive time has no offset to print
            raise NotRendered(form)
        # What ``datetime.isoformat()`` gives for a UTC time: microseconds only when
        # there are some, always six digits; the offset as +00:00.
        utc = func.timezone(literal_column("'UTC'"), column)
        micro = cast(func.date_part(literal_column("'microseconds'"), column), Integer).op("%")(
            literal_column("1000000")
        )
        fraction = case(
            (micro == literal_column("0"), literal_column("''")),
            else_=func.to_char(utc, literal_column("'.US'")),
        )
        seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
        return seconds.concat(fraction).concat(literal_column("'+00:00'"))
    return column


def _type_of(column: Any) -> Any:
    kind = column.type
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _stored_enum(column: Any) -> Enum | None:
    """The ``Enum`` type a column stores member names by, looking through labels and
    ``type_coerce`` (the page reads its enums as text); None if it is not one."""
    seen = column
    for _ in range(4):
        kind = _type_of(seen)
        if isinstance(kind, Enum):
            return kind if kind.values_callable is None else None
        inner = getattr(seen, "typed_expression", None)
        if inner is None:
            inner = getattr(seen, "element", None)
        if inner is None:
            return None
        seen = inner
    return None


def _global_id_sql(typename: str, column: Any) -> Any:
    """``to_global_id`` in SQL: URL-safe base64 of ``Type:pk``, without padding."""
    prefix = _text_literal(typename).concat(literal_column("':'"))
    raw = func.convert_to(prefix.concat(cast(column, Text)), literal_column("'UTF8'"))
    encoded = func.encode(raw, literal_column("'base64'"))
    return func.rtrim(
        func.translate(encoded, literal_column("E'+/\\n'"), literal_column("'-_'")),
        literal_column("'='"),
    )


# --- a page, put together -------------------------------------------------------------------


def has_menu(shape: Shape) -> bool:
    return any(kind == "menu" for _key, kind, _payload in shape)


def _splice_order(shape: Shape, start: int) -> list[int]:
    """A node's parts in order, known from the shape: the column of each piece holding
    fields (pieces are from column ``start`` on, one more than the menus), or ``-1 - k``
    for the k-th menu."""
    order: list[int] = []
    piece = menu = 0
    filled = False
    for _key, kind, _payload in shape:
        if kind != "menu":
            filled = True
            continue
        if filled:
            order.append(start + piece)
        order.append(-1 - menu)
        piece, menu, filled = piece + 1, menu + 1, False
    if filled:
        order.append(start + piece)
    return order


def embed(
    shape: Shape,
    rows: Sequence[Sequence[Any]],
    start: int,
    menus: Sequence[Sequence[Any]] = (),
) -> list[orjson.Fragment] | None:
    """Each row's node as JSON (``orjson.Fragment``): its pieces from column ``start`` on,
    each menu of the shape (``menus``, one per row) spliced in between them; None when a
    menu holds a value the executor would refuse (the page then takes the ordinary path,
    which reports it). The node is "{", its parts' insides joined by ", ", "}"."""
    keys = [(key, payload) for key, kind, payload in shape if kind == "menu"]
    if not keys:
        return [orjson.Fragment(row[start]) for row in rows]
    order = _splice_order(shape, start)
    # Each distinct menu's JSON once (learners alike share one menu object, and ``menus``
    # keeps every one alive, so an id is not reused while this runs).
    rendered: dict[int, list[str]] = {}
    nodes: list[orjson.Fragment] = []
    for row, menu in zip(rows, menus or [()] * len(rows), strict=True):
        texts = rendered.get(id(menu))
        if texts is None:
            try:
                texts = rendered[id(menu)] = [
                    f'"{key}":{menu_json(menu_shape, menu).decode()}' for key, menu_shape in keys
                ]
            except NotRendered:
                return None
        parts = [row[index][1:-1] if index >= 0 else texts[-1 - index] for index in order]
        nodes.append(orjson.Fragment("{" + ", ".join(parts) + "}"))
    return nodes
