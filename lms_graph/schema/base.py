"""Building blocks of the schema: ``Info``, the ``Node`` interface, connections."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLAbstractType, GraphQLResolveInfo
from strawberry.types.nodes import SelectedField

from lms_graph.context import Context
from lms_graph.fields import INFO_FREE, SqlGlobalId, from_parent, sql_field
from lms_graph.ids import to_global_id
from lms_graph.resolvers.pagination import Page

Info = strawberry.Info[Context, None]

T = TypeVar("T")


@strawberry.interface(description="An object with a global ID.")
class Node:
    @classmethod
    def resolve_type(cls, obj: Any, _info: GraphQLResolveInfo, _type: GraphQLAbstractType) -> str:
        return str(obj.typename)

    @strawberry.field(
        metadata={**from_parent(lambda root: _global_id(root)), **sql_field(SqlGlobalId())}
    )
    def id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return _global_id(root)


def _global_id(record: Any) -> strawberry.ID:
    return strawberry.ID(to_global_id(record.typename, record.id))


def record_type_check(typename: str) -> Any:
    """An ``is_type_of`` for types whose values are records with this ``typename``."""

    def is_type_of(cls: type, obj: Any, _info: GraphQLResolveInfo) -> bool:
        return getattr(obj, "typename", None) == typename

    setattr(is_type_of, INFO_FREE, True)
    return classmethod(is_type_of)


def selects(info: Info, *path: str) -> bool:
    """Whether the query selects ``path`` below the current field (fragments included),
    so a resolver can fetch for a whole page what its children will ask for."""
    level: list[Any] = list(info.selected_fields)
    for name in path:
        level = [child for field in _flatten(level) for child in (field.selections or [])]
        level = [field for field in _flatten(level) if field.name == name]
        if not level:
            return False
    return True


def _flatten(selections: list[Any]) -> list[Any]:
    """Fields of a selection list, with fragment spreads and inline fragments opened."""
    fields: list[Any] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.append(selection)
        else:
            fields += _flatten(list(selection.selections))
    return fields


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A page of a list, in keyset order. ``first`` is at most 100."""

    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="How many items the whole list holds.")
    async def total_count(self, root: strawberry.Parent[Page[Any]]) -> int:
        return await root.total_count()
