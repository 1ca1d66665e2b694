"""The Activities and Agents resources (xAPI 1.0.3, Communication 2.4 and 2.5).

- An Activity: its id and the definition the LRS holds for it, merged from every stored
  statement whose object it is (oldest first: later values win, language maps add up).
- A Person: every identifier and name the LRS knows for an agent, each as a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from lms_graph import SQLExecutor
from lms_graph_plugins.scorm_xapi.tables import xapi_statements

MAX_DEFINITIONS = 1000
"""Statements read to build a definition (the newest ones)."""
_MAPS = ("name", "description")


def merge_definition(into: dict[str, Any], definition: Mapping[str, Any]) -> None:
    for key, value in definition.items():
        mergeable = key in (*_MAPS, "extensions")
        if mergeable and isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = value


async def activity_object(db: SQLExecutor, activity_id: str) -> dict[str, Any]:
    s = xapi_statements.c
    rows = (
        await db.execute(
            select(s.body)
            .where(s.activity_id == activity_id)
            .order_by(s.id.desc())
            .limit(MAX_DEFINITIONS)
        )
    ).all()
    definition: dict[str, Any] = {}
    for row in reversed(rows):
        obj = row.body.get("object") if isinstance(row.body, dict) else None
        if isinstance(obj, dict) and isinstance(obj.get("definition"), dict):
            merge_definition(definition, obj["definition"])
    found: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        found["definition"] = definition
    return found


def person_object(agent: Mapping[str, Any]) -> dict[str, Any]:
    person: dict[str, Any] = {"objectType": "Person"}
    if isinstance(agent.get("name"), str):
        person["name"] = [agent["name"]]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            person[key] = [agent[key]]
    return person
