"""Relay global IDs: ``base64("Type:pk")``, checked for the expected type."""

from __future__ import annotations

import base64
import binascii
import functools

from lms_graph.errors import BadInput


@functools.lru_cache(maxsize=16_384)
def to_global_id(type_name: str, pk: int) -> str:
    # Cached: a dashboard page encodes the same few hundred IDs on every request.
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID into type name and primary key; a malformed ID is BAD_USER_INPUT."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_pk = base64.urlsafe_b64decode(padded).decode().partition(":")
        pk = int(raw_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"{global_id!r} is not a valid ID.") from None
    if not type_name or pk < 1:
        raise BadInput(f"{global_id!r} is not a valid ID.")
    return type_name, pk


def decode_id(global_id: str, expected_type: str) -> int:
    """The primary key of an ID that must name ``expected_type``."""
    type_name, pk = from_global_id(global_id)
    if type_name != expected_type:
        raise BadInput(f"{global_id!r} is not the ID of a {expected_type}.")
    return pk
