"""``IdentityCache``: values kept by the identity of an object, not by its value.

The executor, the document cache and the pagination keep things per parsed document,
per selection or per statement object: objects that are large to hash or compare, but
that are the very same objects from one request to the next (documents are parsed once,
statements built once). A dict keyed by ``id(obj)`` finds them cheaply, but an id is
given to a new object once the old one is freed. Each entry therefore holds its object
(so that its id is not reused while the entry stands), and a hit counts only when it
holds the very object asked about.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum
from typing import Final, Generic, Literal, TypeVar

V = TypeVar("V")


class _Missing(Enum):
    MISSING = "missing"


MISSING: Final = _Missing.MISSING
"""What ``IdentityCache.get`` answers when it holds nothing (values may be None)."""

Missing = Literal[_Missing.MISSING]


class IdentityCache(Generic[V]):
    """Values by (an object's identity, an optional hashable key beside it).

    ``size``: at most that many entries; when full, the cache is emptied (``lru=True``:
    the least recently used entry leaves instead). None: unbounded, for a cache that
    lives as long as one request.
    """

    __slots__ = ("_entries", "lru", "size")

    def __init__(self, size: int | None = None, *, lru: bool = False) -> None:
        self._entries: dict[tuple[int, Hashable], tuple[object, V]] = {}
        self.size = size
        self.lru = lru

    def get(self, obj: object, key: Hashable = None) -> V | Missing:
        """The value kept for ``obj`` itself (and ``key``), or ``MISSING``."""
        entry_key = (id(obj), key)
        found = self._entries.get(entry_key)
        if found is None or found[0] is not obj:
            return MISSING
        if self.lru:
            del self._entries[entry_key]
            self._entries[entry_key] = found
        return found[1]

    def put(self, obj: object, value: V, key: Hashable = None) -> V:
        """Keeps ``value`` for ``obj`` (and ``key``), and ``obj`` alive with it."""
        entries = self._entries
        entry_key = (id(obj), key)
        entries.pop(entry_key, None)
        if self.size is not None and len(entries) >= self.size:
            if self.lru:
                del entries[next(iter(entries))]
            else:
                entries.clear()
        entries[entry_key] = (obj, value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
