"""The ``format`` of returned statements (xAPI 1.0.3, Communication 2.1.3).

- ``exact``: as stored.
- ``ids``: Agents and Groups by their identifier (anonymous Groups by their members'),
  Activities by id, Verbs by id, in the statement and its SubStatement alike.
- ``canonical``: every language map reduced to one language, the best match of the
  request's ``Accept-Language`` (else the first the map holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lms_graph_plugins.scorm_xapi.statements import IFIS

FORMATS = ("exact", "ids", "canonical")
_LANGUAGE_MAPS = ("display", "name", "description")


def accepted_languages(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, best first (``*`` and q=0 left out)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _one_language(value: dict[str, Any], languages: Sequence[str]) -> dict[str, Any]:
    if not value:
        return value
    lowered = {key.lower(): key for key in value}
    for wanted in languages:  # an exact match of any accepted language first
        if wanted in lowered:
            return {lowered[wanted]: value[lowered[wanted]]}
    for wanted in languages:  # then the same primary language (en-GB takes en-US)
        for key_lower, key in lowered.items():
            if key_lower.split("-")[0] == wanted.split("-")[0]:
                return {key: value[key]}
    first = next(iter(value))
    return {first: value[first]}


def _canonical(value: Any, languages: Sequence[str]) -> Any:
    if isinstance(value, list):
        return [_canonical(item, languages) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _LANGUAGE_MAPS and isinstance(item, dict):
            out[key] = _one_language(item, languages)
        elif key in ("extensions", "account", "score"):
            out[key] = item
        else:
            out[key] = _canonical(item, languages)
    return out


def _agent_ids(agent: Any) -> Any:
    if not isinstance(agent, dict):
        return agent
    kept = {k: v for k, v in agent.items() if k == "objectType" or k in IFIS}
    if "member" in agent and not any(k in agent for k in IFIS):
        kept["member"] = [_agent_ids(member) for member in agent["member"]]
    return kept


def _activity_ids(activity: Any) -> Any:
    return {"id": activity["id"]} if isinstance(activity, dict) and "id" in activity else activity


def _ids(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    for key in ("actor", "authority"):
        if key in out:
            out[key] = _agent_ids(out[key])
    if isinstance(out.get("verb"), dict):
        out["verb"] = {"id": out["verb"]["id"]}
    obj = out.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = _activity_ids(obj)
        elif kind in ("Agent", "Group"):
            out["object"] = _agent_ids(obj)
        elif kind == "SubStatement":
            out["object"] = _ids(obj)
    context = out.get("context")
    if isinstance(context, dict):
        context = dict(context)
        for key in ("instructor", "team"):
            if key in context:
                context[key] = _agent_ids(context[key])
        activities = context.get("contextActivities")
        if isinstance(activities, dict):
            context["contextActivities"] = {
                key: [_activity_ids(a) for a in (items if isinstance(items, list) else [items])]
                for key, items in activities.items()
            }
        out["context"] = context
    return out


def shaped(body: dict[str, Any], fmt: str, languages: Sequence[str] = ()) -> dict[str, Any]:
    if fmt == "ids":
        return _ids(body)
    if fmt == "canonical":
        return dict(_canonical(body, languages))
    return body
