"""What the executor keeps between requests, each with its bound:

- ``shared_plans(schema)``: plans by schema and selection (``plans.py``), at most
  ``SHARED_PLANS_SIZE`` per schema, dropped with the schema;
- ``DIRECTIVE_VARIABLES``: the variables each operation's directives read, by operation
  node (``IdentityCache``, as are a request's own plans and memo in ``plans.py``);
- ``NEVER_AWAITABLE``: the types of object values found never awaitable;
- ``is_frozen``: whether a type's values are frozen dataclasses, whose completed lists a
  request may keep (``CompletingContext.memo_put``).
"""

from __future__ import annotations

from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from graphql import GraphQLSchema
from graphql.execution.collect_fields import GroupedFieldSet

from lms_graph.caches import IdentityCache

if TYPE_CHECKING:
    from lms_graph.schema.execution.plans import ObjectPlan

SHARED_PLANS_SIZE = 1024

SharedPlans = dict[tuple[Any, ...], tuple[GroupedFieldSet, "ObjectPlan"]]
_SHARED_PLANS: WeakKeyDictionary[GraphQLSchema, SharedPlans] = WeakKeyDictionary()


def shared_plans(schema: GraphQLSchema) -> SharedPlans:
    """Plans by selection, shared by the requests of a process: a dashboard sends the
    same few documents, parsed once (``documents.py``), so their field nodes are the same
    objects from one request to the next. A plan keeps its grouped fields (and with them
    the nodes its key names by ID) alive."""
    return _SHARED_PLANS.setdefault(schema, {})


DIRECTIVE_VARIABLES: IdentityCache[tuple[str, ...]] = IdentityCache(SHARED_PLANS_SIZE)
"""The variables an operation's directives read, by operation node."""


NEVER_AWAITABLE: set[type] = set()
"""Types whose values cannot be awaited (``await`` looks at the type, not the instance),
met as object values: records and plugins' objects, checked once per type."""


def never_awaitable(cls: type) -> None:
    """Remembers ``cls`` in ``NEVER_AWAITABLE``, a value of it having been found not
    awaitable, unless another of its values could be."""
    if (
        not issubclass(cls, CoroutineType | GeneratorType)
        and not hasattr(cls, "__await__")
        and len(NEVER_AWAITABLE) < 1024
    ):
        NEVER_AWAITABLE.add(cls)


_FROZEN: dict[type, bool] = {}


def is_frozen(cls: type) -> bool:
    """Whether instances of ``cls`` are frozen dataclasses (their fields never change)."""
    found = _FROZEN.get(cls)
    if found is None:
        params = getattr(cls, "__dataclass_params__", None)
        found = _FROZEN[cls] = params is not None and bool(params.frozen)
    return found
