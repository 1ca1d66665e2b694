"""Completion: running a plan over one object, and completing the values it reads.

``CompletingContext.execute_fields`` (graphql-core calls it for every selection set)
runs the selection's compiled function when there is one, and its plan otherwise
(``_execute_plan``): a leaf value is output in place when it is exactly what its
scalar outputs, and coerced otherwise; an object or list value is completed here, with
the ``ResolveInfo`` built only when something reads it (``Completer``). A value that
would be an error, or anything the plan does not know, goes through graphql-core's own
``execute_field`` or ``complete_value``, so answers and errors are the same.

Compiled code calls back two methods of the context, ``awaitable`` and ``memo_put``,
reads its ``_memo`` (``memo_get``'s dict) and appends batched fields to its
``_pending`` list (``batching.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined, gather_with_cancel
from orjson import Fragment

from lms_graph.fields import RESOLVE
from lms_graph.schema.execution.caches import NEVER_AWAITABLE, is_frozen, never_awaitable
from lms_graph.schema.execution.compiled import Compiled, Slow, leaf_output
from lms_graph.schema.execution.plans import Entry, Kind, ObjectPlan, Pending, PlanningContext

_INT_RANGE = range(-(2**31), 2**31)


class CompletingContext(PlanningContext):
    """The planning context, running its plans and completing their values."""

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

    def _run_compiled(self, plan: ObjectPlan, value: Any, path: Path | None) -> Any:
        """The compiled plan's result, or ``Slow`` (the class) when the general path must
        run; what the attempt deferred is taken back."""
        assert plan.compiled is not None
        mark = len(self._pending)
        try:
            return plan.compiled(value, path, self, plan.args)
        except Slow:
            del self._pending[mark:]
            return Slow

    # --- what compiled code calls ---------------------------------------------------------

    def awaitable(self, value: Any) -> bool:
        cls = type(value)
        if cls in NEVER_AWAITABLE:
            return False
        found = self.is_awaitable(value)
        if not found:
            never_awaitable(cls)
        return found

    def memo_get(self, function: Compiled, items: Any) -> list[Any] | None:
        """Completed tuples of frozen items, by (selection, tuple) identity: menus share
        their tuples between learners (``services/menus.py``)."""
        if type(items) is not tuple:
            return None
        found = self._memo.get((id(items), function))
        return None if found is None or found[0] is not items else list(found[1])

    def memo_put(self, function: Compiled, items: Any, completed: list[Any]) -> None:
        if type(items) is tuple and all(is_frozen(type(item)) for item in items):
            self._memo[id(items), function] = (items, completed)

    # --- the plan, field by field ---------------------------------------------------------

    def _execute_plan(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        plan: list[Entry],
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for entry in plan:
                kind = entry.kind
                name = entry.name
                if kind is Kind.LEAF:
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
                elif kind is Kind.TYPENAME:
                    results[name] = parent_type.name
                    continue
                elif kind is Kind.BATCH and self._batching:
                    results[name] = None  # filled in by ``_run_batches``
                    self._pending.append(Pending(entry, parent_type, source, path, results))
                    continue
                field_path = Path(path, name, parent_type.name)
                if kind is Kind.COMPOSITE:
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
        entry: Entry,
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
        if type(value) is Fragment:  # already JSON for this selection (``rendering.py``)
            return value
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
        entry: Entry,
        parent_type: GraphQLObjectType,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """What ``execute_field`` does with a resolver's result, errors included."""
        assert entry.field_def is not None
        return_type = entry.field_def.type
        completer = Completer(self, entry, parent_type, position_context)
        try:
            completed = completer.complete(return_type, path, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, entry.details, path)
            return None
        if self.is_awaitable(completed):
            return _await_field(self, completed, return_type, entry.details, path)
        return completed


class Completer:
    """``complete_value`` for one field's value, building its info only on demand."""

    __slots__ = ("_info", "entry", "executor", "parent_type", "position_context")

    def __init__(
        self,
        executor: CompletingContext,
        entry: Entry,
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
        if type(value) is Fragment:  # already JSON for this selection (``rendering.py``)
            return value
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
    ) -> tuple[GraphQLObjectType, Any, ObjectPlan] | None:
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


async def _await_field(
    executor: CompletingContext,
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
