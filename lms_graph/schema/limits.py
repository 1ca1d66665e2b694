"""Limits that refuse a document before graphql-core validates it (CONTRACT section 8).

Per operation:

- depth: levels of nested fields, the root field counting as 1;
- aliases: aliased fields, counted again each time a fragment is spread;
- cost: an estimate of the objects a query may return, multiplying through
  ``first`` of connection fields (default page size when absent).

Per document, because graphql-core's validation (``OverlappingFieldsCanBeMergedRule``
above all, which compares every two fields answering to one place of the response)
grows faster than the document:

- selections: fields, inline fragments and spreads in all its operations, a fragment's
  counted at each spread;
- repeated fields: fields answering to one place of the response (``viewer`` twice at
  the root, ``id`` in three fragments spread in one ``node``), counted in the pairs
  graphql-core compares;
- operations: how many a document holds (graphql-core follows each one's variables
  through every fragment it spreads).

Introspection fields (``__schema``, ``__type``) count as selections only, so GraphiQL
keeps working in development. Every refusal is a ``BAD_USER_INPUT`` error.

Documents graphql-core would refuse anyway, but only after its costlier rules, are
refused here with its code (``GRAPHQL_VALIDATION_FAILED``): fragments spreading
themselves, fragments never used.

Each fragment is measured once per document (``Walk``), however often it is spread, so
the checks cost time linear in the document: ``F0 { ...F1 ...F1 } F1 { ...F2 ...F2 }
...`` would otherwise be walked ``2**n`` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from lms_graph.resolvers.pagination import DEFAULT_PAGE_SIZE
from lms_graph.settings import Settings

_CONNECTIONS = frozenset({"courses", "users", "myLearning", "learners", "enrollments"})
"""Connection fields: without ``first`` they return a default page."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """What a selection set holds, its fragments expanded."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    """Objects returned for one parent object."""
    selections: int = 0

    def __add__(self, other: Sizes) -> Sizes:
        return Sizes(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.cost + other.cost,
            self.selections + other.selections,
        )


@dataclass(slots=True)
class Repeats:
    """``OverlappingFieldsCanBeMergedRule`` compares every two fields that answer to one
    place of the response (``viewer`` and ``viewer``, ``id`` of ``...A`` and of ``...B``),
    their sub-fields included: ``pairs`` is how many comparisons that is at most."""

    pairs: int = 0
    path: str = ""
    """The place selected most often, and how often."""
    count: int = 0

    def add(self, path: str, count: int) -> None:
        self.pairs += count * (count - 1) // 2
        if count > self.count:
            self.path, self.count = path, count


_NOTHING = Sizes()
_ONE_SELECTION = Sizes(selections=1)


class Walk:
    """Measures the operations of one document, each fragment once, in the order of their
    spreads and without recursion (fragments may chain hundreds deep). A spread that
    closes a cycle counts as nothing (and the document is refused: ``cycle``)."""

    def __init__(self, document: DocumentNode, max_page: int) -> None:
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self.max_page = max_page
        self.cycle: list[str] = []
        """Fragments spreading one another in a circle (the first circle found), if any."""
        self.unused: list[str] = []
        """Fragments no operation spreads, even through other fragments."""
        self._sizes: dict[str, Sizes] = {}
        self._measure_fragments()

    def _measure_fragments(self) -> None:
        spreads = {
            name: _spread_names(fragment.selection_set) for name, fragment in self.fragments.items()
        }
        used: set[str] = set()
        reached = [name for op in self.operations for name in _spread_names(op.selection_set)]
        while reached:
            name = reached.pop()
            if name in spreads and name not in used:
                used.add(name)
                reached += spreads[name]
        self.unused = [name for name in self.fragments if name not in used]
        done: set[str] = set()
        for root in self.fragments:
            if root in done:
                continue
            path = [(root, iter(spreads[root]))]
            on_path = {root}
            while path:
                name, pending = path[-1]
                for spread in pending:
                    if spread in on_path:
                        names = [step for step, _ in path]
                        self.cycle = self.cycle or [*names[names.index(spread) :], spread]
                    elif spread in spreads and spread not in done:
                        path.append((spread, iter(spreads[spread])))
                        on_path.add(spread)
                        break
                else:
                    path.pop()
                    on_path.discard(name)
                    done.add(name)
                    self._sizes[name] = self.sizes(self.fragments[name].selection_set)

    def sizes(self, selection_set: SelectionSetNode | None) -> Sizes:
        """A selection set's sizes; the fragments it spreads are already measured."""
        total = _NOTHING
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self._field(selection)
            elif isinstance(selection, InlineFragmentNode):
                total += _ONE_SELECTION + self.sizes(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += _ONE_SELECTION + self._sizes.get(selection.name.value, _NOTHING)
        return total

    def _field(self, field: FieldNode) -> Sizes:
        inner = self.sizes(field.selection_set)
        if field.name.value.startswith("__"):
            return Sizes(selections=1 + inner.selections)
        return Sizes(
            1 + inner.depth,
            (field.alias is not None) + inner.aliases,
            1 + self._page(field) * inner.cost,
            1 + inner.selections,
        )

    def _page(self, field: FieldNode) -> int:
        """How many items a connection field may return (1 for other fields)."""
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                # Digits past an Int's are refused by validation, after this estimate.
                return max(1, int(value.value)) if len(value.value) <= 10 else 2**31
            # A variable is not known yet at validation: assume the largest page.
            return self.max_page
        return DEFAULT_PAGE_SIZE if field.name.value in _CONNECTIONS else 1

    def repeats(self) -> Repeats:
        """Fields answering to the same place of the response, counted in pairs.

        Fragments are expanded at every spread, so this walks as many selections as
        ``sizes`` counts: call it once that count is known to be small, and the document
        free of cycles (in a web of them, paths are exponentially many)."""
        found = Repeats()
        pending: list[tuple[str, list[SelectionSetNode]]] = [
            ("", [operation.selection_set]) for operation in self.operations
        ]
        while pending:
            path, selection_sets = pending.pop()
            groups: dict[str, list[FieldNode]] = {}
            for selection_set in selection_sets:
                self._group(selection_set, groups)
            for name, fields in groups.items():
                here = f"{path}.{name}" if path else name
                found.add(here, len(fields))
                inner = [field.selection_set for field in fields if field.selection_set]
                if inner:
                    pending.append((here, inner))
        return found

    def _group(self, selection_set: SelectionSetNode, groups: dict[str, list[FieldNode]]) -> None:
        """The fields of a selection set by response name, fragments flattened."""
        pending = [selection_set]
        while pending:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    groups.setdefault((selection.alias or selection.name).value, []).append(
                        selection
                    )
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is not None:
                        pending.append(fragment.selection_set)


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments a selection set spreads, at any depth (fragments not followed)."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return names


def _shown(number: int) -> str:
    return f"{number}" if number < 10**9 else "over a billion"


def _abbreviated(name: str) -> str:
    return name if len(name) <= 80 else f"{name[:77]}..."


def _error(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


def check_document(document: DocumentNode, settings: Settings) -> list[GraphQLError]:
    """The limits a document breaks (none: it may go on to validation)."""
    walk = Walk(document, settings.max_page_size)
    if len(walk.operations) > settings.max_operations:
        return [
            _error(
                f"The document holds {len(walk.operations)} operations; at most "
                f"{settings.max_operations} are allowed.",
                walk.operations[settings.max_operations],
            )
        ]
    # Invalid documents graphql-core would refuse too, after the costlier rules.
    if walk.unused:
        unused = f"Fragment '{_abbreviated(walk.unused[0])}'"
        if len(walk.unused) > 1:
            return [GraphQLError(f"{unused} and {len(walk.unused) - 1} others are never used.")]
        return [GraphQLError(f"{unused} is never used.")]
    if walk.cycle:
        circle = " -> ".join(f"'{_abbreviated(name)}'" for name in walk.cycle[:6])
        circle += " -> ..." if len(walk.cycle) > 6 else ""
        return [GraphQLError(f"Fragments may not spread themselves: {circle}.")]
    errors: list[GraphQLError] = []
    selections = 0
    for operation in walk.operations:
        sizes = walk.sizes(operation.selection_set)
        selections += sizes.selections
        errors += _operation_errors(operation, sizes, settings)
    if errors:
        return errors
    first = walk.operations[0] if walk.operations else None
    if selections > settings.max_selections:
        return [
            _error(
                f"The document holds {_shown(selections)} selections (fields and fragments, "
                "a fragment counted wherever it is spread); at most "
                f"{settings.max_selections} are allowed.",
                first,
            )
        ]
    repeats = walk.repeats()
    if repeats.pairs > settings.max_field_pairs:
        return [
            _error(
                f"The document selects '{_abbreviated(repeats.path)}' {repeats.count} times at "
                f"one place of the response: that is {repeats.pairs} pairs of fields to "
                f"compare, and at most {settings.max_field_pairs} are allowed. Select each "
                "field once.",
                first,
            )
        ]
    return []


def _operation_errors(
    operation: OperationDefinitionNode, sizes: Sizes, settings: Settings
) -> list[GraphQLError]:
    if sizes.depth > settings.max_query_depth:
        return [
            _error(
                f"The query nests {_shown(sizes.depth)} levels of fields; at most "
                f"{settings.max_query_depth} are allowed.",
                operation,
            )
        ]
    errors = []
    if sizes.aliases > settings.max_aliases:
        errors.append(
            _error(
                f"The query uses {_shown(sizes.aliases)} aliases; at most "
                f"{settings.max_aliases} are allowed.",
                operation,
            )
        )
    if sizes.cost > settings.max_query_nodes:
        errors.append(
            _error(
                f"The query could return about {_shown(sizes.cost)} objects; at most "
                f"{settings.max_query_nodes} are allowed. Ask for smaller pages or fewer "
                "nested lists.",
                operation,
            )
        )
    return errors
