"""Each document parsed and validated once per process, and refused before validation
when it is too large to validate cheaply.

Replaces strawberry's ``ParserCache`` and ``ValidationCache``:

- parsing: documents are kept by their text (least recently used first out). A document
  that differs from a kept one only by the name of its single operation (``query
  Dashboard7 {...}`` after ``query Dashboard6 {...}``) is that document with the name
  changed: its fields are the same nodes, so its validation and the executor's shared
  plans (``execution/plans.py``) are reused, and clients that number their operations cost no
  more than those that do not. Renamed documents are not kept, so new names push no
  document out.
- length: documents longer than ``LMS_MAX_QUERY_LENGTH`` are refused before they are
  read.
- validation: first ``limits.check_document`` (linear in the document), so that a
  document graphql-core would take long to validate is refused in time; then
  graphql-core's rules, with ``hide_suggestions`` in production (no "Did you mean").
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    Source,
    TokenKind,
    parse,
    validate,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from lms_graph.caches import MISSING, IdentityCache
from lms_graph.schema.limits import check_document
from lms_graph.settings import Settings

STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)
"""The rules strawberry adds to every validation (``strawberry.schema.validate_document``)."""

MAX_ERRORS = 20
"""Validation stops at this many errors (graphql-core's default, 100, costs twice as much
CPU on a document made of errors, and no one reads the hundredth)."""

_OPERATION_KEYWORDS = frozenset({"query", "mutation", "subscription"})


def _operation_name(text: str) -> tuple[int, int, str] | None:
    """Where the name of the document's first definition is, when that is a named
    operation: a few tokens read, not the document."""
    lexer = Lexer(Source(text))
    try:
        keyword = lexer.advance()
        if keyword.kind is not TokenKind.NAME or keyword.value not in _OPERATION_KEYWORDS:
            return None
        name = lexer.advance()
    except GraphQLError:
        return None
    if name.kind is not TokenKind.NAME or name.value is None:
        return None
    return name.start, name.end, name.value


def _only_operation(document: DocumentNode) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operations[0] if len(operations) == 1 else None


def _renamed(document: DocumentNode, name: str) -> DocumentNode:
    """The document with its single operation named ``name``, sharing every other node."""
    operation = _only_operation(document)
    assert operation is not None
    assert operation.name is not None
    renamed = dataclasses.replace(operation, name=NameNode(value=name, loc=operation.name.loc))
    definitions = tuple(renamed if d is operation else d for d in document.definitions)
    return dataclasses.replace(document, definitions=definitions)


def _of_the_document(error: GraphQLError) -> GraphQLError:
    """A validation error, without the exception graphql-core may have caught on the way
    (``int()`` of a 5,000-digit literal): it is the document's fault, not the server's."""
    if error.original_error is None:
        return error
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        extensions=error.extensions,
    )


class DocumentCache:
    """The documents of one schema (its settings), and their errors."""

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self.size = size
        self._texts: OrderedDict[tuple[Any, ...], DocumentNode] = OrderedDict()
        self._shapes: OrderedDict[tuple[Any, ...], DocumentNode] = OrderedDict()
        """Single-operation documents by their text without the operation's name (and
        that name's length, so that every other node keeps its position)."""
        self._errors: IdentityCache[list[GraphQLError]] = IdentityCache(size, lru=True)
        """Validation errors by document (kept alive here) and rules."""

    def parse(self, text: str, options: dict[str, Any]) -> tuple[DocumentNode, DocumentNode]:
        """The document of ``text``, and the kept document it is a renaming of (itself
        when it is not one)."""
        key = (text, *sorted(options.items()))
        document = self._texts.get(key)
        if document is not None:
            self._texts.move_to_end(key)
            return document, document
        named = _operation_name(text)
        shape = None
        if named is not None:
            start, end, name = named
            shape = (text[:start], text[end:], end - start, *sorted(options.items()))
            kept = self._shapes.get(shape)
            if kept is not None:
                self._shapes.move_to_end(shape)
                return _renamed(kept, name), kept
        document = parse(text, **options)
        _remember(self._texts, key, document, self.size)
        if shape is not None and _only_operation(document) is not None:
            _remember(self._shapes, shape, document, self.size)
        return document, document

    def validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        kept: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """The document's errors. A renamed document has none when the document it
        renames has none; otherwise it is checked itself (its errors name it)."""
        errors = self._errors.get(kept, rules)
        if errors is MISSING:
            errors = self._errors.put(kept, self._check(schema, kept, rules), rules)
        if kept is document or not errors:
            return errors
        return self._check(schema, document, rules)

    def _check(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """The limits first (linear in the document), then graphql-core's rules."""
        return check_document(document, self.settings) or [
            _of_the_document(error)
            for error in validate(
                schema,
                document,
                (*rules, *STRAWBERRY_RULES),
                max_errors=MAX_ERRORS,
                hide_suggestions=self.settings.production,
            )
        ]


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)


class Documents(SchemaExtension):
    """Parses and validates through a schema's ``DocumentCache`` (see ``documents_for``)."""

    cache: ClassVar[DocumentCache]

    def __init__(self) -> None:
        super().__init__()
        self._kept: DocumentNode | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if context.graphql_document is None and query:
            limit = self.cache.settings.max_query_length
            if len(query) > limit:
                # Before a character is read: a megabyte of comment is a single token,
                # and graphql-core takes a tenth of a second to read it, or to locate
                # an error in it.
                raise GraphQLError(
                    f"The document is {len(query)} characters long; at most {limit} are "
                    "allowed. Send long values as variables.",
                    extensions={"code": "BAD_USER_INPUT"},
                )
            # A syntax error leaves the document unset: strawberry parses it again and
            # reports the error as it always does.
            with contextlib.suppress(GraphQLError):
                context.graphql_document, self._kept = self.cache.parse(
                    query, dict(context.parse_options)
                )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            context.pre_execution_errors = self.cache.validate(
                context.schema._schema,
                document,
                self._kept if self._kept is not None else document,
                context.validation_rules,
            )
        yield


def documents_for(settings: Settings, size: int = 256) -> type[Documents]:
    """The extension of one schema: its own cache, its settings' limits."""
    cache = DocumentCache(settings, size)
    return type("Documents", (Documents,), {"cache": cache})
