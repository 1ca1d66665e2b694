"""xAPI 1.0.3 statement validation: a pure module (no database, no HTTP).

``check_statement`` raises ``StatementError`` naming the first problem with its path
(``statement.result.score.scaled: ...``); the LRS answers it as a 400 and stores
nothing of the batch. The rules follow the Data part of xAPI 1.0.3 (section 2.2
onwards): properties, types, the Agent/Group identifier rules, IRIs, language
maps, ISO 8601 timestamps and durations, score bounds, context rules, voiding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"
)
_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?:{_NUMBER}W|(?=.)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}D)?"
    rf"(?:T(?=.)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?)$"
)
"""ISO 8601 durations: weeks stand alone (``P4W``; ``P4W1D`` is not one)."""
_VERSION = re.compile(r"^1\.0(\.\d+)?$")

STATEMENT_KEYS = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }
)
SUBSTATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_COMPONENTS_OF = {
    "choice": ("choices",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "matching": ("source", "target"),
    "performance": ("steps",),
}
"""Which interaction component lists each interactionType may carry."""
_CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")


class StatementError(ValueError):
    """A statement breaks a rule of xAPI 1.0.3; the message names where."""


def _fail(path: str, message: str) -> StatementError:
    return StatementError(f"{path}: {message}")


# --- primitives --------------------------------------------------------------------------


def _object(value: Any, path: str, allowed: frozenset[str] | tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be a JSON object.")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _fail(path, f"has no property {', '.join(map(repr, unknown))}.")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string.")
    return value


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI.match(value))


def _iri(value: Any, path: str) -> str:
    if not is_iri(value):
        raise _fail(path, "must be an absolute IRI (e.g. https://example.com/verbs/x).")
    return str(value)


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _uuid(value: Any, path: str) -> str:
    if not is_uuid(value):
        raise _fail(path, "must be a UUID (8-4-4-4-12 hexadecimal digits).")
    return str(value).lower()


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false.")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "must be a number.")
    return float(value)


def _language_map(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, 'must be a language map, e.g. {"en-US": "completed"}.')
    for tag, text in value.items():
        if not _LANGUAGE.match(tag):
            raise _fail(f"{path}.{tag}", "is not an RFC 5646 language tag.")
        _string(text, f"{path}.{tag}")


def _extensions(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, "must be a JSON object keyed by IRIs.")
    for key in value:
        _iri(key, f"{path}[{key!r}]")


def parse_timestamp(value: Any, path: str = "timestamp") -> dt.datetime:
    """An ISO 8601 date and time with a UTC offset (``Z`` or ``+hh:mm``), as aware UTC."""
    text = _string(value, path)
    match = _TIMESTAMP.match(text)
    if not match:
        raise _fail(
            path, "must be an ISO 8601 timestamp with an offset, e.g. 2026-01-31T10:00:00Z."
        )
    if match.group(3) in ("-00:00", "-0000", "-00"):
        raise _fail(path, "must not use the offset -00:00.")
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise _fail(path, "is not a valid date and time.") from None
    return parsed.astimezone(dt.UTC)


def _duration(value: Any, path: str) -> None:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise _fail(path, "must be an ISO 8601 duration, e.g. PT1H30M or PT45.5S.")


# --- agents and groups ---------------------------------------------------------------------


def _ifis(value: dict[str, Any], path: str) -> list[str]:
    present = [key for key in IFIS if key in value]
    for key in present:
        item = value[key]
        where = f"{path}.{key}"
        if key == "mbox":
            if not isinstance(item, str) or not re.match(r"^mailto:[^@\s]+@[^@\s]+$", item):
                raise _fail(where, "must be a mailto: IRI, e.g. mailto:ada@example.com.")
        elif key == "mbox_sha1sum":
            if not isinstance(item, str) or not _SHA1.match(item):
                raise _fail(where, "must be the SHA-1 of a mailto: IRI (40 hexadecimal digits).")
        elif key == "openid":
            _iri(item, where)
        else:
            account = _object(item, where, ("homePage", "name"))
            if "homePage" not in account or "name" not in account:
                raise _fail(where, "needs both homePage and name.")
            _iri(account["homePage"], f"{where}.homePage")
            _string(account["name"], f"{where}.name")
    return present


def check_agent(value: Any, path: str, *, group_allowed: bool = True) -> None:
    """An Agent (exactly one identifier) or, when allowed, a Group."""
    if isinstance(value, dict) and value.get("objectType") == "Group":
        if not group_allowed:
            raise _fail(path, "must be an Agent, not a Group.")
        check_group(value, path)
        return
    agent = _object(value, path, ("objectType", "name", *IFIS))
    if agent.get("objectType", "Agent") != "Agent":
        raise _fail(f"{path}.objectType", "must be 'Agent' or 'Group'.")
    if "name" in agent:
        _string(agent["name"], f"{path}.name")
    if len(_ifis(agent, path)) != 1:
        raise _fail(
            path, "an Agent needs exactly one identifier: mbox, mbox_sha1sum, openid or account."
        )


def check_group(value: Any, path: str) -> None:
    """A Group: identified (exactly one identifier) or anonymous (members, no identifier)."""
    group = _object(value, path, ("objectType", "name", "member", *IFIS))
    if group.get("objectType") != "Group":
        raise _fail(f"{path}.objectType", "must be 'Group'.")
    if "name" in group:
        _string(group["name"], f"{path}.name")
    identifiers = _ifis(group, path)
    if len(identifiers) > 1:
        raise _fail(path, "a Group has at most one identifier.")
    members = group.get("member")
    if members is None:
        if not identifiers:
            raise _fail(path, "an anonymous Group (no identifier) must list its members.")
        return
    if not isinstance(members, list):
        raise _fail(f"{path}.member", "must be a list of Agents.")
    if not identifiers and not members:
        raise _fail(f"{path}.member", "an anonymous Group must have at least one member.")
    for index, member in enumerate(members):
        check_agent(member, f"{path}.member[{index}]", group_allowed=False)


def _authority(value: Any, path: str) -> None:
    check_agent(value, path)
    if value.get("objectType") == "Group":
        members = value.get("member")
        if not isinstance(members, list) or len(members) != 2:
            raise _fail(path, "a Group authority must have exactly two Agent members (OAuth).")
        if any(key in value for key in IFIS):
            raise _fail(path, "a Group authority is anonymous (OAuth): it has no identifier.")


# --- verbs, objects ----------------------------------------------------------------------


def _verb(value: Any, path: str) -> str:
    verb = _object(value, path, ("id", "display"))
    if "id" not in verb:
        raise _fail(path, "needs an id (an IRI).")
    _iri(verb["id"], f"{path}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display")
    return str(verb["id"])


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, "must be a list of interaction components.")
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        component = _object(item, where, ("id", "description"))
        identifier = _string(component.get("id"), f"{where}.id")
        if identifier in seen:
            raise _fail(f"{where}.id", f"{identifier!r} is listed twice.")
        seen.add(identifier)
        if "description" in component:
            _language_map(component["description"], f"{where}.description")


def _definition(value: Any, path: str) -> None:
    keys = (
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        *_COMPONENT_LISTS,
    )
    definition = _object(value, path, keys)
    for key in ("name", "description"):
        if key in definition:
            _language_map(definition[key], f"{path}.{key}")
    for key in ("type", "moreInfo"):
        if key in definition:
            _iri(definition[key], f"{path}.{key}")
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{path}.extensions")
    interaction = definition.get("interactionType")
    if interaction is not None and (
        not isinstance(interaction, str) or interaction not in INTERACTION_TYPES
    ):
        raise _fail(
            f"{path}.interactionType", f"must be one of {', '.join(sorted(INTERACTION_TYPES))}."
        )
    if "correctResponsesPattern" in definition:
        if interaction is None:
            raise _fail(f"{path}.correctResponsesPattern", "needs an interactionType.")
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            raise _fail(f"{path}.correctResponsesPattern", "must be a list of strings.")
    for key in _COMPONENT_LISTS:
        if key in definition:
            if interaction is None:
                raise _fail(f"{path}.{key}", "needs an interactionType.")
            if key not in _COMPONENTS_OF.get(interaction, ()):
                raise _fail(f"{path}.{key}", f"is not used by a {interaction!r} interaction.")
            _components(definition[key], f"{path}.{key}")


def check_activity(value: Any, path: str) -> str:
    activity = _object(value, path, ("objectType", "id", "definition"))
    if activity.get("objectType", "Activity") != "Activity":
        raise _fail(f"{path}.objectType", "must be 'Activity'.")
    if "id" not in activity:
        raise _fail(path, "an Activity needs an id (an IRI).")
    _iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        _definition(activity["definition"], f"{path}.definition")
    return str(activity["id"])


def _statement_ref(value: Any, path: str) -> str:
    ref = _object(value, path, ("objectType", "id"))
    if ref.get("objectType") != "StatementRef":
        raise _fail(f"{path}.objectType", "must be 'StatementRef'.")
    return _uuid(ref.get("id"), f"{path}.id")


def object_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("objectType", "Activity"))
    return "Activity"


def _object_of(value: Any, path: str, *, in_substatement: bool) -> None:
    kind = object_type(value)
    if kind == "Activity":
        check_activity(value, path)
    elif kind in ("Agent", "Group"):
        check_agent(value, path)
    elif kind == "StatementRef":
        _statement_ref(value, path)
    elif kind == "SubStatement":
        if in_substatement:
            raise _fail(path, "a SubStatement cannot hold another SubStatement.")
        _substatement(value, path)
    else:
        raise _fail(
            f"{path}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement."
        )


# --- result, context, attachments --------------------------------------------------------


def _score(value: Any, path: str) -> None:
    score = _object(value, path, ("scaled", "raw", "min", "max"))
    numbers = {key: _number(score[key], f"{path}.{key}") for key in score}
    scaled = numbers.get("scaled")
    if scaled is not None and not -1 <= scaled <= 1:
        raise _fail(f"{path}.scaled", "must be between -1 and 1.")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and low >= high:
        raise _fail(path, "min must be less than max.")
    if raw is not None and low is not None and raw < low:
        raise _fail(f"{path}.raw", "must not be below min.")
    if raw is not None and high is not None and raw > high:
        raise _fail(f"{path}.raw", "must not be above max.")


def _result(value: Any, path: str) -> None:
    result = _object(
        value, path, ("score", "success", "completion", "response", "duration", "extensions")
    )
    if "score" in result:
        _score(result["score"], f"{path}.score")
    for key in ("success", "completion"):
        if key in result:
            _bool(result[key], f"{path}.{key}")
    if "response" in result:
        _string(result["response"], f"{path}.response")
    if "duration" in result:
        _duration(result["duration"], f"{path}.duration")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions")


def _context_activities(value: Any, path: str) -> None:
    activities = _object(value, path, _CONTEXT_ACTIVITY_KEYS)
    for key, item in activities.items():
        items = item if isinstance(item, list) else [item]
        for index, activity in enumerate(items):
            check_activity(activity, f"{path}.{key}[{index}]")


def _context(value: Any, path: str, statement_object: Any) -> None:
    context = _object(
        value,
        path,
        (
            "registration",
            "instructor",
            "team",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
        ),
    )
    if "registration" in context:
        _uuid(context["registration"], f"{path}.registration")
    if "instructor" in context:
        check_agent(context["instructor"], f"{path}.instructor")
    if "team" in context:
        if object_type(context["team"]) != "Group":
            raise _fail(f"{path}.team", "must be a Group.")
        check_group(context["team"], f"{path}.team")
    if "contextActivities" in context:
        _context_activities(context["contextActivities"], f"{path}.contextActivities")
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], f"{path}.{key}")
            if object_type(statement_object) != "Activity":
                raise _fail(f"{path}.{key}", "is only allowed when the object is an Activity.")
    if "language" in context:
        language = _string(context["language"], f"{path}.language")
        if not _LANGUAGE.match(language):
            raise _fail(f"{path}.language", "is not an RFC 5646 language tag.")
    if "statement" in context:
        _statement_ref(context["statement"], f"{path}.statement")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions")


def _attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, "must be a list.")
    keys = ("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl")
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        attachment = _object(item, where, keys)
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in attachment:
                raise _fail(where, f"needs {key}.")
        _iri(attachment["usageType"], f"{where}.usageType")
        _language_map(attachment["display"], f"{where}.display")
        if "description" in attachment:
            _language_map(attachment["description"], f"{where}.description")
        _string(attachment["contentType"], f"{where}.contentType")
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise _fail(f"{where}.length", "must be a whole number of bytes.")
        _string(attachment["sha2"], f"{where}.sha2")
        if "fileUrl" in attachment:
            _iri(attachment["fileUrl"], f"{where}.fileUrl")


# --- statements ----------------------------------------------------------------------------


def _body(statement: dict[str, Any], path: str, *, in_substatement: bool) -> None:
    for key in ("actor", "verb", "object"):
        if key not in statement:
            raise _fail(path, f"needs {key}.")
    check_agent(statement["actor"], f"{path}.actor")
    _verb(statement["verb"], f"{path}.verb")
    _object_of(statement["object"], f"{path}.object", in_substatement=in_substatement)
    if "result" in statement:
        _result(statement["result"], f"{path}.result")
    if "context" in statement:
        _context(statement["context"], f"{path}.context", statement["object"])
    if "timestamp" in statement:
        parse_timestamp(statement["timestamp"], f"{path}.timestamp")
    if "attachments" in statement:
        _attachments(statement["attachments"], f"{path}.attachments")


def _substatement(value: Any, path: str) -> None:
    statement = _object(value, path, SUBSTATEMENT_KEYS)
    _body(statement, path, in_substatement=True)


def check_statement(value: Any, path: str = "statement") -> None:
    """Raise ``StatementError`` unless ``value`` is a valid xAPI 1.0.3 statement."""
    statement = _object(value, path, STATEMENT_KEYS)
    if "id" in statement:
        _uuid(statement["id"], f"{path}.id")
    _body(statement, path, in_substatement=False)
    if "stored" in statement:
        parse_timestamp(statement["stored"], f"{path}.stored")
    if "authority" in statement:
        _authority(statement["authority"], f"{path}.authority")
    if "version" in statement:
        version = statement["version"]
        if not isinstance(version, str) or not _VERSION.match(version):
            raise _fail(f"{path}.version", "must be 1.0 or 1.0.x.")
    if statement["verb"]["id"] == VOIDED and object_type(statement["object"]) != "StatementRef":
        raise _fail(f"{path}.object", "a voiding statement's object must be a StatementRef.")


# --- what the LRS derives from a valid statement -------------------------------------------


def actor_key(agent: Mapping[str, Any]) -> str | None:
    """The agent's identifier as one string (``mbox:mailto:a@b``), for filtering; None for an
    anonymous Group."""
    for key in IFIS:
        if key in agent:
            value = agent[key]
            if key == "account":
                return f"account:{value['homePage']}|{value['name']}"
            if key == "mbox":
                return f"mbox:{str(value).lower()}"
            return f"{key}:{value}"
    return None


def signature(statement: Mapping[str, Any]) -> str:
    """What makes two statements with one id "the same" (xAPI 1.0.3 statement comparison):
    the content without the properties the LRS sets (``id``, ``stored``, ``authority``,
    ``version``)."""
    content = {
        key: value
        for key, value in statement.items()
        if key not in ("id", "stored", "authority", "version")
    }
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def normalized(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The statement as the LRS keeps it: each context activity list a list, even when
    one Activity was sent alone (xAPI 1.0.3, Data 2.4.6.2), in a SubStatement too."""
    out = dict(statement)
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        activities = {
            key: item if isinstance(item, list) else [item]
            for key, item in context["contextActivities"].items()
        }
        out["context"] = {**context, "contextActivities": activities}
    obj = out.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        out["object"] = normalized(obj)
    return out


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: dt.datetime) -> str:
    """``2026-01-31T10:00:00.123Z``: UTC, milliseconds."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
