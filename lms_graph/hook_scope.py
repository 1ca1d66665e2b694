"""What a hook implementation declares about the learners it is handed, so that a mass
action may leave it out or hand it learners read as rows.

Stack either with ``@hookimpl`` (in any order: each sets an attribute on the function
and returns it)::

    @hookimpl
    @for_course_types("ilt")
    async def lms_perform_action(ctx, learners): ...

- ``for_course_types``: the implementation answers only about learners of these course
  types (and does nothing for others): a run over other types' learners does not call
  it. Without it, an implementation concerns every course type.
- ``ignores_facts``: the implementation never reads ``MenuLearner.facts``: a run may hand
  it learners read as rows, without asking ``lms_learner_facts``.
- ``facts_in_sql(fn)``, on an ``lms_learner_facts`` implementation: the same facts as SQL
  expressions over the learner's columns, so that a page of learners the core reads
  itself carries them (a dashboard page rendered on PostgreSQL) and the implementation
  is not called for it.

They are read for ``lms_withhold_actions``, ``lms_veto_action``, ``lms_action_reach``,
``lms_perform_action`` and ``lms_learner_facts`` (``services.mass_claims``), and
``ignores_facts`` for an action's ``run`` and ``not_applicable`` too. The plugin
manager wraps each implementation with ``functools.wraps``, which copies the function's
attributes: what is declared here stays readable on what pluggy calls.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

COURSE_TYPES = "lms_graph_course_types"
IGNORES_FACTS = "lms_graph_ignores_facts"
SQL_FACTS = "lms_graph_sql_facts"

SqlFacts = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""``fn(learner)``: each fact as a SQL expression over the learner's columns by name."""


def for_course_types(*course_types: str) -> Callable[[F], F]:
    """Declare that a hook implementation concerns only learners of ``course_types``."""
    if not course_types or not all(isinstance(key, str) and key for key in course_types):
        raise TypeError("for_course_types needs one course type key or more")
    declared = frozenset(course_types)

    def declare(function: F) -> F:
        setattr(function, COURSE_TYPES, declared)
        return function

    return declare


def ignores_facts(function: F) -> F:
    """Declare that a function handed ``MenuLearner``s never reads their ``facts``."""
    setattr(function, IGNORES_FACTS, True)
    return function


def facts_in_sql(fn: SqlFacts) -> Callable[[F], F]:
    """Declare, on an ``lms_learner_facts`` implementation, the facts it answers as SQL:
    ``fn(learner)`` maps each fact's name to an expression over the learner's columns
    (``learner["id"]``, ``"user_id"``, ``"course_id"``, ``"attempt_id"``,
    ``"attempt_number"``, ``"state"``), giving exactly what the implementation answers
    (a boolean ``exists()``, say). A page of learners the core reads with a query of its
    own then carries the facts, and the implementation is not called for it; everywhere
    else (mass actions, SQLite) it is."""

    def declare(function: F) -> F:
        setattr(function, SQL_FACTS, fn)
        return function

    return declare


def _declared(function: Callable[..., Any], name: str) -> Any:
    """The attribute ``name`` on ``function`` or on a function it wraps."""
    seen: Callable[..., Any] | None = function
    while seen is not None:
        value = getattr(seen, name, None)
        if value is not None:
            return value
        seen = getattr(seen, "__wrapped__", None)
    return None


def course_types_of(function: Callable[..., Any]) -> frozenset[str] | None:
    """The course types ``function`` declared (``for_course_types``), or None: every one."""
    declared: frozenset[str] | None = _declared(function, COURSE_TYPES)
    return declared


def concerns(function: Callable[..., Any], course_types: Collection[str]) -> bool:
    """Whether ``function`` may answer about learners of ``course_types``."""
    declared = course_types_of(function)
    return declared is None or not declared.isdisjoint(course_types)


def reads_facts(function: Callable[..., Any]) -> bool:
    """Whether ``function`` may read ``MenuLearner.facts`` (it did not say otherwise)."""
    return _declared(function, IGNORES_FACTS) is not True


def sql_facts_of(function: Callable[..., Any]) -> SqlFacts | None:
    """The SQL ``function`` declared for its facts (``facts_in_sql``), or None."""
    declared: SqlFacts | None = _declared(function, SQL_FACTS)
    return declared
