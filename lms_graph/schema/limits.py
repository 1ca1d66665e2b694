"""Validation rules that refuse a query before anything runs (CONTRACT section 8).

- depth: levels of nested fields, the root field counting as 1;
- aliases: aliased fields, counted again each time a fragment is spread;
- cost: an estimate of the objects a query may return, multiplying through
  ``first`` of connection fields (default page size when absent).

Introspection fields (``__schema``, ``__type``) are not counted, so GraphiQL keeps
working in development. Every refusal is a ``BAD_USER_INPUT`` error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from lms_graph.resolvers.pagination import DEFAULT_PAGE_SIZE
from lms_graph.settings import Settings


def _error(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


class _Walker:
    """Walks an operation's selections through its fragments (cycles are stopped)."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        max_page: int,
    ) -> None:
        self.fragments = fragments
        self.max_page = max_page

    def fields(
        self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()
    ) -> list[FieldNode]:
        """The fields of a selection set, fragments flattened."""
        found: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found += self.fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    found += self.fields(fragment.selection_set, seen | {name})
        return found

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        return max(
            (1 + self.depth(field.selection_set) for field in self.fields(selection_set)),
            default=0,
        )

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        return sum(
            (field.alias is not None) + self.aliases(field.selection_set)
            for field in self.fields(selection_set)
        )

    def cost(self, selection_set: SelectionSetNode | None, multiplier: int) -> int:
        total = 0
        for field in self.fields(selection_set):
            total += multiplier
            if field.selection_set is not None:
                total += self.cost(field.selection_set, multiplier * self._page(field))
        return total

    def _page(self, field: FieldNode) -> int:
        """How many items a connection field may return (1 for other fields)."""
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            # A variable is not known yet at validation: assume the largest page.
            return self.max_page
        return DEFAULT_PAGE_SIZE if field.name.value in _CONNECTIONS else 1


_CONNECTIONS = frozenset({"courses", "users", "myLearning", "learners", "enrollments"})
"""Connection fields: without ``first`` they return a default page."""


def validation_rules(settings: Settings) -> list[type[ValidationRule]]:
    max_nodes = settings.max_query_nodes

    class QueryLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                definition.name.value: definition
                for definition in document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            walker = _Walker(fragments, settings.max_page_size)
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(walker, definition)

        def _check(self, walker: _Walker, operation: OperationDefinitionNode) -> None:
            depth = walker.depth(operation.selection_set)
            if depth > settings.max_query_depth:
                self.report_error(
                    _error(
                        f"The query nests {depth} levels of fields; at most "
                        f"{settings.max_query_depth} are allowed.",
                        operation,
                    )
                )
                return
            aliases = walker.aliases(operation.selection_set)
            if aliases > settings.max_aliases:
                self.report_error(
                    _error(
                        f"The query uses {aliases} aliases; at most {settings.max_aliases} "
                        "are allowed.",
                        operation,
                    )
                )
            cost = walker.cost(operation.selection_set, 1)
            if cost > max_nodes:
                self.report_error(
                    _error(
                        f"The query could return about {cost} objects; at most {max_nodes} "
                        "are allowed. Ask for smaller pages or fewer nested lists.",
                        operation,
                    )
                )

    return [QueryLimits]
