"""Selection sets of scalars compiled to one Python function each.

``availableActions { key label }`` on 100 learners is 1,000 small objects; walking a
plan for each costs more than reading their attributes. For a selection whose
fields are all plain leaves (see ``execution.py``), this builds, once per request
and selection, a function that reads the attributes, checks that each value is one
the scalar outputs unchanged (or coerces it) and returns the result dict. Any value
it is not sure of raises ``Slow``, and the caller takes the general path for that
object (which reports errors exactly as graphql-core does).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from graphql import GraphQLLeafType
from graphql.pyutils import Undefined

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class Slow(Exception):
    """This object needs the general path."""


class LeafField(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def getter(self) -> Callable[[Any], Any]: ...
    @property
    def leaf(self) -> GraphQLLeafType | None: ...
    @property
    def exact(self) -> type | None: ...
    @property
    def nullable(self) -> bool: ...
    @property
    def attribute(self) -> str | None: ...


_CACHE: dict[tuple[Any, ...], Callable[[Any], dict[str, Any]]] = {}
_CACHE_SIZE = 1024


def compile_leaves(
    typename: str, fields: Sequence[tuple[LeafField | None, str]], resolve: object
) -> Callable[[Any], dict[str, Any]]:
    """``fields``: (leaf field, response name) in response order; None for __typename.

    Compiled once per process for each distinct selection (the dashboard sends the
    same few documents): what the code depends on is the cache key."""
    key = (
        typename,
        resolve,
        *(
            (name, None)
            if field is None
            else (
                name,
                field.attribute or field.getter,
                field.leaf,
                field.exact,
                field.nullable,
            )
            for field, name in fields
        ),
    )
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        found = _CACHE[key] = _compile(typename, fields, resolve)
    return found


def _compile(
    typename: str, fields: Sequence[tuple[LeafField | None, str]], resolve: object
) -> Callable[[Any], dict[str, Any]]:
    namespace: dict[str, Any] = {
        "Slow": Slow,
        "Undefined": Undefined,
        "RESOLVE": resolve,
        "typename": typename,
        "INT_MIN": INT_MIN,
        "INT_MAX": INT_MAX,
    }
    reads: list[str] = []
    checks: list[str] = []
    items: list[str] = []
    for index, (field, response_name) in enumerate(fields):
        key = repr(response_name)
        if field is None:
            items.append(f"{key}: typename")
            continue
        value = f"v{index}"
        attribute = field.attribute
        if attribute is not None and attribute.isidentifier() and not keyword.iskeyword(attribute):
            reads.append(f"{value} = source.{attribute}")
        else:
            namespace[f"g{index}"] = field.getter
            reads.append(f"{value} = g{index}(source)")
        checks.extend(_check(field, value, index, namespace))
        items.append(f"{key}: {value}")
    body = "\n".join(
        [
            "def compiled(source):",
            "    try:",
            *(f"        {line}" for line in reads or ["pass"]),
            "    except Exception:",
            "        raise Slow from None",
            *(f"    {line}" for line in checks),
            f"    return {{{', '.join(items)}}}",
        ]
    )
    exec(compile(body, f"<compiled selection of {typename}>", "exec"), namespace)
    compiled: Callable[[Any], dict[str, Any]] = namespace["compiled"]
    return compiled


def _check(field: LeafField, value: str, index: int, namespace: dict[str, Any]) -> list[str]:
    exact = field.exact
    none = f"{value} is None"
    if exact is int:
        bad = f"type({value}) is not int or not INT_MIN <= {value} <= INT_MAX"
    elif exact is not None:
        bad = f"type({value}) is not {exact.__name__}"
    else:
        assert field.leaf is not None
        namespace[f"c{index}"] = field.leaf.coerce_output_value
        coerce = [
            f"if {value} is RESOLVE or {value} is Undefined or isinstance({value}, Exception):",
            "    raise Slow",
            "try:",
            f"    {value} = c{index}({value})",
            "except Exception:",
            "    raise Slow from None",
            f"if {value} is None or {value} is Undefined:",
            "    raise Slow",
        ]
        if field.nullable:
            return [f"if {value} is not None:", *(f"    {line}" for line in coerce)]
        return [f"if {value} is None:", "    raise Slow", *coerce]
    if field.nullable:
        return [f"if {value} is not None and ({bad}):", "    raise Slow"]
    return [f"if {none} or {bad}:", "    raise Slow"]
