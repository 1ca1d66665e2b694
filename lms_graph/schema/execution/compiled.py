"""Selection sets compiled to straight-line Python, one function per selection.

Walking a plan field by field costs more than the fields themselves: a page of 100
learners with their user, assigner, certificates and menus is ~1,500 values. For a
selection whose every field is one the executor can take without a resolver
(``plans.py``: plain attributes, ``from_parent`` shortcuts, leaves, objects and
lists of objects built the same way, batched fields), this builds a function that
reads the attributes, checks each value, descends into the sub-selections' own
functions and returns the result dict, as graphql-jit does in JavaScript.

The generated code is sure of every value it outputs: a value it is not sure of
(a ``RESOLVE``, an awaitable, a null in a non-null position, a value the scalar
would refuse or coerce differently, an exception) raises ``Slow``, and the caller
takes the general path for that object, which gives graphql-core's answer and
errors. Functions are cached per process by their ``Spec`` (what the code depends
on); what changes per request (batched fields' plan entries, the menus' memo) is
passed in as ``args``.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final
from weakref import WeakKeyDictionary

from graphql import GraphQLLeafType
from graphql.pyutils import Path, Undefined
from orjson import Fragment

from lms_graph.schema.execution.caches import NEVER_AWAITABLE

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

TYPENAME: Final = "typename"
LEAF: Final = "leaf"
OBJECT: Final = "object"
LIST: Final = "list"
BATCH: Final = "batch"


class Slow(Exception):
    """This object needs the general path."""


@dataclass(frozen=True, slots=True)
class Spec:
    """One field of a compiled selection: everything its generated code depends on."""

    name: str
    """The response name."""
    kind: str
    read: str | Callable[[Any], Any] | None = None
    """The attribute to read, or a function of the parent (``from_parent``)."""
    leaf: GraphQLLeafType | None = None
    exact: type | None = None
    """A type whose values the leaf outputs unchanged (else the leaf coerces them)."""
    nullable: bool = True
    item_nullable: bool = True
    check: Callable[[Any, Any], Any] | None = None
    """The object type's ``is_type_of`` (info-free), for objects and list items."""
    typename: str = ""
    """The parent's type name (for paths)."""
    sub: Selection | None = None
    """The object's (or list item's) own selection."""
    memo: bool = False
    """A list whose tuples of frozen items may be completed once per request."""


@dataclass(frozen=True, slots=True)
class Selection:
    typename: str
    fields: tuple[Spec, ...]
    uses_path: bool = field(init=False, compare=False)
    """Whether the code needs the real path (to hand to a batched field)."""
    leaves_only: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        uses_path = any(
            spec.kind == BATCH or (spec.sub is not None and spec.sub.uses_path)
            for spec in self.fields
        )
        object.__setattr__(self, "uses_path", uses_path)
        leaves_only = all(spec.kind in (LEAF, TYPENAME) for spec in self.fields)
        object.__setattr__(self, "leaves_only", leaves_only)


Compiled = Callable[[Any, Path | None, Any, tuple[Any, ...]], dict[str, Any]]
"""``fn(source, path, executor, args) -> result``; raises ``Slow``."""

_CACHE: dict[tuple[Selection, object], Compiled] = {}
_CACHE_SIZE = 1024

_ENUM_OUTPUTS: dict[tuple[GraphQLLeafType, type, Enum], Any] = {}
"""Outputs of enum members by leaf type: an enum member always outputs the same value."""
_ENUM_LIMIT = 4096

_MEMBERS: WeakKeyDictionary[GraphQLLeafType, dict[int, tuple[Enum, Any]]] = WeakKeyDictionary()
"""The same outputs by leaf type and member identity, (member, output), for generated
code: an ``id`` is found without calling the member's ``__hash__`` (Python code in
``Enum``), and the entry holds the member, so that the ``id`` stays its own."""


def _members(leaf: GraphQLLeafType) -> dict[int, tuple[Enum, Any]]:
    return _MEMBERS.setdefault(leaf, {})


def leaf_output(leaf: GraphQLLeafType, value: Any) -> Any:
    """The leaf's output for ``value``, or None when graphql-core's own path must produce
    it (or its error)."""
    if value is Undefined or isinstance(value, Exception):
        return None
    member = isinstance(value, Enum)
    if member:
        key = (leaf, type(value), value)
        found = _ENUM_OUTPUTS.get(key)
        if found is not None:
            return found
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return None
    if coerced is Undefined:
        return None
    if member and coerced is not None and len(_ENUM_OUTPUTS) < _ENUM_LIMIT:
        _ENUM_OUTPUTS[key] = coerced
        _members(leaf)[id(value)] = (value, coerced)
    return coerced


def itself(value: Any) -> Any:
    """The ``Spec.read`` of a value completed on its own (a batched field's): the
    generated code takes the source as it is, without calling this."""
    return value


def compile_selection(selection: Selection, resolve: object) -> Compiled:
    """The function of a selection, compiled once per process (dashboards send the
    same few documents again and again)."""
    key = (selection, resolve)
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        found = _CACHE[key] = _Generator(selection, resolve).function()
    return found


class _Generator:
    def __init__(self, selection: Selection, resolve: object) -> None:
        self.selection = selection
        self.resolve = resolve
        self.namespace: dict[str, Any] = {
            "Slow": Slow,
            "Undefined": Undefined,
            "RESOLVE": resolve,
            "INT_MIN": INT_MIN,
            "INT_MAX": INT_MAX,
            "Path": Path,
            "leaf_output": leaf_output,
            "NEVER_AWAITABLE": NEVER_AWAITABLE,
            "tuple_type": tuple,
            "tuple_new": tuple.__new__,
            "list_type": list,
            "Fragment": Fragment,
        }
        self.lines: list[str] = []

    def function(self) -> Compiled:
        selection = self.selection
        reads: list[str] = []
        items: list[str] = []
        batches: list[str] = []
        for index, spec in enumerate(selection.fields):
            key = repr(spec.name)
            value = f"v{index}"
            if spec.kind == TYPENAME:
                items.append(f"{key}: {selection.typename!r}")
                continue
            if spec.kind == BATCH:
                items.append(f"{key}: None")
                # args[index] is (Pending, entry, parent type, completer) (``plans.py``):
                # the parent waits for its batch as a ``Pending``, built by
                # ``tuple.__new__`` (a NamedTuple's own ``__new__`` is Python code).
                batches += [
                    f"b{index} = args[{index}]",
                    f"executor._pending.append(tuple_new(b{index}[0], (b{index}[1], b{index}[2], "
                    f"source, path, result, b{index}[3])))",
                ]
                continue
            reads.append(f"{value} = {self._read(spec, index)}")
            items.append(f"{key}: {value}")
        self.lines = [
            "def compiled(source, path, executor, args):",
            "    try:",
            *(f"        {line}" for line in reads or ["pass"]),
            "    except Exception:",
            "        raise Slow from None",
        ]
        for index, spec in enumerate(selection.fields):
            if spec.kind == LEAF:
                self._emit(_leaf_check(spec, f"v{index}", index, self.namespace))
            elif spec.kind == OBJECT:
                self._object(spec, index)
            elif spec.kind == LIST:
                self._list(spec, index)
        self._emit([f"result = {{{', '.join(items)}}}", *batches, "return result"])
        body = "\n".join(self.lines)
        namespace = self.namespace
        exec(compile(body, f"<compiled selection of {selection.typename}>", "exec"), namespace)
        compiled: Compiled = namespace["compiled"]
        return compiled

    def _emit(self, lines: list[str], indent: int = 1) -> None:
        self.lines.extend("    " * indent + line for line in lines)

    def _read(self, spec: Spec, index: int) -> str:
        read = spec.read
        if read is itself:
            return "source"
        if isinstance(read, str) and read.isidentifier() and not keyword.iskeyword(read):
            return f"source.{read}"
        if isinstance(read, str):
            self.namespace[f"a{index}"] = read
            return f"getattr(source, a{index})"
        self.namespace[f"g{index}"] = read
        return f"g{index}(source)"

    def _sub(self, spec: Spec, index: int) -> tuple[str, bool]:
        """The name of the sub-selection's function, and whether it needs a path."""
        assert spec.sub is not None
        self.namespace[f"s{index}"] = compile_selection(spec.sub, self.resolve)
        if spec.check is not None:
            self.namespace[f"t{index}"] = spec.check
        return f"s{index}", spec.sub.uses_path

    def _object(self, spec: Spec, index: int) -> None:
        value = f"v{index}"
        sub, uses_path = self._sub(spec, index)
        path = f"tuple_new(Path, (path, {spec.name!r}, {spec.typename!r}))" if uses_path else "None"
        lines = [
            f"if {value} is None:",
            "    pass" if spec.nullable else "    raise Slow",
            # Already JSON, rendered for this selection (``schema/rendering.py``).
            f"elif type({value}) is Fragment:",
            "    pass",
            f"elif {value} is RESOLVE or {value} is Undefined or (",
            f"    type({value}) not in NEVER_AWAITABLE and executor.awaitable({value})",
            "):",
            "    raise Slow",
        ]
        if spec.check is not None:
            lines += [f"elif t{index}({value}, None) is not True:", "    raise Slow"]
        lines += ["else:", f"    {value} = {sub}({value}, {path}, executor, args[{index}])"]
        self._emit(lines)

    def _list(self, spec: Spec, index: int) -> None:
        value = f"v{index}"
        sub, uses_path = self._sub(spec, index)
        # Paths (a NamedTuple, whose ``__new__`` is Python code) built by ``tuple.__new__``.
        item_path = "tuple_new(Path, (items_path, position, None))" if uses_path else "None"
        item = [
            "if item is None:",
            "    completed.append(None)" if spec.item_nullable else "    raise Slow",
            "    continue",
        ]
        if spec.check is not None:
            item += [f"if t{index}(item, None) is not True:", "    raise Slow"]
        item.append(f"completed.append({sub}(item, {item_path}, executor, item_args))")
        loop = [
            "completed = []",
            f"item_args = args[{index}]",
            *(
                [f"items_path = tuple_new(Path, (path, {spec.name!r}, {spec.typename!r}))"]
                if uses_path
                else []
            ),
            f"for position, item in enumerate({value}):",
            *(f"    {line}" for line in item),
        ]
        lines = [
            f"if {value} is None:",
            "    pass" if spec.nullable else "    raise Slow",
            f"elif type({value}) is not list_type and type({value}) is not tuple_type:",
            "    raise Slow",
            "else:",
        ]
        if spec.memo:
            # Menus share their tuples between learners (``services/menus.py``): a tuple
            # of frozen dataclasses completes to the same dicts each time.
            lines += [
                # ``CompletingContext.memo_get``, inlined: once per learner.
                f"    hit = None if type({value}) is not tuple_type else "
                f"executor._memo.get((id({value}), {sub}))",
                f"    if hit is not None and hit[0] is {value}:",
                f"        {value} = list(hit[1])",
                "    else:",
                *(f"        {line}" for line in loop),
                f"        if type({value}) is tuple_type:",
                f"            executor.memo_put({sub}, {value}, completed)",
                f"        {value} = completed",
            ]
        else:
            lines += [*(f"    {line}" for line in loop), f"    {value} = completed"]
        self._emit(lines)


def _leaf_check(spec: Spec, value: str, index: int, namespace: dict[str, Any]) -> list[str]:
    exact = spec.exact
    if exact is int:
        bad = f"type({value}) is not int or not INT_MIN <= {value} <= INT_MAX"
    elif exact is not None:
        bad = f"type({value}) is not {exact.__name__}"
    else:
        namespace[f"c{index}"] = spec.leaf
        namespace[f"e{index}"] = _members(spec.leaf)
        coerce = [
            f"if {value} is RESOLVE:",
            "    raise Slow",
            f"known = e{index}.get(id({value}))",
            f"if known is not None and known[0] is {value}:",
            f"    {value} = known[1]",
            "else:",
            f"    {value} = leaf_output(c{index}, {value})",
            f"    if {value} is None:",
            "        raise Slow",
        ]
        if spec.nullable:
            return [f"if {value} is not None:", *(f"    {line}" for line in coerce)]
        return [f"if {value} is None:", "    raise Slow", *coerce]
    if spec.nullable:
        return [f"if {value} is not None and ({bad}):", "    raise Slow"]
    return [f"if {value} is None or {bad}:", "    raise Slow"]
