"""A graphql-core executor that reads plain fields straight off the records.

graphql-core resolves every field the same way: a ``ResolveInfo``, the resolver
(strawberry's wrapper around ``getattr`` for a field without one), then
``complete_value``. For a page of 100 learners that is a few thousand calls that
each do almost nothing, and they were most of a request's time.

``FastExecutionContext`` plans each selection set once (per process for the documents
a dashboard sends again and again, keyed by their parsed field nodes; per request
otherwise) and, for a *fast* field, takes the value directly:

- a basic strawberry field (no resolver, no permission classes or field
  extensions, the default ``getattr`` resolver): the attribute;
- a field whose definition carries ``from_parent(fn)`` metadata: ``fn(parent)``,
  a sync function of the parent alone, which may answer ``RESOLVE`` ("not at
  hand: run the resolver").

A leaf value is coerced in place (no ``Path``, no info). An object or list value is
completed here too, with the info built only when something reads it (an
``is_type_of`` not marked ``INFO_FREE``, an abstract type, an error message). A
selection made only of such fields (and batched ones) runs as Python generated for
it (``compiled.py``); an object the generated code is unsure of takes the plan.

A field with ``batched(fn)`` metadata is, in a query, resolved for all its parents
at once: ``await fn(context, parents)`` after the rest of the operation has run, so
a page of 100 learners costs one awaitable instead of 100.

Everything else, and every case that would raise an error (a null in a non-null
position, a value the scalar refuses, an exception), goes through graphql-core's
own code, so results, errors and their paths are the same. When anything goes wrong
in a batch, the whole operation runs again without batching. Nothing here knows a
particular type: plugins' types take the same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum
from types import CoroutineType, GeneratorType
from typing import Any, Final, Literal, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    is_leaf_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from lms_graph.schema.compiled import (
    BATCH,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Compiled,
    Selection,
    Slow,
    Spec,
    compile_selection,
    leaf_output,
)

FROM_PARENT: Final = "lms_from_parent"
"""The metadata key of a field's parent-only shortcut (see ``from_parent``)."""

BATCHED: Final = "lms_batched"
"""The metadata key of a field's whole-request batch (see ``batched``)."""

INFO_FREE: Final = "__lms_info_free__"
"""Set to True on an ``is_type_of`` function that does not read its info argument."""


class _Resolve(Enum):
    RESOLVE = "resolve"


RESOLVE: Final = _Resolve.RESOLVE
"""What a ``from_parent`` function answers when the value is not at hand."""

Resolve = Literal[_Resolve.RESOLVE]

BatchFn = Callable[[Any, list[Any]], Awaitable[Sequence[Any]]]


def from_parent(fn: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: ``fn(parent)`` gives the field's value without calling its resolver
    (or ``RESOLVE`` to call it). ``fn`` must agree with the resolver wherever it answers:
    ``@strawberry.field(metadata=from_parent(lambda root: root.user or RESOLVE))``."""
    return {FROM_PARENT: fn}


def batched(fn: BatchFn) -> dict[str, Any]:
    """Field metadata: in a query, ``await fn(context, parents)`` gives the field's value
    for every parent at once (one value per parent, in order), instead of one resolver
    call per parent. ``fn`` must agree with the resolver, which still serves mutations."""
    return {BATCHED: fn}


class _Kind(Enum):
    TYPENAME = 0
    LEAF = 1
    COMPOSITE = 2
    BATCH = 3
    SLOW = 4


class _Entry(NamedTuple):
    name: str
    details: FieldDetailsList
    kind: _Kind
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


class _ObjectPlan(NamedTuple):
    entries: list[_Entry]
    compiled: Compiled | None
    """The selection compiled (``compiled.py``), when every field allows it."""
    args: tuple[Any, ...] = ()
    """What the compiled function needs of this request."""
    selection: Selection | None = None


class _Pending(NamedTuple):
    entry: _Entry
    parent_type: GraphQLObjectType
    parent: Any
    path: Path | None
    results: dict[str, Any]
    completer: _ObjectPlan | None = None
    """Compiled code completing the value, when its selection compiles."""


class _Rerun(Exception):
    """A batch went wrong: run the operation again the ordinary way."""


_SKIP_INCLUDE = frozenset({"skip", "include"})
_EXACT: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}
_INT_RANGE = range(-(2**31), 2**31)


def _metadata(definition: StrawberryField) -> Mapping[str, Any]:
    metadata: Mapping[str, Any] = definition.metadata or {}
    return metadata


def _no_getter(_source: Any) -> Any:  # pragma: no cover - never called
    return RESOLVE


def _getter(field_def: GraphQLField, definition: StrawberryField) -> Callable[[Any], Any] | None:
    """How to read this field off its parent without its resolver, if that is the same."""
    shortcut = _metadata(definition).get(FROM_PARENT)
    if shortcut is not None:
        fn: Callable[[Any], Any] = shortcut
        return fn
    resolve = field_def.resolve
    if (
        definition.is_basic_field
        and resolve is not None
        and getattr(resolve, "__name__", "") == "_get_basic_result"
        and definition.default_resolver is getattr
    ):
        name = definition.python_name

        def attribute(source: Any) -> Any:
            return getattr(source, name)

        attribute.__lms_attribute__ = name  # type: ignore[attr-defined]
        return attribute
    return None


def _info_free(is_type_of: Any) -> bool:
    function = getattr(is_type_of, "__func__", is_type_of)
    if getattr(function, INFO_FREE, False):
        return True
    # strawberry's own checks (types implementing an interface) ignore the info.
    return bool(
        getattr(function, "__module__", "") == "strawberry.schema.schema_converter"
        and getattr(function, "__name__", "") == "is_type_of"
    )


def _itself(value: Any) -> Any:
    return value


_NEVER_AWAITABLE: set[type] = set()
"""Types whose values cannot be awaited (``await`` looks at the type, not the instance),
met as object values: records and plugins' objects, checked once per type."""

_SharedPlans = dict[tuple[Any, ...], tuple[GroupedFieldSet, _ObjectPlan]]
_SHARED_PLANS: WeakKeyDictionary[GraphQLSchema, _SharedPlans] = WeakKeyDictionary()
"""Plans by schema and selection, shared by the requests of a process: a dashboard sends
the same few documents, parsed once (``ParserCache``), so their field nodes are the same
objects from one request to the next. A plan keeps its grouped fields (and with them the
nodes its key names by ID) alive."""
_SHARED_PLANS_SIZE = 1024


_DIRECTIVE_VARIABLES: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
"""The variables an operation's directives read, by operation node (kept alive here)."""


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
    found = _DIRECTIVE_VARIABLES.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    visitor = _DirectiveVariables()
    visit(operation, visitor)
    for fragment in fragments.values():
        visit(getattr(fragment, "definition", fragment), visitor)
    names = tuple(sorted(visitor.names))
    if len(_DIRECTIVE_VARIABLES) >= _SHARED_PLANS_SIZE:
        _DIRECTIVE_VARIABLES.clear()
    _DIRECTIVE_VARIABLES[id(operation)] = (operation, names)
    return names


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


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with plain fields taken without a resolver call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A schema extension with a ``resolve`` hook must see every field: no shortcuts.
        self._fast = manager is None or not manager.middlewares
        self._batching = False
        self._pending: list[_Pending] = []
        self._plans: dict[int, tuple[GroupedFieldSet, _ObjectPlan]] = {}
        self._object_plans: dict[tuple[str, int], tuple[FieldDetailsList, _ObjectPlan | None]] = {}
        self._info_free: dict[str, bool] = {}
        self._lists: dict[tuple[int, int], tuple[Compiled, Sequence[Any], list[Any]]] = {}
        """Completed tuples of immutable items, by (selection, tuple) identity."""

    # --- plans ----------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> _ObjectPlan:
        cached = self._plans.get(id(fields))
        if cached is not None and cached[0] is fields:
            return cached[1]
        shared = _SHARED_PLANS.setdefault(self.schema, {})
        variant = self._plan_variant()
        key = None if variant is None else _shared_key(parent_type, fields, variant)
        found = None if key is None else shared.get(key)
        if found is None:
            entries = [self._entry(parent_type, name, details) for name, details in fields.items()]
            found = (fields, self._compiled_plan(parent_type, entries))
            if key is not None:
                if len(shared) >= _SHARED_PLANS_SIZE:
                    shared.clear()
                shared[key] = found
        # The grouped set is kept alive with its plan, so its id is not reused.
        self._plans[id(fields)] = (fields, found[1])
        return found[1]

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
    ) -> _ObjectPlan | None:
        """The plan of an object's sub-selection (compiled when every field allows it),
        or None when graphql-core must run it (deferred fragments)."""
        key = (return_type.name, id(details))
        cached = self._object_plans.get(key)
        if cached is not None and cached[0] is details:
            return cached[1]
        grouped, new_defer_usages, _ = self.collect_subfields(return_type, details)
        found = None
        if not new_defer_usages:
            found = self._plan(return_type, grouped)
        self._object_plans[key] = (details, found)
        return found

    def _compiled_plan(self, parent_type: GraphQLObjectType, entries: list[_Entry]) -> _ObjectPlan:
        """The plan, with its compiled function when every field has a ``Spec``."""
        specs: list[Spec] = []
        args: list[Any] = []
        for entry in entries:
            found = self._spec(parent_type, entry)
            if found is None:
                return _ObjectPlan(entries, None)
            specs.append(found[0])
            args.append(found[1])
        selection = Selection(parent_type.name, tuple(specs))
        return _ObjectPlan(entries, compile_selection(selection, RESOLVE), tuple(args), selection)

    def _spec(self, parent_type: GraphQLObjectType, entry: _Entry) -> tuple[Spec, Any] | None:
        """How compiled code takes this field (and what it needs of the request), or None."""
        kind = entry.kind
        if kind is _Kind.TYPENAME:
            return Spec(entry.name, TYPENAME), None
        if kind is _Kind.BATCH:
            if not self._batching:
                return None
            return Spec(entry.name, BATCH), (
                entry,
                parent_type,
                self._batch_completer(parent_type, entry),
            )
        read: str | Callable[[Any], Any] = entry.attribute or entry.getter
        if kind is _Kind.LEAF:
            return Spec(entry.name, LEAF, read, entry.leaf, entry.exact, entry.nullable), None
        if kind is not _Kind.COMPOSITE:
            return None
        return self._composite_spec(parent_type, entry, read)

    def _composite_spec(
        self, parent_type: GraphQLObjectType, entry: _Entry, read: str | Callable[[Any], Any]
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

    def _batch_completer(self, parent_type: GraphQLObjectType, entry: _Entry) -> _ObjectPlan | None:
        """Compiled code completing a batched field's value (objects or lists of them),
        as a one-field selection of the parent reading the value itself."""
        found = self._composite_spec(parent_type, entry, _itself)
        if found is None:
            return None
        selection = Selection(parent_type.name, (found[0],))
        return _ObjectPlan([], compile_selection(selection, RESOLVE), (found[1],), selection)

    # --- what compiled code calls ---------------------------------------------------------

    def _run_compiled(self, plan: _ObjectPlan, value: Any, path: Path | None) -> Any:
        """The compiled plan's result, or ``Slow`` (the class) when the general path must
        run; what the attempt deferred is taken back."""
        assert plan.compiled is not None
        mark = len(self._pending)
        try:
            return plan.compiled(value, path, self, plan.args)
        except Slow:
            del self._pending[mark:]
            return Slow

    def defer(
        self,
        arg: tuple[_Entry, GraphQLObjectType, _ObjectPlan | None],
        source: Any,
        path: Path | None,
        results: dict[str, Any],
    ) -> None:
        self._pending.append(_Pending(arg[0], arg[1], source, path, results, arg[2]))

    def awaitable(self, value: Any) -> bool:
        cls = type(value)
        if cls in _NEVER_AWAITABLE:
            return False
        found = self.is_awaitable(value)
        if (
            not found
            and not issubclass(cls, CoroutineType | GeneratorType)
            and not hasattr(cls, "__await__")
            and len(_NEVER_AWAITABLE) < 1024
        ):
            _NEVER_AWAITABLE.add(cls)
        return found

    def memo_get(self, function: Compiled, items: Any) -> list[Any] | None:
        """Completed tuples of frozen items, by (selection, tuple) identity: menus share
        their tuples between learners (``services/menus.py``)."""
        if type(items) is not tuple:
            return None
        hit = self._lists.get((id(function), id(items)))
        if hit is None or hit[0] is not function or hit[1] is not items:
            return None
        return list(hit[2])

    def memo_put(self, function: Compiled, items: Any, completed: list[Any]) -> None:
        if type(items) is tuple and all(_is_frozen(type(item)) for item in items):
            self._lists[(id(function), id(items))] = (function, items, completed)

    def _entry(
        self, parent_type: GraphQLObjectType, name: str, details: FieldDetailsList
    ) -> _Entry:
        slow = _Entry(name, details, _Kind.SLOW, _no_getter, None, None, None, True, None)
        for detail in details:
            if detail.fragment_variable_values is not None or any(
                directive.name.value not in _SKIP_INCLUDE
                for directive in detail.node.directives or ()
            ):
                return slow
        node = details[0].node
        field_name = node.name.value
        if field_name == "__typename":
            return slow._replace(kind=_Kind.TYPENAME, nullable=False)
        field_def = self.schema.get_field(parent_type, field_name)
        if field_def is None or node.arguments or field_def.args:
            return slow
        definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryField) or definition.extensions:
            return slow
        return_type = field_def.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        batch = _metadata(definition).get(BATCHED)
        if batch is not None:
            return slow._replace(kind=_Kind.BATCH, field_def=field_def, batch=batch)
        getter = _getter(field_def, definition)
        if getter is None:
            return slow
        inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if is_leaf_type(inner):
            exact = _EXACT.get(inner)
            if inner is GraphQLInt:
                exact = int
            attribute = getattr(getter, "__lms_attribute__", None)
            return _Entry(
                name,
                details,
                _Kind.LEAF,
                getter,
                field_def,
                inner,
                exact,
                nullable,
                None,
                attribute,
            )
        object_type = None
        if is_object_type(inner) and (inner.is_type_of is None or self.is_info_free(inner)):
            object_type = inner
        return _Entry(
            name,
            details,
            _Kind.COMPOSITE,
            getter,
            field_def,
            None,
            None,
            nullable,
            None,
            getattr(getter, "__lms_attribute__", None),
            object_type,
        )

    # --- execution ------------------------------------------------------------------------

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        position_context: Any,
    ) -> Any:
        self._batching = (
            self._fast
            and not serially
            and position_context is None
            and self.operation.operation == OperationType.QUERY
        )
        result = super().execute_root_grouped_field_set(
            root_type, root_value, grouped_field_set, serially, position_context
        )
        if not self._batching or (not self._pending and not self.is_awaitable(result)):
            return result
        return self._settle(result, root_type, root_value, grouped_field_set)

    async def _settle(
        self,
        result: Any,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
    ) -> Any:
        data = await result if self.is_awaitable(result) else result
        if not self._pending:
            return data
        try:
            await self._run_batches()
        except _Rerun:
            self._batching = False
            self._pending = []
            # Compiled plans defer batched fields: plan again without them.
            self._plans.clear()
            self._object_plans.clear()
            self.collected_errors = CollectedErrors()
            again = super().execute_root_grouped_field_set(
                root_type, root_value, grouped_field_set, False, None
            )
            return await again if self.is_awaitable(again) else again
        return data

    async def _run_batches(self) -> None:
        """Resolve the batched fields met so far, and those their values hold in turn.
        Raises ``_Rerun`` on any error, so that graphql-core reports it its own way."""
        errors = len(self.collected_errors.errors)
        try:
            while self._pending:
                pending, self._pending = self._pending, []
                await self._run_batch_round(pending)
        except Exception as error:
            raise _Rerun from error
        if len(self.collected_errors.errors) != errors:
            raise _Rerun

    async def _run_batch_round(self, pending: list[_Pending]) -> None:
        groups: dict[int, list[_Pending]] = {}
        for item in pending:
            groups.setdefault(id(item.entry.batch), []).append(item)
        awaitables: list[Any] = []
        for items in groups.values():
            batch = items[0].entry.batch
            assert batch is not None
            values = await batch(self.context_value, [item.parent for item in items])
            if len(values) != len(items):
                raise _Rerun
            for item, value in zip(items, values, strict=True):
                if item.completer is not None:
                    completed = self._run_compiled(item.completer, value, item.path)
                    if completed is not Slow:
                        item.results[item.entry.name] = completed[item.entry.name]
                        continue
                path = Path(item.path, item.entry.name, item.parent_type.name)
                completed = self._complete_value(item.entry, item.parent_type, path, value, None)
                if self.is_awaitable(completed):
                    awaitables.append(_store(item.results, item.entry.name, completed))
                else:
                    item.results[item.entry.name] = completed
        if awaitables:
            await gather_with_cancel(*awaitables)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan = self._plan(parent_type, grouped_field_set)
        if plan.compiled is not None and position_context is None:
            result = self._run_compiled(plan, source_value, path)
            if result is not Slow:
                return result
        return self._execute_plan(parent_type, source_value, path, plan.entries, position_context)

    def _execute_plan(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        plan: list[_Entry],
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for entry in plan:
                kind = entry.kind
                name = entry.name
                if kind is _Kind.LEAF:
                    try:
                        value = entry.getter(source)
                    except Exception:
                        value = RESOLVE
                    if value is None:
                        if entry.nullable:
                            results[name] = None
                            continue
                    elif type(value) is entry.exact and (
                        entry.exact is not int or value in _INT_RANGE
                    ):
                        results[name] = value
                        continue
                    elif value is not RESOLVE:
                        coerced = leaf_output(entry.leaf, value)
                        if coerced is not None:
                            results[name] = coerced
                            continue
                elif kind is _Kind.TYPENAME:
                    results[name] = parent_type.name
                    continue
                elif kind is _Kind.BATCH and self._batching:
                    results[name] = None  # filled in by ``_run_batches``
                    self._pending.append(_Pending(entry, parent_type, source, path, results))
                    continue
                field_path = Path(path, name, parent_type.name)
                if kind is _Kind.COMPOSITE:
                    result = self._composite(
                        entry, parent_type, source, field_path, position_context
                    )
                else:
                    result = self.execute_field(
                        parent_type, source, entry.details, field_path, position_context
                    )
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather_fields(results, awaitable_fields)

    def _composite(
        self,
        entry: _Entry,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """An object or list field: the value off the parent, completed here."""
        try:
            value = entry.getter(source)
        except Exception:
            value = RESOLVE
        if value is RESOLVE or self.is_awaitable(value):
            return self.execute_field(parent_type, source, entry.details, path, position_context)
        object_type = entry.object_type
        if (
            object_type is not None
            and position_context is None
            and value is not None
            and not isinstance(value, Exception)
            and (object_type.is_type_of is None or object_type.is_type_of(value, None) is True)
        ):
            # An object value: what ``_complete_value`` would do, minus its dispatch.
            plan = self._object_plan(object_type, entry.details)
            if plan is not None:
                if plan.compiled is not None:
                    result = self._run_compiled(plan, value, path)
                    if result is not Slow:
                        return result
                try:
                    result = self._execute_plan(object_type, value, path, plan.entries, None)
                except Exception as raw_error:
                    assert entry.field_def is not None
                    self.handle_field_error(raw_error, entry.field_def.type, entry.details, path)
                    return None
                if self.is_awaitable(result):
                    assert entry.field_def is not None
                    return _await_field(self, result, entry.field_def.type, entry.details, path)
                return result
        return self._complete_value(entry, parent_type, path, value, position_context)

    def _complete_value(
        self,
        entry: _Entry,
        parent_type: GraphQLObjectType,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """What ``execute_field`` does with a resolver's result, errors included."""
        assert entry.field_def is not None
        return_type = entry.field_def.type
        completer = _Completer(self, entry, parent_type, position_context)
        try:
            completed = completer.complete(return_type, path, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, entry.details, path)
            return None
        if self.is_awaitable(completed):
            return _await_field(self, completed, return_type, entry.details, path)
        return completed

    def is_info_free(self, object_type: GraphQLObjectType) -> bool:
        found = self._info_free.get(object_type.name)
        if found is None:
            found = self._info_free[object_type.name] = _info_free(object_type.is_type_of)
        return found


class _Completer:
    """``complete_value`` for one field's value, building its info only on demand."""

    __slots__ = ("_info", "entry", "executor", "parent_type", "position_context")

    def __init__(
        self,
        executor: FastExecutionContext,
        entry: _Entry,
        parent_type: GraphQLObjectType,
        position_context: Any,
    ) -> None:
        self.executor = executor
        self.entry = entry
        self.parent_type = parent_type
        self.position_context = position_context
        self._info: GraphQLResolveInfo | None = None

    def info(self, path: Path) -> GraphQLResolveInfo:
        # graphql-core builds one info per field and hands it to every list item too.
        if self._info is None:
            field_path = path
            while isinstance(field_path.key, int) and field_path.prev is not None:
                field_path = field_path.prev
            assert self.entry.field_def is not None
            self._info = self.executor.build_resolve_info(
                self.entry.field_def,
                [detail.node for detail in self.entry.details],
                self.parent_type,
                field_path,
            )
        return self._info

    def complete(self, return_type: GraphQLOutputType, path: Path, value: Any) -> Any:
        executor = self.executor
        if isinstance(value, Exception):
            raise value
        if isinstance(return_type, GraphQLNonNull):
            completed = self.complete(return_type.of_type, path, value)
            if completed is None:
                field_name = self.entry.details[0].node.name.value
                msg = f"Cannot return null for non-nullable field {self.parent_type}.{field_name}."
                raise TypeError(msg)
            return completed
        if value is None or value is Undefined:
            return None
        if isinstance(return_type, GraphQLList):
            if isinstance(value, list | tuple):
                return self._list(return_type.of_type, path, value)
        elif is_leaf_type(return_type):
            return executor.complete_leaf_value(return_type, value)
        elif is_object_type(return_type):
            is_type_of = return_type.is_type_of
            if is_type_of is None or (
                executor.is_info_free(return_type) and is_type_of(value, None) is True
            ):
                if self.position_context is None:
                    plan = executor._object_plan(return_type, self.entry.details)
                    if plan is not None:
                        if plan.compiled is not None:
                            result = executor._run_compiled(plan, value, path)
                            if result is not Slow:
                                return result
                        return executor._execute_plan(return_type, value, path, plan.entries, None)
                return executor.collect_and_execute_subfields(
                    return_type, self.entry.details, path, value, self.position_context
                )
        # Anything else (abstract types, iterables that are not lists, a failed type
        # check) as graphql-core does it, with the info it would have had.
        return executor.complete_value(
            return_type, self.entry.details, self.info(path), path, value, self.position_context
        )

    def _item_plan(
        self, item_type: GraphQLOutputType
    ) -> tuple[GraphQLObjectType, Any, _ObjectPlan] | None:
        """For a list of objects: the item type, its check and its plan, shared by all items."""
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if self.position_context is not None or not is_object_type(inner):
            return None
        check = inner.is_type_of
        if check is not None and not self.executor.is_info_free(inner):
            return None
        plan = self.executor._object_plan(inner, self.entry.details)
        return None if plan is None else (inner, check, plan)

    def _list(
        self, item_type: GraphQLOutputType, path: Path, items: list[Any] | tuple[Any, ...]
    ) -> Any:
        executor = self.executor
        is_awaitable = executor.is_awaitable
        completed: list[Any] = []
        awaitable: list[int] = []
        details = self.entry.details
        shared = self._item_plan(item_type) if items else None
        compiled = shared[2].compiled if shared is not None else None
        selection = shared[2].selection if shared is not None else None
        memo = compiled is not None and selection is not None and selection.leaves_only
        if memo:
            hit = executor.memo_get(compiled, items)
            if hit is not None:
                return hit
        uses_path = selection is not None and selection.uses_path
        try:
            for index, item in enumerate(items):
                if (
                    shared is not None
                    and item is not None
                    and (shared[1] is None or shared[1](item, None) is True)
                    and not is_awaitable(item)
                    and not isinstance(item, Exception)
                ):
                    # What ``complete`` does for an object item, minus its dispatch.
                    if compiled is not None:
                        result = executor._run_compiled(
                            shared[2], item, path.add_key(index, None) if uses_path else None
                        )
                        if result is not Slow:
                            completed.append(result)
                            continue
                    memo = False
                    item_path = path.add_key(index, None)
                    try:
                        result = executor._execute_plan(
                            shared[0], item, item_path, shared[2].entries, None
                        )
                    except Exception as raw_error:
                        executor.handle_field_error(raw_error, item_type, details, item_path)
                        result = None
                    if is_awaitable(result):
                        result = _await_field(executor, result, item_type, details, item_path)
                        awaitable.append(index)
                    completed.append(result)
                    continue
                memo = False
                item_path = path.add_key(index, None)
                if is_awaitable(item):
                    completed.append(
                        executor.complete_awaitable_list_item_value(
                            item,
                            item_type,
                            details,
                            self.info(path),
                            item_path,
                            self.position_context,
                        )
                    )
                    awaitable.append(index)
                    continue
                try:
                    result = self.complete(item_type, item_path, item)
                except Exception as raw_error:
                    executor.handle_field_error(raw_error, item_type, details, item_path)
                    result = None
                if is_awaitable(result):
                    result = _await_field(executor, result, item_type, details, item_path)
                    awaitable.append(index)
                completed.append(result)
        except Exception:
            if awaitable:
                executor.settle_in_background([completed[index] for index in awaitable])
            raise
        if not awaitable:
            if memo and compiled is not None:
                executor.memo_put(compiled, items, completed)
                return list(completed)
            return completed
        return _gather_items(completed, awaitable)


_FROZEN: dict[type, bool] = {}


def _is_frozen(cls: type) -> bool:
    """Whether instances of ``cls`` are frozen dataclasses (their fields never change)."""
    found = _FROZEN.get(cls)
    if found is None:
        params = getattr(cls, "__dataclass_params__", None)
        found = _FROZEN[cls] = params is not None and bool(params.frozen)
    return found


async def _store(results: dict[str, Any], name: str, completed: Awaitable[Any]) -> None:
    results[name] = await completed


async def _await_field(
    executor: FastExecutionContext,
    completed: Awaitable[Any],
    return_type: GraphQLOutputType,
    details: FieldDetailsList,
    path: Path,
) -> Any:
    try:
        return await completed
    except Exception as raw_error:
        executor.handle_field_error(raw_error, return_type, details, path)
        return None


async def _gather_fields(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    if len(names) == 1:
        results[names[0]] = await results[names[0]]
    else:
        awaited = await gather_with_cancel(*(results[name] for name in names))
        results.update(zip(names, awaited, strict=True))
    return results


async def _gather_items(completed: list[Any], indices: list[int]) -> list[Any]:
    if len(indices) == 1:
        completed[indices[0]] = await completed[indices[0]]
    else:
        awaited = await gather_with_cancel(*(completed[index] for index in indices))
        for index, value in zip(indices, awaited, strict=True):
            completed[index] = value
    return completed
