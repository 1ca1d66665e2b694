"""What a statement names anywhere, for the broad filters of GET /xapi/statements.

``related_activities=true`` matches an activity as the object, in the context activities,
or in a SubStatement's; ``related_agents=true`` an agent (or identified group) as the
actor, the object, the authority, the instructor, the team, or in a SubStatement's
(xAPI 1.0.3, Communication 2.1.3). Keys are those of ``actor_key`` for agents and the
activity id for activities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lms_graph_plugins.scorm_xapi.statements import actor_key, object_type

ACTIVITY = "activity"
AGENT = "agent"
MAX_KEY = 1024


def _agents(value: Any, found: set[tuple[str, str]]) -> None:
    if not isinstance(value, Mapping):
        return
    key = actor_key(value)
    if key is not None and len(key) <= MAX_KEY:
        found.add((AGENT, key))
    for member in value.get("member") or []:
        _agents(member, found)


def _activity(value: Any, found: set[tuple[str, str]]) -> None:
    identifier = value.get("id") if isinstance(value, Mapping) else None
    if isinstance(identifier, str) and len(identifier) <= MAX_KEY:
        found.add((ACTIVITY, identifier))


def _walk(statement: Mapping[str, Any], found: set[tuple[str, str]]) -> None:
    _agents(statement.get("actor"), found)
    _agents(statement.get("authority"), found)
    obj = statement.get("object")
    kind = object_type(obj)
    if kind == "Activity":
        _activity(obj, found)
    elif kind in ("Agent", "Group"):
        _agents(obj, found)
    elif kind == "SubStatement" and isinstance(obj, Mapping):
        _walk(obj, found)
    context = statement.get("context")
    if isinstance(context, Mapping):
        _agents(context.get("instructor"), found)
        _agents(context.get("team"), found)
        activities = context.get("contextActivities")
        if isinstance(activities, Mapping):
            for items in activities.values():
                for item in items if isinstance(items, list) else [items]:
                    _activity(item, found)


def links_of(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    _walk(statement, found)
    return sorted(found)


def ref_of(statement: Mapping[str, Any]) -> str | None:
    """The id a StatementRef object points at."""
    obj = statement.get("object")
    if object_type(obj) == "StatementRef" and isinstance(obj, Mapping):
        return str(obj.get("id", "")).lower() or None
    return None
