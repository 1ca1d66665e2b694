"""Batching: a ``batched(fn)`` field resolved for all its parents at once.

In a query (not a mutation, nor with a schema extension hooking ``resolve``), running a
plan or compiled code leaves each batched field as a ``Pending`` (its parent, where its
value goes) instead of calling its resolver. Once the rest of the operation has run,
``_run_batches`` calls ``await fn(context, parents)`` once per batch function and
completes the values, round after round while the values hold batched fields in turn:
a page of 100 learners costs one awaitable instead of 100.

When anything goes wrong in a batch (an exception, a value the field refuses, a wrong
number of values), the whole operation runs again without batching, so that its
errors are graphql-core's.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLObjectType, OperationType
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import Path, gather_with_cancel

from lms_graph.schema.execution.compiled import Slow
from lms_graph.schema.execution.completion import CompletingContext
from lms_graph.schema.execution.plans import Pending


class _Rerun(Exception):
    """A batch went wrong: run the operation again the ordinary way."""


class BatchingContext(CompletingContext):
    """The completing context, with batched fields left for ``_run_batches``."""

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
        _allow_rendering(self.context_value, self._batching)
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
            _allow_rendering(self.context_value, False)
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

    async def _run_batch_round(self, pending: list[Pending]) -> None:
        groups: dict[int, list[Pending]] = {}
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


async def _store(results: dict[str, Any], name: str, completed: Awaitable[Any]) -> None:
    results[name] = await completed


def _allow_rendering(context: Any, allowed: bool) -> None:
    """Values rendered to JSON (``schema/rendering.py``) are embedded by this executor's
    own paths, in a query it batches; elsewhere (a mutation, a run again the ordinary
    way, another executor) every value goes through graphql-core."""
    if hasattr(context, "render_sql"):
        context.render_sql = allowed and context.json_output
