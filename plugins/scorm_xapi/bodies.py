"""JSON as the xAPI and SCORM routes take it in and give it back.

In: bodies (and the ``agent`` parameter) are parsed by orjson, which refuses what is
not JSON (``NaN``, ``Infinity``, a number past a double's range such as ``1e999``, a
lone UTF-16 surrogate) and never recurses without bound; then at most ``MAX_DEPTH``
levels of objects and lists are accepted, and no NUL character in a key or a string
(PostgreSQL's text cannot hold one). Each refusal is a ``BadInput`` (400) and nothing
is stored.

Out: ``dumps`` writes any stored value, even one kept before these rules (a ``NaN``
becomes ``null``): what was stored never makes a read fail.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from lms_graph import BadInput

MAX_DEPTH = 32
"""Levels of objects and lists in a body: a statement with a SubStatement, context
activities and extensions needs about a dozen."""


_TOO_DEEP = f"nests more than {MAX_DEPTH} levels of objects and lists"
_NOT_FINITE = re.compile(r"\b(NaN|Infinity)\b")


class _Refused(Exception):
    def __init__(self, problem: str, *, located: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.located = located
        self.where: list[str] = []


def _check(value: Any, depth: int) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise _Refused("holds a NUL character (\\u0000)")
    elif isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise _Refused(_TOO_DEEP, located=False)
        for key, item in value.items():
            if "\x00" in key:
                raise _Refused("has a key holding a NUL character (\\u0000)")
            try:
                _check(item, depth + 1)
            except _Refused as refused:
                refused.where.append(f".{key}")
                raise
    elif isinstance(value, list):
        if depth > MAX_DEPTH:
            raise _Refused(_TOO_DEEP, located=False)
        for index, item in enumerate(value):
            try:
                _check(item, depth + 1)
            except _Refused as refused:
                refused.where.append(f"[{index}]")
                raise


def loads(raw: bytes | str, what: str = "The request body") -> Any:
    """The JSON value of ``raw``, checked as the module says; ``what`` names it in errors."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "depth" in str(error):
            raise BadInput(f"{what} {_TOO_DEEP}.") from None
        reason = str(error)
        if "infinity" in reason or _NOT_FINITE.search(
            raw if isinstance(raw, str) else raw.decode(errors="replace")
        ):
            reason = f"numbers must be finite (NaN, Infinity and 1e999 are not JSON): {reason}"
        raise BadInput(f"{what} is not valid JSON: {reason}.") from None
    try:
        _check(value, 1)
    except _Refused as refused:
        where = "".join(reversed(refused.where)).removeprefix(".")
        at = f" (at {where})" if where and refused.located else ""
        raise BadInput(f"{what} {refused.problem}{at}.") from None
    return value


_PLAIN_DEPTH = 100
"""Deeper than this, a value kept before ``MAX_DEPTH`` is written as null."""


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` with what JSON cannot write replaced: non-finite numbers by null,
    integers past 64 bits by the nearest float (null past a double's range)."""
    if isinstance(value, dict | list) and depth >= _PLAIN_DEPTH:
        return None
    if isinstance(value, dict):
        return {key: _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        try:
            return float(value)
        except OverflowError:
            return None
    return value


def dumps(value: Any) -> bytes:
    """JSON text of ``value`` (stored statements and commits), whatever it holds."""
    try:
        return orjson.dumps(value)  # non-finite floats are written as null
    except orjson.JSONEncodeError:  # an integer past 64 bits, or too deep: kept long ago
        return json.dumps(_plain(value), separators=(",", ":")).encode()


def readable(value: Any) -> Any:
    """``value`` as ``dumps`` would write it, for the GraphQL response (``activity``)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _plain(value)
    return value
