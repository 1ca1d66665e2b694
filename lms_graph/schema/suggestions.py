"""No "Did you mean" in production (CONTRACT section 11), for any kind of name.

graphql-core suggests names in two places, each with a ``hide_suggestions`` switch:
validation (unknown fields, arguments, types, enum values and input fields written in
the document: ``documents.py`` passes the switch to ``validate``) and execution (the
same in the values of variables: ``QuietExecutionContext`` passes it on). Directives are
never suggested.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.execution import Executor

from lms_graph.schema.execution import FastExecutionContext


class QuietExecutionContext(FastExecutionContext):
    """The production executor: ``FastExecutionContext``, without suggestions."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)
