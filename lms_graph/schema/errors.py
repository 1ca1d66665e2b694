"""Turning exceptions into GraphQL errors with ``extensions.code``, masking the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import SchemaExtension

from lms_graph import metrics
from lms_graph.errors import LMSError, PluginError
from lms_graph.retries import TryAgain, overloaded

logger = logging.getLogger("lms_graph.graphql")

UNEXPECTED = "Unexpected error. It has been logged."
PLUGIN_FAILED = "A plugin failed while handling this request. It has been logged."


def _with_code(error: GraphQLError, message: str, code: str, **extra: object) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**extra, "code": code},
    )


def _bad_variable(error: GraphQLError) -> bool:
    """A variable's value that cannot be coerced to its type (a date that does not exist,
    an unknown enum value, a string for an Int, a missing required one): graphql-core
    reports it on the variable's definition, wrapping the reason. It is the client's
    input, not a document the schema refuses (CONTRACT section 11)."""
    reason = error.original_error
    return (
        isinstance(reason, GraphQLError)
        and not isinstance(reason.original_error, LMSError)
        and any(isinstance(node, VariableDefinitionNode) for node in error.nodes or ())
    )


def present(error: GraphQLError, *, production: bool) -> GraphQLError:
    original = error.original_error
    if _bad_variable(error):  # the message names the variable: keep it
        return _with_code(error, error.message, "BAD_USER_INPUT")
    if original is None:
        code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
        return _with_code(error, error.message, str(code))
    if isinstance(original, LMSError):
        return _with_code(error, original.message, original.code, **original.extensions)
    if isinstance(original, PluginError):
        return _with_code(error, PLUGIN_FAILED, "INTERNAL_SERVER_ERROR")
    if isinstance(original, GraphQLError):
        return present(original, production=production)
    if overloaded(original):  # no pooled connection came in time: not a fault
        return _with_code(error, TryAgain().message, TryAgain.code)
    logger.error("unexpected error in %s", error.path, exc_info=original)
    message = UNEXPECTED if production else f"{UNEXPECTED} ({type(original).__name__})"
    return _with_code(error, message, "INTERNAL_SERVER_ERROR")


class ErrorCodes(SchemaExtension):
    """Every error leaves with a code and a sentence; internals never leave."""

    production = False

    def on_operation(self) -> Iterator[None]:
        metrics.observe_operation(self.execution_context)  # its type and codes, at the end
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [present(e, production=self.production) for e in result.errors]
