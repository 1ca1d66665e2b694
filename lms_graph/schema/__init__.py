"""The GraphQL schema: the core types, merged with what plugins add."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from lms_graph.core import LMS
from lms_graph.errors import StartupError
from lms_graph.plugin_manager import collect
from lms_graph.resolvers.nodes import CORE_NODES
from lms_graph.schema.actions import ActionMutation
from lms_graph.schema.courses import Chapter, Course
from lms_graph.schema.documents import documents_for
from lms_graph.schema.enrollments import Enrollment
from lms_graph.schema.errors import ErrorCodes
from lms_graph.schema.execution import FastExecutionContext
from lms_graph.schema.imports import ImportMutation, ImportQuery
from lms_graph.schema.inputs import InputChecks
from lms_graph.schema.mutation import Mutation
from lms_graph.schema.query import Query
from lms_graph.schema.suggestions import QuietExecutionContext
from lms_graph.schema.transactions import run_mutations_again
from lms_graph.schema.users import User
from lms_graph.values import GraphQLExtension

EXTENSIBLE_TYPES: dict[str, type] = {
    "User": User,
    "Course": Course,
    "Chapter": Chapter,
    "Enrollment": Enrollment,
}


class LMSSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged by ``ErrorCodes`` (unexpected ones only), not here."""


def _definition(cls: type) -> StrawberryObjectDefinition:
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return definition


@contextmanager
def _extended_types(extra: dict[str, list[StrawberryField]]) -> Iterator[None]:
    """Add plugins' fields to core types while the schema is built, then take them back,
    so that building another schema (another plugin set) starts from the core again."""
    saved = {name: list(_definition(cls).fields) for name, cls in EXTENSIBLE_TYPES.items()}
    try:
        for name, fields in extra.items():
            definition = _definition(EXTENSIBLE_TYPES[name])
            taken = {field.python_name for field in definition.fields}
            for field in fields:
                if field.python_name in taken:
                    raise StartupError(f"two definitions of the field {name}.{field.name}")
                taken.add(field.python_name)
            definition.fields.extend(fields)
        yield
    finally:
        for name, fields in saved.items():
            _definition(EXTENSIBLE_TYPES[name]).fields[:] = fields


def build_schema(lms: LMS) -> strawberry.Schema:
    queries: list[type] = [Query]
    mutations: list[type] = [Mutation, ActionMutation]
    queries.append(ImportQuery)
    mutations.append(ImportMutation)
    types: list[type] = []
    fields: dict[str, list[StrawberryField]] = defaultdict(list)
    lms.node_resolvers = dict(CORE_NODES)
    for plugin, extension in collect(lms.pm, "lms_register_graphql"):
        if not isinstance(extension, GraphQLExtension):
            raise StartupError(
                f"plugin {plugin!r}: lms_register_graphql must return a GraphQLExtension"
            )
        if extension.query is not None:
            queries.append(extension.query)
        if extension.mutation is not None:
            mutations.append(extension.mutation)
        types.extend(extension.types)
        for type_name, mixins in extension.fields.items():
            if type_name not in EXTENSIBLE_TYPES:
                known = ", ".join(EXTENSIBLE_TYPES)
                raise StartupError(f"plugin {plugin!r} extends {type_name!r}; extensible: {known}")
            for mixin in mixins:
                fields[type_name].extend(_definition(mixin).fields)
        for type_name, resolver in extension.nodes.items():
            if type_name in lms.node_resolvers:
                raise StartupError(f"plugin {plugin!r} resolves {type_name} nodes, already taken")
            lms.node_resolvers[type_name] = resolver
    error_codes = type("ErrorCodes", (ErrorCodes,), {"production": lms.settings.production})
    with _extended_types(dict(fields)):
        schema = LMSSchema(
            query=_merge("Query", queries),
            mutation=_merge("Mutation", mutations),
            types=types,
            extensions=_extensions(lms, error_codes),
            config=StrawberryConfig(disable_field_suggestions=lms.settings.production),
            execution_context_class=(
                QuietExecutionContext if lms.settings.production else FastExecutionContext
            ),
        )
    run_mutations_again(schema._schema)
    return schema


def _extensions(lms: LMS, error_codes: type[SchemaExtension]) -> list[Any]:
    settings = lms.settings
    extensions: list[Any] = [
        error_codes,
        InputChecks,  # strings and JSON values checked before anything runs
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        # Parsed and validated once (dashboards send the same few documents again and
        # again), the limits checked first: schema/documents.py.
        documents_for(settings),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return extensions


def _merge(name: str, parts: Sequence[type]) -> type:
    if len(parts) == 1:
        return parts[0]
    seen: dict[str, str] = {}
    for part in parts:
        for field in _definition(part).fields:
            if field.python_name in seen:
                raise StartupError(
                    f"{name}.{field.name} is defined by both {seen[field.python_name]} "
                    f"and {part.__module__}.{part.__qualname__}"
                )
            seen[field.python_name] = f"{part.__module__}.{part.__qualname__}"
    merged: type = merge_types(name, tuple(parts))
    return merged
