"""What the executor knows of a field without calling its resolver.

Two sources, both read once per selection when it is planned:

- what strawberry itself marks: a field it resolves by reading one attribute of the
  parent (``plain_attribute``), an ``is_type_of`` of its own making (``info_free``).
  Only attributes strawberry sets for this are read, never function names, so a
  release that changes them takes fields off the fast path (which
  ``tests/test_execution.py`` notices) instead of misreading them;
- the metadata a field declares (public, for plugins, in ``lms_graph.fields``):
  ``from_parent(fn)`` and ``batched(fn)``, and ``INFO_FREE`` on an ``is_type_of``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from lms_graph.fields import INFO_FREE


def definition_of(field_def: GraphQLField) -> StrawberryField | None:
    """The strawberry field behind a graphql-core field, if strawberry built it."""
    definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition if isinstance(definition, StrawberryField) else None


def metadata(definition: StrawberryField) -> Mapping[str, Any]:
    found: Mapping[str, Any] = definition.metadata or {}
    return found


def no_exception_handlers(schema: GraphQLSchema) -> bool:
    """Whether strawberry built ``schema`` without exception handlers. A handler may turn
    an attribute's exception into a value, which a plain ``getattr`` would not; a schema
    strawberry's converter cannot be found for counts as having some."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    converter = getattr(strawberry_schema, "schema_converter", None)
    handlers = getattr(converter, "exception_handlers", None)
    return handlers is not None and not handlers


def plain_attribute(field_def: GraphQLField, definition: StrawberryField) -> str | None:
    """The attribute whose value strawberry answers for this field, as it is, when that
    is all its resolver does: a basic field (no resolver of its own, no field extensions
    or permission classes), resolved by strawberry's default resolver (which it marks
    ``_is_default``, ``strawberry.resolvers.is_default_resolver``), that default being
    ``getattr``. The schema must have no exception handlers (``no_exception_handlers``)."""
    resolve = field_def.resolve
    if (
        definition.base_resolver is None
        and definition.is_basic_field
        and resolve is not None
        and is_default_resolver(resolve)
        and definition.default_resolver is getattr
    ):
        return definition.python_name
    return None


def info_free(object_type: GraphQLObjectType) -> bool:
    """Whether the type's ``is_type_of`` (if any) answers without reading its info: marked
    ``INFO_FREE``, or made by strawberry itself (a type implementing an interface without
    an ``is_type_of`` of its own: strawberry's checks the value's class)."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return True
    if getattr(getattr(is_type_of, "__func__", is_type_of), INFO_FREE, False):
        return True
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return isinstance(definition, StrawberryObjectDefinition) and definition.is_type_of is None
