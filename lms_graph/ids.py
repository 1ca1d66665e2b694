"""Relay global IDs: ``base64("Type:pk")``, checked for the expected type."""

from __future__ import annotations

import base64
import binascii
import functools

from lms_graph.errors import BadInput

MAX_PK = 2**31 - 1
"""The largest primary key: PostgreSQL's ``INTEGER``. SQLite's keys reach 2**63 - 1, but
both databases answer alike: an ID whose number is past this names nothing."""
NO_ROW = 0
"""What an ID past ``MAX_PK`` decodes to: a key no row has (keys start at 1), so every
lookup of it, on either database, finds nothing, as for any other unknown ID, instead of
sending the database a number it cannot bind."""
_SHOWN = 60
"""How much of a malformed ID an error message repeats."""


@functools.lru_cache(maxsize=16_384)
def to_global_id(type_name: str, pk: int) -> str:
    # Cached: a dashboard page encodes the same few hundred IDs on every request.
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def _shown(global_id: str) -> str:
    return repr(global_id if len(global_id) <= _SHOWN else global_id[:_SHOWN] + "...")


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID into type name and primary key; a malformed ID is BAD_USER_INPUT.

    A key past ``MAX_PK`` comes back as ``NO_ROW``: well formed, but unknown."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_pk = base64.urlsafe_b64decode(padded).decode().partition(":")
        pk = int(raw_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"{_shown(global_id)} is not a valid ID.") from None
    if not type_name or pk < 1:
        raise BadInput(f"{_shown(global_id)} is not a valid ID.")
    return type_name, pk if pk <= MAX_PK else NO_ROW


def decode_id(global_id: str, expected_type: str) -> int:
    """The primary key of an ID that must name ``expected_type`` (``NO_ROW`` past
    ``MAX_PK``: what the caller looks up is then not found)."""
    type_name, pk = from_global_id(global_id)
    if type_name != expected_type:
        raise BadInput(f"{_shown(global_id)} is not the ID of a {expected_type}.")
    return pk
