"""A graphql-core executor that reads plain fields straight off the records.

graphql-core resolves every field the same way: a ``ResolveInfo``, the resolver
(strawberry's wrapper around ``getattr`` for a field without one), then
``complete_value``. For a page of 100 learners that is a few thousand calls that
each do almost nothing, and they were most of a request's time.

``FastExecutionContext`` takes a *fast* field's value directly: a field strawberry
resolves by reading an attribute (the attribute), one declaring ``from_parent(fn)``
(``fn(parent)``, or its resolver when ``fn`` answers ``RESOLVE``), ``__typename``; and
a ``batched(fn)`` field for all its parents at once. Everything else, and every value
that would be an error, goes through graphql-core's own code, so results, errors and
their paths are the same. Nothing here knows a particular type: plugins' types take
the same path. One module per idea:

- ``fields.py``: what is known of a field without calling it (strawberry's marks,
  the public metadata ``from_parent``, ``batched``, ``INFO_FREE``, which plugins
  import from ``lms_graph.fields``);
- ``plans.py``: each selection set planned once (per process for the documents a
  dashboard sends again and again, per request otherwise);
- ``compiled.py``: a selection made only of fast fields, as Python generated for it;
- ``completion.py``: running a plan or compiled code over an object, completing the
  values, the ``ResolveInfo`` built only when something reads it;
- ``batching.py``: batched fields, run once the rest of the operation has;
- ``caches.py``: what is kept between requests, and its bounds.
"""

from __future__ import annotations

from lms_graph.fields import (
    BATCHED,
    FROM_PARENT,
    INFO_FREE,
    RESOLVE,
    BatchFn,
    Resolve,
    batched,
    from_parent,
)
from lms_graph.schema.execution.batching import BatchingContext

__all__ = [
    "BATCHED",
    "FROM_PARENT",
    "INFO_FREE",
    "RESOLVE",
    "BatchFn",
    "FastExecutionContext",
    "Resolve",
    "batched",
    "from_parent",
]


class FastExecutionContext(BatchingContext):
    """strawberry's execution context, with fast fields taken without a resolver call
    (``execution_context_class`` of ``LMSSchema``)."""
