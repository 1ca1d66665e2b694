"""Strings an operation carries, checked before anything runs (CONTRACT section 11).

No string may hold a NUL character (PostgreSQL's text cannot) or be longer than its
documented maximum. Every string is checked, wherever it is: an argument written in
the document, inside input objects and lists too, a variable's value, and the strings
and keys inside ``JSON`` values (``runAction``'s ``params``), where numbers must also
be finite. A string's maximum is found by the name of the argument, input field or
JSON key it is given to (``MAX_LENGTHS``), ``DEFAULT_MAX_LENGTH`` for any other.

A refusal is one ``BAD_USER_INPUT`` error naming the argument or the variable, and no
resolver runs: nothing is read or written. What the document itself writes is checked
once per document (the plan is kept); a request then costs a walk over its variables.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.language import FloatValueNode
from strawberry.extensions import SchemaExtension

from lms_graph.errors import BadInput

DEFAULT_MAX_LENGTH = 10_000
"""Characters in any string whose name has no maximum of its own."""
MAX_LENGTHS: Mapping[str, int] = {
    "search": 200,
    "name": 200,
    "email": 320,
    "employeeId": 64,
    "title": 300,
    "courseType": 64,
    "action": 64,
    "idempotencyKey": 200,
    "label": 200,
    "timeZone": 64,
    "location": 500,
    "meetingLink": 1_000,
    "note": 2_000,
    "message": 5_000,
    "prompt": 2_000,
    "choices": 500,
}
"""Characters at most, by the name of the argument, input field or JSON key."""
MAX_DEPTH = 32
"""Levels of objects and lists in one argument or variable (a JSON value, an input)."""
KEY_MAX_LENGTH = 200
"""Characters in a key of a JSON value (or of an input object sent as a variable)."""
_PLANS_SIZE = 256


class _Refused(Exception):
    """A string (or number) that may not pass; ``where`` is filled in on the way out."""

    def __init__(self, problem: str, *, located: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.located = located
        """Whether the message shows the path inside the value (not for nesting)."""
        self.where: list[str] = []


def _limit(name: str) -> int:
    return MAX_LENGTHS.get(name, DEFAULT_MAX_LENGTH)


def _string(text: str, limit: int) -> None:
    if len(text) > limit:
        raise _Refused(f"is {len(text):,} characters long; at most {limit:,} are allowed")
    if "\x00" in text:
        raise _Refused("holds a NUL character (\\u0000), which no text here may hold")


def check_text(name: str, value: str) -> None:
    """The same rules for a string that comes another way (a form field): ``BadInput``
    naming it when it holds a NUL character or is past the maximum for ``name``."""
    try:
        _string(value, _limit(name))
    except _Refused as refused:
        raise BadInput(f"`{name}` {refused.problem}.") from None


def _nested(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _Refused(f"nests more than {MAX_DEPTH} levels of objects and lists", located=False)


def check_value(value: Any, limit: int, depth: int = 1) -> None:
    """A variable's value (or a JSON value): its strings and keys, at any depth."""
    if isinstance(value, str):
        _string(value, limit)
    elif isinstance(value, dict):
        _nested(depth)
        for key, item in value.items():
            if len(key) > KEY_MAX_LENGTH or "\x00" in key:
                raise _Refused(
                    f"has a key longer than {KEY_MAX_LENGTH} characters or holding a NUL character"
                )
            try:
                check_value(item, _limit(key), depth + 1)
            except _Refused as refused:
                refused.where.append(f".{key}")
                raise
    elif isinstance(value, list):
        _nested(depth)
        for index, item in enumerate(value):
            try:
                check_value(item, limit, depth + 1)
            except _Refused as refused:
                refused.where.append(f"[{index}]")
                raise
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Refused("is not a finite number")


def _literal(node: ValueNode, limit: int, uses: dict[str, int], depth: int = 1) -> None:
    """A value written in the document; the variables it holds are noted in ``uses``
    with the maximum of the place they fill."""
    if isinstance(node, StringValueNode):
        _string(node.value, limit)
    elif isinstance(node, VariableNode):
        name = node.name.value
        uses[name] = min(uses.get(name, limit), limit)
    elif isinstance(node, ObjectValueNode):
        _nested(depth)
        for field in node.fields:
            try:
                _literal(field.value, _limit(field.name.value), uses, depth + 1)
            except _Refused as refused:
                refused.where.append(f".{field.name.value}")
                raise
    elif isinstance(node, ListValueNode):
        _nested(depth)
        for index, item in enumerate(node.values):
            try:
                _literal(item, limit, uses, depth + 1)
            except _Refused as refused:
                refused.where.append(f"[{index}]")
                raise
    elif isinstance(node, FloatValueNode) and not math.isfinite(float(node.value)):
        raise _Refused("is not a finite number")


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What one operation's document writes: its first refusal, if any, and the maximum
    for each variable (the smallest of the places it fills)."""

    error: GraphQLError | None
    variables: Mapping[str, int]


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                yield from _fields(fragments[name].selection_set, fragments, seen)


def _refusal(refused: _Refused, subject: str, node: Node) -> GraphQLError:
    where = subject + ("".join(reversed(refused.where)) if refused.located else "")
    return GraphQLError(
        f"`{where}` {refused.problem}.", node, extensions={"code": "BAD_USER_INPUT"}
    )


def plan(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Plan:
    """Check what the operation writes in the document, and where its variables go."""
    uses: dict[str, int] = {}
    for field in _fields(operation.selection_set, fragments, set()):
        for argument in field.arguments or ():
            try:
                _literal(argument.value, _limit(argument.name.value), uses)
            except _Refused as refused:
                subject = f"{field.name.value}({argument.name.value}:)"
                return Plan(_refusal(refused, subject, argument), uses)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if definition.default_value is not None:
            try:
                _literal(definition.default_value, uses.get(name, DEFAULT_MAX_LENGTH), {})
            except _Refused as refused:
                return Plan(_refusal(refused, f"${name}", definition), uses)
    return Plan(None, uses)


def check_variables(
    operation: OperationDefinitionNode, found: Plan, variables: Mapping[str, Any]
) -> GraphQLError | None:
    """The first refusal among the values sent for the operation's variables."""
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables:
            continue
        try:
            check_value(variables[name], found.variables.get(name, DEFAULT_MAX_LENGTH))
        except _Refused as refused:
            return _refusal(refused, f"${name}", definition)
    return None


class _Plans:
    """Plans by operation, the least recently used forgotten first. Keyed by the
    operation's selection set, which the document cache hands out again for the same
    text (and for the same text under another operation name)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._plans: OrderedDict[int, tuple[OperationDefinitionNode, Plan]] = OrderedDict()

    def get(
        self, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> Plan:
        key = id(operation.selection_set)
        kept = self._plans.get(key)
        if (
            kept is not None
            and kept[0].selection_set is operation.selection_set
            and kept[0].variable_definitions is operation.variable_definitions
        ):
            self._plans.move_to_end(key)
            return kept[1]
        found = plan(operation, fragments)
        self._plans[key] = (operation, found)  # holds the nodes: their ids stay theirs
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return found


_PLANS = _Plans(_PLANS_SIZE)


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def refusal(
    document: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> GraphQLError | None:
    """Why this request may not run, or None. (An operation graphql-core cannot pick
    is left to graphql-core, which refuses it without running anything.)"""
    operation = _operation(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found = _PLANS.get(operation, fragments)
    return found.error or check_variables(operation, found, variables)


class InputChecks(SchemaExtension):
    """Refuses the operation, before it runs, when a string it carries may not pass."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            error = refusal(
                context.graphql_document, context.operation_name, context.variables or {}
            )
            if error is not None:
                context.result = ExecutionResult(data=None, errors=[error])
        yield
