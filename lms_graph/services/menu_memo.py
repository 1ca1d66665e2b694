"""Menus worked out once per distinct learner, exactly: each rule's reads are traced.

A menu is a function of what its actions' rules read of a learner (they are pure
functions of the ``MenuLearner``). The first learner of a kind is shown to the rules as
a ``_Probe``, which notes every field read and every fact looked up; any later learner
with the same values in those fields and facts makes every rule take the same path, so
it gets the same menu without a rule being called. A rule that reads a learner's
``enrollment_id`` or a fact each learner holds differently thus gets one menu per
learner, and a page of learners in a few states, a few menus.

Facts are traced key by key (``get``, ``[]``, ``in``); anything else done with the
mapping (iterating it, its length, comparing it) makes the learner's facts object part
of the key, i.e. that learner's menu their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from lms_graph.values import ActionDefinition, MenuLearner

Menu = tuple[ActionDefinition, ...]
_FIELDS = tuple(field.name for field in dataclasses.fields(MenuLearner))
_MISSING = object()


class _Reads:
    """What rules read of one learner while their menu was worked out."""

    __slots__ = ("facts", "fields", "whole_facts")

    def __init__(self) -> None:
        self.fields: dict[str, None] = {}
        self.facts: dict[str, None] = {}
        self.whole_facts = False


class _FactsProbe(Mapping[str, Any]):
    """A learner's facts that note which keys were looked up."""

    __slots__ = ("_facts", "_reads")

    def __init__(self, facts: Mapping[str, Any], reads: _Reads) -> None:
        self._facts = facts
        self._reads = reads

    def __getitem__(self, key: str) -> Any:
        self._reads.facts[key] = None
        return self._facts[key]

    def get(self, key: str, default: Any = None) -> Any:
        self._reads.facts[key] = None
        return self._facts.get(key, default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            self._reads.whole_facts = True
        else:
            self._reads.facts[key] = None
        return key in self._facts

    def __iter__(self) -> Iterator[str]:
        self._reads.whole_facts = True
        return iter(self._facts)

    def __len__(self) -> int:
        self._reads.whole_facts = True
        return len(self._facts)

    def __eq__(self, other: object) -> bool:
        self._reads.whole_facts = True
        return self._facts == other

    __hash__ = None  # type: ignore[assignment]


class _Probe(MenuLearner):
    """A ``MenuLearner`` that notes the fields rules read (slots, as its base)."""

    __slots__ = ("_reads",)

    def __getattribute__(self, name: str) -> Any:
        if name in _TRACED:
            reads: _Reads = object.__getattribute__(self, "_reads")
            reads.fields[name] = None
            if name == "facts":
                return _FactsProbe(object.__getattribute__(self, "facts"), reads)
        return object.__getattribute__(self, name)


_TRACED = frozenset(_FIELDS)


def _probe(learner: MenuLearner, reads: _Reads) -> _Probe:
    probe = _Probe(**{name: getattr(learner, name) for name in _FIELDS})
    object.__setattr__(probe, "_reads", reads)
    return probe


Key = Callable[[MenuLearner], Hashable]
Reads = tuple[tuple[str, ...], tuple[str, ...], bool]
"""Fields read, facts looked up, whether the facts were used as a whole."""


def _key_of(reads: Reads) -> Key:
    """The values a learner must share with the traced one to get the same menu. Fact
    values count with their type (``1`` and ``True`` are equal keys, yet ``is True``
    tells them apart); each field has one type (``menus.learners_of`` makes them so)."""
    names, keys, whole_facts = reads
    fields: Callable[[MenuLearner], Any] = attrgetter(*names) if names else lambda _: ()
    if whole_facts:
        return lambda learner: (fields(learner), id(learner.facts))
    if not keys:
        return fields

    def key(learner: MenuLearner) -> Hashable:
        facts = learner.facts
        values = [facts.get(name, _MISSING) for name in keys]
        return (fields(learner), tuple((type(value), value) for value in values))

    return key


RowKey = Callable[[Sequence[Any]], Hashable]


def _constant(_row: Sequence[Any]) -> Hashable:
    return ()


def _row_key(indexes: tuple[int, ...]) -> RowKey:
    """The row's values at ``indexes`` (a tuple but for one index; () for none)."""
    return itemgetter(*indexes) if indexes else _constant


class MenuMemo:
    """The menus of one course type's actions for the learners of one request (the
    facts keyed by identity live as long as the learners handed in)."""

    __slots__ = ("actions", "interned", "known")

    def __init__(
        self,
        actions: Sequence[ActionDefinition],
        interned: dict[tuple[int, ...], Menu] | None = None,
    ) -> None:
        self.actions = [action for action in actions if action.in_menu]
        self.known: dict[Reads, tuple[Key, dict[Hashable, Menu]]] = {}
        self.interned: dict[tuple[int, ...], Menu] = {} if interned is None else interned
        """Each distinct menu once (by its actions' ids: they live as long as the LMS),
        so that learners with the same menu share one tuple, which the executor
        completes once per request (``FastExecutionContext._list``); memos of one
        request may share it."""

    def menu(self, learner: MenuLearner) -> Menu:
        """The learner's menu in display order, from a learner seen alike if any."""
        try:
            for key, menus in self.known.values():
                found = menus.get(key(learner))
                if found is not None:
                    return found
        except TypeError:  # an unhashable fact's value: this learner's menu is their own
            return self._traced(learner)[1]
        reads, found = self._traced(learner)
        entry = self.known.get(reads)
        if entry is None:
            entry = self.known[reads] = (_key_of(reads), {})
        with contextlib.suppress(TypeError):
            entry[1][entry[0](learner)] = found
        return found

    def menus_of_rows(
        self,
        rows: Sequence[Sequence[Any]],
        columns: Mapping[str, int],
        learner_of: Callable[[Sequence[Any]], MenuLearner],
    ) -> list[Menu]:
        """The menus of learners read as rows, in row order, building a ``MenuLearner``
        (``learner_of``) only for a row the rules are traced on. ``columns``: the row's
        index of each ``MenuLearner`` field that varies from row to row, ``facts``
        included (a column whose equal values give equal facts, such as their JSON
        text); every field without a column must be the same for all the rows."""
        keys: dict[tuple[int, ...], tuple[RowKey, dict[Hashable, Menu]]] = {}
        # In front of them, every row seen by all the columns any rule read (a row equal
        # to another in those is equal in what each rule read of it): one lookup per row
        # once the page's few kinds of learner are seen.
        union: set[int] = set()
        seen: dict[Hashable, Menu] = {}
        seen_key: RowKey = _constant
        found: list[Menu] = []
        for row in rows:
            whole = seen_key(row)
            menu = seen.get(whole)
            if menu is None:
                for key, menus in keys.values():
                    menu = menus.get(key(row))
                    if menu is not None:
                        break
                else:
                    (names, facts_read, whole_facts), menu = self._traced(learner_of(row))
                    read = [*names, "facts"] if facts_read or whole_facts else names
                    indexes = tuple(sorted({columns[name] for name in read if name in columns}))
                    entry = keys.get(indexes)
                    if entry is None:
                        entry = keys[indexes] = (_row_key(indexes), {})
                    entry[1][entry[0](row)] = menu
                    if not union.issuperset(indexes):
                        union.update(indexes)
                        seen, seen_key = {}, _row_key(tuple(sorted(union)))
                        whole = seen_key(row)
                seen[whole] = menu
            found.append(menu)
        return found

    def _traced(self, learner: MenuLearner) -> tuple[Reads, Menu]:
        seen = _Reads()
        probe = _probe(learner, seen)
        found = tuple(action for action in self.actions if action.applies(probe))
        found = self.interned.setdefault(tuple(map(id, found)), found)
        names = tuple(sorted(name for name in seen.fields if name != "facts"))
        return (names, tuple(sorted(seen.facts)), seen.whole_facts), found
