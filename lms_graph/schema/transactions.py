"""Mutations run again when their transaction was aborted (``lms_graph.retries``).

Each root mutation field is its own unit of work: graphql-core runs them one after
another, so a deadlock in the second does not repeat the first. The request's
loaders are replaced before a new run, so it reads nothing the failed run had cached.
Plugins' mutations are covered too: they are fields of the same root type.
"""

from __future__ import annotations

import inspect
from typing import Any

from graphql import GraphQLFieldResolver, GraphQLResolveInfo, GraphQLSchema

from lms_graph.retries import retrying


def run_mutations_again(schema: GraphQLSchema) -> None:
    """Wrap the resolver of every root mutation field in ``retrying``."""
    if schema.mutation_type is None:
        return
    for field in schema.mutation_type.fields.values():
        if field.resolve is not None:
            field.resolve = _retried(field.resolve)


def _retried(resolve: GraphQLFieldResolver) -> GraphQLFieldResolver:
    async def resolve_again(root: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        async def run() -> Any:
            result = resolve(root, info, **arguments)
            return await result if inspect.isawaitable(result) else result

        return await retrying(run, before_retry=info.context.fresh_loaders)

    return resolve_again
