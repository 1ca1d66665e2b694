"""Plans: how each field of a selection set is taken, decided once per selection.

graphql-core groups the fields of a selection (fragments, aliases, ``@skip`` and
``@include`` applied) into a ``GroupedFieldSet``. ``PlanningContext._plan`` turns it
into an ``ObjectPlan``: one ``Entry`` per field saying how its value is had (an
attribute, a ``from_parent`` function, a batch, ``__typename``, or the resolver through
graphql-core: ``SLOW``), and, when every field allows it, the selection compiled
(``compiled.py``).

A plan depends on the selection's field nodes, on whether the request batches and on
the values of the variables its directives read; it is shared between requests that
agree on all three (``caches.shared_plans``), and kept per request by the identity of
the grouped set (``IdentityCache``) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    is_leaf_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from lms_graph.caches import MISSING, IdentityCache
from lms_graph.fields import BATCHED, FROM_PARENT, RESOLVE, BatchFn
from lms_graph.schema.execution.caches import (
    DIRECTIVE_VARIABLES,
    SHARED_PLANS_SIZE,
    shared_plans,
)
from lms_graph.schema.execution.compiled import (
    BATCH,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Compiled,
    Selection,
    Spec,
    compile_selection,
    itself,
)
from lms_graph.schema.execution.fields import (
    definition_of,
    info_free,
    metadata,
    no_exception_handlers,
    plain_attribute,
)


class Kind(Enum):
    TYPENAME = 0
    LEAF = 1
    COMPOSITE = 2
    BATCH = 3
    SLOW = 4
    """graphql-core's own ``execute_field``: the resolver, its info, its completion."""


class Entry(NamedTuple):
    name: str
    details: FieldDetailsList
    kind: Kind
    getter: Callable[[Any], Any]
    field_def: GraphQLField | None
    leaf: GraphQLLeafType | None
    exact: type | None
    """A Python type whose values the leaf type outputs as they are."""
    nullable: bool
    batch: BatchFn | None
    attribute: str | None = None
    """The attribute a basic field reads (None: it calls ``getter``)."""
    object_type: GraphQLObjectType | None = None
    """For a field of an object type needing no info to check its values: that type."""


class ObjectPlan(NamedTuple):
    entries: list[Entry]
    compiled: Compiled | None
    """The selection compiled (``compiled.py``), when every field allows it."""
    args: tuple[Any, ...] = ()
    """What the compiled function needs of this request."""
    selection: Selection | None = None


class Pending(NamedTuple):
    """A batched field of one parent, met while running a plan, waiting for its batch."""

    entry: Entry
    parent_type: GraphQLObjectType
    parent: Any
    path: Path | None
    results: dict[str, Any]
    completer: ObjectPlan | None = None
    """Compiled code completing the value, when its selection compiles."""


_SKIP_INCLUDE = frozenset({"skip", "include"})
_EXACT: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _no_getter(_source: Any) -> Any:  # pragma: no cover - never called
    return RESOLVE


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.names: set[str] = set()

    def enter_directive(self, *_: Any) -> None:
        self.depth += 1

    def leave_directive(self, *_: Any) -> None:
        self.depth -= 1

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self.depth:
            self.names.add(node.name.value)


def _directive_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, Any]
) -> tuple[str, ...]:
    """The variables read by the directives (``@skip``, ``@include``, ``@defer``...) of an
    operation and its fragments: with the document, they decide which fields every
    selection holds, down to the innermost one a compiled plan covers."""
    found = DIRECTIVE_VARIABLES.get(operation)
    if found is not MISSING:
        return found
    visitor = _DirectiveVariables()
    visit(operation, visitor)
    for fragment in fragments.values():
        visit(getattr(fragment, "definition", fragment), visitor)
    return DIRECTIVE_VARIABLES.put(operation, tuple(sorted(visitor.names)))


def _shared_key(
    parent_type: GraphQLObjectType, fields: GroupedFieldSet, variant: tuple[Any, ...]
) -> tuple[Any, ...] | None:
    """What a plan depends on, or None when it must not be shared (deferred fragments,
    fragment variables: the plan then holds this request's values). ``variant`` holds
    the rest: batching or not, and the values of the directives' variables."""
    key: list[Any] = [parent_type.name, variant]
    for name, details in fields.items():
        key.append(name)
        for detail in details:
            if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                return None
            key.append(id(detail.node))
        key.append(None)
    return tuple(key)


class PlanningContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with the per-request state of the fast executor
    and the planning of its selections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A schema extension with a ``resolve`` hook must see every field: no shortcuts.
        self._fast = manager is None or not manager.middlewares
        self._batching = False
        self._pending: list[Pending] = []
        self._plans: IdentityCache[ObjectPlan] = IdentityCache()
        """This request's plans by grouped field set (the set kept alive with its plan)."""
        self._object_plans: IdentityCache[ObjectPlan | None] = IdentityCache()
        """Sub-selection plans by field details and object type name."""
        self._info_free: dict[str, bool] = {}
        self._memo: dict[tuple[int, Any], tuple[Any, list[Any]]] = {}
        """Completed tuples of frozen items, by the tuple's ``id`` and the selection's
        function: (the tuple, kept alive so that its ``id`` stays its own, the list).
        A plain dict, which compiled code reads itself."""

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> ObjectPlan:
        cached = self._plans.get(fields)
        if cached is not MISSING:
            return cached
        shared = shared_plans(self.schema)
        variant = self._plan_variant()
        key = None if variant is None else _shared_key(parent_type, fields, variant)
        found = None if key is None else shared.get(key)
        if found is None:
            entries = [self._entry(parent_type, name, details) for name, details in fields.items()]
            found = (fields, self._compiled_plan(parent_type, entries))
            if key is not None:
                if len(shared) >= SHARED_PLANS_SIZE:
                    shared.clear()
                shared[key] = found
        return self._plans.put(fields, found[1])

    def _plan_variant(self) -> tuple[Any, ...] | None:
        """What, besides the selection, a shared plan depends on in this request; None
        when this request's plans are its own (a directive reads a list or an object)."""
        names = _directive_variables(self.operation, self.fragments)
        coerced = self.variable_values.coerced
        variant = (self._batching, tuple(coerced.get(name) for name in names))
        try:
            hash(variant)
        except TypeError:
            return None
        return variant

    def _object_plan(
        self, return_type: GraphQLObjectType, details: FieldDetailsList
    ) -> ObjectPlan | None:
        """The plan of an object's sub-selection (compiled when every field allows it),
        or None when graphql-core must run it (deferred fragments)."""
        cached = self._object_plans.get(details, return_type.name)
        if cached is not MISSING:
            return cached
        grouped, new_defer_usages, _ = self.collect_subfields(return_type, details)
        found = None
        if not new_defer_usages:
            found = self._plan(return_type, grouped)
        return self._object_plans.put(details, found, return_type.name)

    def _compiled_plan(self, parent_type: GraphQLObjectType, entries: list[Entry]) -> ObjectPlan:
        """The plan, with its compiled function when every field has a ``Spec``."""
        specs: list[Spec] = []
        args: list[Any] = []
        for entry in entries:
            found = self._spec(parent_type, entry)
            if found is None:
                return ObjectPlan(entries, None)
            specs.append(found[0])
            args.append(found[1])
        selection = Selection(parent_type.name, tuple(specs))
        return ObjectPlan(entries, compile_selection(selection, RESOLVE), tuple(args), selection)

    def _spec(self, parent_type: GraphQLObjectType, entry: Entry) -> tuple[Spec, Any] | None:
        """How compiled code takes this field (and what it needs of the request), or None."""
        kind = entry.kind
        if kind is Kind.TYPENAME:
            return Spec(entry.name, TYPENAME), None
        if kind is Kind.BATCH:
            if not self._batching:
                return None
            return Spec(entry.name, BATCH), (
                Pending,
                entry,
                parent_type,
                self._batch_completer(parent_type, entry),
            )
        read: str | Callable[[Any], Any] = entry.attribute or entry.getter
        if kind is Kind.LEAF:
            return Spec(entry.name, LEAF, read, entry.leaf, entry.exact, entry.nullable), None
        if kind is not Kind.COMPOSITE:
            return None
        return self._composite_spec(parent_type, entry, read)

    def _composite_spec(
        self, parent_type: GraphQLObjectType, entry: Entry, read: str | Callable[[Any], Any]
    ) -> tuple[Spec, Any] | None:
        """An object or list-of-objects field whose selection compiles, or None."""
        assert entry.field_def is not None
        field_type = entry.field_def.type
        nullable = not isinstance(field_type, GraphQLNonNull)
        inner: Any = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        is_list = isinstance(inner, GraphQLList)
        item_nullable = True
        if is_list:
            inner = inner.of_type
            item_nullable = not isinstance(inner, GraphQLNonNull)
            inner = inner.of_type if isinstance(inner, GraphQLNonNull) else inner
        if not isinstance(inner, GraphQLObjectType) or not (
            inner.is_type_of is None or self.is_info_free(inner)
        ):
            return None
        sub = self._object_plan(inner, entry.details)
        if sub is None or sub.selection is None:
            return None
        spec = Spec(
            entry.name,
            LIST if is_list else OBJECT,
            read,
            nullable=nullable,
            item_nullable=item_nullable,
            check=inner.is_type_of,
            typename=parent_type.name,
            sub=sub.selection,
            memo=is_list and sub.selection.leaves_only,
        )
        return spec, sub.args

    def _batch_completer(self, parent_type: GraphQLObjectType, entry: Entry) -> ObjectPlan | None:
        """Compiled code completing a batched field's value (objects or lists of them),
        as a one-field selection of the parent reading the value itself."""
        found = self._composite_spec(parent_type, entry, itself)
        if found is None:
            return None
        selection = Selection(parent_type.name, (found[0],))
        return ObjectPlan([], compile_selection(selection, RESOLVE), (found[1],), selection)

    def _entry(self, parent_type: GraphQLObjectType, name: str, details: FieldDetailsList) -> Entry:
        slow = Entry(name, details, Kind.SLOW, _no_getter, None, None, None, True, None)
        for detail in details:
            if detail.fragment_variable_values is not None or any(
                directive.name.value not in _SKIP_INCLUDE
                for directive in detail.node.directives or ()
            ):
                return slow
        node = details[0].node
        field_name = node.name.value
        if field_name == "__typename":
            return slow._replace(kind=Kind.TYPENAME, nullable=False)
        field_def = self.schema.get_field(parent_type, field_name)
        if field_def is None or node.arguments or field_def.args:
            return slow
        definition = definition_of(field_def)
        if definition is None or definition.extensions:
            return slow
        return_type = field_def.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        batch = metadata(definition).get(BATCHED)
        if batch is not None:
            return slow._replace(kind=Kind.BATCH, field_def=field_def, batch=batch)
        getter: Callable[[Any], Any] | None = metadata(definition).get(FROM_PARENT)
        attribute = None
        if getter is None and no_exception_handlers(self.schema):
            attribute = plain_attribute(field_def, definition)
            if attribute is not None:
                getter = attrgetter(attribute)
        if getter is None:
            return slow
        inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if is_leaf_type(inner):
            exact = int if inner is GraphQLInt else _EXACT.get(inner)
            return Entry(
                name, details, Kind.LEAF, getter, field_def, inner, exact, nullable, None, attribute
            )
        object_type = None
        if is_object_type(inner) and (inner.is_type_of is None or self.is_info_free(inner)):
            object_type = inner
        return Entry(
            name,
            details,
            Kind.COMPOSITE,
            getter,
            field_def,
            None,
            None,
            nullable,
            None,
            attribute,
            object_type,
        )

    def is_info_free(self, object_type: GraphQLObjectType) -> bool:
        found = self._info_free.get(object_type.name)
        if found is None:
            found = self._info_free[object_type.name] = info_free(object_type)
        return found
