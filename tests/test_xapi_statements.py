"""xAPI 1.0.3 statement validation (plugins/scorm_xapi/statements.py): a pure module,
checked rule by rule with one valid base statement and one change per case."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from lms_graph_plugins.scorm_xapi.statements import (
    StatementError,
    actor_key,
    check_statement,
    parse_timestamp,
    signature,
)

Change = Callable[[dict[str, Any]], None]

BASE: dict[str, Any] = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {
        "objectType": "Activity",
        "id": "urn:lms-graph:course:1",
        "definition": {
            "name": {"en-US": "Course"},
            "type": "http://adlnet.gov/expapi/activities/course",
        },
    },
    "result": {
        "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
        "success": True,
        "completion": True,
        "response": "yes",
        "duration": "PT1H2M3.5S",
        "extensions": {"https://example.com/ext": {"any": 1}},
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "instructor": {"mbox": "mailto:teacher@example.com"},
        "team": {"objectType": "Group", "member": [{"mbox": "mailto:b@example.com"}]},
        "contextActivities": {
            "parent": {"id": "urn:lms-graph:course:1"},
            "grouping": [{"id": "https://example.com/program"}],
        },
        "revision": "2",
        "platform": "web",
        "language": "en-US",
        "statement": {"objectType": "StatementRef", "id": "0a9d2b2c-0a39-4b8e-9b1d-4d4d8f1a2a3b"},
        "extensions": {"https://example.com/ctx": 1},
    },
    "timestamp": "2026-01-31T10:00:00.123+01:00",
    "version": "1.0.3",
}


def _set(path: str, value: Any) -> Change:
    def change(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = statement
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _drop(path: str) -> Change:
    def change(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = statement
        for key in parents:
            target = target[key]
        del target[last]

    return change


def _apply(change: Change) -> dict[str, Any]:
    statement = copy.deepcopy(BASE)
    change(statement)
    return statement


def _replace_all(statement: dict[str, Any], value: dict[str, Any]) -> None:
    statement.clear()
    statement.update(value)


def _non_activity(value: dict[str, Any]) -> Change:
    """The object becomes ``value``; context loses revision and platform (Activity only)."""

    def change(statement: dict[str, Any]) -> None:
        statement["object"] = value
        del statement["context"]["revision"], statement["context"]["platform"]

    return change


def test_the_base_statement_is_valid() -> None:
    check_statement(copy.deepcopy(BASE))


VALID: list[tuple[str, Change]] = [
    ("no id (the LRS assigns one)", _drop("id")),
    ("upper-case UUID", _set("id", "FD41C918-B88B-4B20-A0A5-A4C32391AAA0")),
    ("agent without objectType", _set("actor", {"mbox": "mailto:a@example.com"})),
    ("agent by mbox_sha1sum", _set("actor", {"mbox_sha1sum": "a" * 40})),
    ("agent by openid", _set("actor", {"openid": "https://openid.example.com/ada"})),
    (
        "agent by account",
        _set("actor", {"account": {"homePage": "https://example.com", "name": "ada"}}),
    ),
    (
        "identified group with members",
        _set(
            "actor",
            {
                "objectType": "Group",
                "mbox": "mailto:team@example.com",
                "member": [{"mbox": "mailto:a@example.com"}],
            },
        ),
    ),
    (
        "identified group without members",
        _set("actor", {"objectType": "Group", "mbox": "mailto:team@example.com"}),
    ),
    ("verb without display", _set("verb", {"id": "http://adlnet.gov/expapi/verbs/launched"})),
    ("object without objectType is an Activity", _set("object", {"id": "https://example.com/a"})),
    ("Agent object", _non_activity({"objectType": "Agent", "mbox": "mailto:b@example.com"})),
    (
        "StatementRef object",
        _non_activity({"objectType": "StatementRef", "id": BASE["context"]["statement"]["id"]}),
    ),
    (
        "SubStatement object",
        _non_activity(
            {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:b@example.com"},
                "verb": {"id": "http://example.com/will-visit"},
                "object": {"id": "https://example.com/place"},
            },
        ),
    ),
    ("score without bounds", _set("result.score", {"raw": -7})),
    ("scaled at -1", _set("result.score", {"scaled": -1})),
    ("duration in days", _set("result.duration", "P1DT2H")),
    ("duration in weeks", _set("result.duration", "P2W")),
    ("timestamp in UTC", _set("timestamp", "2026-01-31T10:00:00Z")),
    ("timestamp without seconds fraction", _set("timestamp", "2026-01-31T10:00:00+05:30")),
    ("version 1.0", _set("version", "1.0")),
    ("authority agent", _set("authority", {"mbox": "mailto:lrs@example.com"})),
    (
        "OAuth authority group",
        _set(
            "authority",
            {
                "objectType": "Group",
                "member": [
                    {"account": {"homePage": "https://example.com/app", "name": "app"}},
                    {"mbox": "mailto:ada@example.com"},
                ],
            },
        ),
    ),
    ("stored is accepted (and overwritten)", _set("stored", "2026-01-31T10:00:00Z")),
    (
        "matching interaction with source and target",
        _set(
            "object.definition",
            {"interactionType": "matching", "source": [{"id": "1"}], "target": [{"id": "a"}]},
        ),
    ),
    (
        "interaction with choices",
        _set(
            "object.definition",
            {
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "choices": [{"id": "a", "description": {"en": "A"}}, {"id": "b"}],
            },
        ),
    ),
    (
        "voiding statement",
        lambda s: s.update(
            verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
            object={"objectType": "StatementRef", "id": BASE["id"]},
            context={},
        ),
    ),
    (
        "attachment by fileUrl",
        _set(
            "attachments",
            [
                {
                    "usageType": "http://adlnet.gov/expapi/attachments/signature",
                    "display": {"en-US": "Signature"},
                    "contentType": "application/pdf",
                    "length": 12,
                    "sha2": "abc",
                    "fileUrl": "https://example.com/sig.pdf",
                }
            ],
        ),
    ),
]


@pytest.mark.parametrize(("case", "change"), VALID, ids=[case for case, _ in VALID])
def test_valid_statement(case: str, change: Change) -> None:
    check_statement(_apply(change))


INVALID: list[tuple[str, Change, str]] = [
    ("nothing but an unknown property", lambda s: _replace_all(s, {"x": 1}), "has no property"),
    ("unknown top-level property", _set("colour", "red"), "has no property 'colour'"),
    ("id not a UUID", _set("id", "123"), "statement.id: must be a UUID"),
    ("missing actor", _drop("actor"), "needs actor"),
    ("missing verb", _drop("verb"), "needs verb"),
    ("missing object", _drop("object"), "needs object"),
    ("agent without identifier", _set("actor", {"name": "Ada"}), "exactly one identifier"),
    (
        "agent with two identifiers",
        _set("actor", {"mbox": "mailto:a@example.com", "openid": "https://x.example.com"}),
        "exactly one identifier",
    ),
    ("mbox without mailto", _set("actor", {"mbox": "a@example.com"}), "mailto:"),
    ("bad mbox_sha1sum", _set("actor", {"mbox_sha1sum": "xyz"}), "SHA-1"),
    ("openid not an IRI", _set("actor", {"openid": "not an iri"}), "IRI"),
    (
        "account without name",
        _set("actor", {"account": {"homePage": "https://example.com"}}),
        "homePage and name",
    ),
    (
        "account homePage not an IRI",
        _set("actor", {"account": {"homePage": "example", "name": "a"}}),
        "homePage: must be an absolute IRI",
    ),
    ("unknown agent property", _set("actor.age", 3), "has no property 'age'"),
    ("bad objectType", _set("actor.objectType", "Person"), "objectType"),
    (
        "anonymous group without members",
        _set("actor", {"objectType": "Group", "name": "team"}),
        "anonymous Group",
    ),
    (
        "anonymous group with no member",
        _set("actor", {"objectType": "Group", "member": []}),
        "at least one member",
    ),
    (
        "group with two identifiers",
        _set(
            "actor",
            {"objectType": "Group", "mbox": "mailto:t@example.com", "openid": "https://x.example"},
        ),
        "at most one identifier",
    ),
    (
        "group inside a group",
        _set(
            "actor",
            {
                "objectType": "Group",
                "member": [{"objectType": "Group", "mbox": "mailto:t@example.com"}],
            },
        ),
        "must be an Agent, not a Group",
    ),
    ("verb without id", _set("verb", {"display": {"en-US": "did"}}), "needs an id"),
    ("verb id not an IRI", _set("verb.id", "completed"), "verb.id: must be an absolute IRI"),
    ("verb display not a map", _set("verb.display", "completed"), "language map"),
    ("verb display bad language", _set("verb.display", {"not a tag": "x"}), "RFC 5646"),
    ("verb display value not text", _set("verb.display", {"en": 3}), "must be a string"),
    ("activity without id", _set("object", {"objectType": "Activity"}), "needs an id"),
    ("activity id not an IRI", _set("object.id", "course 1"), "object.id"),
    ("unknown objectType", _set("object", {"objectType": "Thing", "id": "x:y"}), "objectType"),
    (
        "StatementRef id not a UUID",
        _set("object", {"objectType": "StatementRef", "id": "nope"}),
        "must be a UUID",
    ),
    (
        "SubStatement inside a SubStatement",
        _set(
            "object",
            {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:b@example.com"},
                "verb": {"id": "http://example.com/v"},
                "object": {
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:b@example.com"},
                    "verb": {"id": "http://example.com/v"},
                    "object": {"id": "https://example.com/a"},
                },
            },
        ),
        "cannot hold another SubStatement",
    ),
    (
        "SubStatement with an id",
        _set(
            "object",
            {
                "objectType": "SubStatement",
                "id": BASE["id"],
                "actor": {"mbox": "mailto:b@example.com"},
                "verb": {"id": "http://example.com/v"},
                "object": {"id": "https://example.com/a"},
            },
        ),
        "has no property 'id'",
    ),
    ("definition type not an IRI", _set("object.definition.type", "course"), "type"),
    (
        "bad interactionType",
        _set("object.definition", {"interactionType": "essay"}),
        "interactionType",
    ),
    (
        "choices without interactionType",
        _set("object.definition", {"choices": [{"id": "a"}]}),
        "needs an interactionType",
    ),
    (
        "component listed twice",
        _set(
            "object.definition",
            {"interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]},
        ),
        "listed twice",
    ),
    (
        "components the interaction does not use",
        _set("object.definition", {"interactionType": "likert", "choices": [{"id": "a"}]}),
        "is not used by a 'likert' interaction",
    ),
    ("null result", _set("result", None), "result: must be a JSON object"),
    ("null timestamp", _set("timestamp", None), "timestamp: must be a string"),
    ("null display value", _set("verb.display", {"en-US": None}), "must be a string"),
    ("scaled above 1", _set("result.score.scaled", 1.5), "between -1 and 1"),
    ("scaled below -1", _set("result.score.scaled", -1.01), "between -1 and 1"),
    ("raw above max", _set("result.score.raw", 11), "above max"),
    ("raw below min", _set("result.score.raw", -1), "below min"),
    ("min not below max", _set("result.score", {"min": 5, "max": 5}), "min must be less than max"),
    ("score not a number", _set("result.score.raw", "5"), "must be a number"),
    ("score boolean", _set("result.score.raw", True), "must be a number"),
    ("unknown score property", _set("result.score.percent", 50), "has no property"),
    ("success not boolean", _set("result.success", "true"), "true or false"),
    ("completion not boolean", _set("result.completion", 1), "true or false"),
    ("response not text", _set("result.response", 1), "must be a string"),
    ("duration not ISO 8601", _set("result.duration", "1 hour"), "ISO 8601 duration"),
    ("empty duration", _set("result.duration", "P"), "ISO 8601 duration"),
    ("duration with dangling T", _set("result.duration", "P1DT"), "ISO 8601 duration"),
    ("extension key not an IRI", _set("result.extensions", {"progress": 5}), "IRI"),
    ("unknown result property", _set("result.grade", "A"), "has no property"),
    ("registration not a UUID", _set("context.registration", "r1"), "registration"),
    ("team not a group", _set("context.team", {"mbox": "mailto:a@example.com"}), "team"),
    (
        "context activity not an activity",
        _set("context.contextActivities", {"parent": [{"objectType": "Agent"}]}),
        "contextActivities.parent[0]",
    ),
    (
        "unknown context activity key",
        _set("context.contextActivities", {"sibling": []}),
        "has no property",
    ),
    (
        "revision with an Agent object",
        lambda s: s.update(
            object={"objectType": "Agent", "mbox": "mailto:b@example.com"},
            context={"revision": "2"},
        ),
        "only allowed when the object is an Activity",
    ),
    (
        "platform with a StatementRef object",
        lambda s: s.update(
            object={"objectType": "StatementRef", "id": BASE["id"]}, context={"platform": "web"}
        ),
        "only allowed when the object is an Activity",
    ),
    ("bad context language", _set("context.language", "english please"), "RFC 5646"),
    ("context statement not a ref", _set("context.statement", {"id": BASE["id"]}), "StatementRef"),
    ("timestamp without offset", _set("timestamp", "2026-01-31T10:00:00"), "with an offset"),
    ("timestamp date only", _set("timestamp", "2026-01-31"), "with an offset"),
    ("timestamp -00:00", _set("timestamp", "2026-01-31T10:00:00-00:00"), "-00:00"),
    ("timestamp impossible date", _set("timestamp", "2026-02-31T10:00:00Z"), "not a valid"),
    ("stored not a timestamp", _set("stored", "yesterday"), "stored"),
    ("version 2.0", _set("version", "2.0.0"), "1.0 or 1.0.x"),
    ("version not text", _set("version", 1.0), "1.0 or 1.0.x"),
    (
        "authority group of three",
        _set(
            "authority",
            {
                "objectType": "Group",
                "member": [
                    {"mbox": "mailto:a@example.com"},
                    {"mbox": "mailto:b@example.com"},
                    {"mbox": "mailto:c@example.com"},
                ],
            },
        ),
        "exactly two Agent members",
    ),
    (
        "voiding an activity",
        _set("verb", {"id": "http://adlnet.gov/expapi/verbs/voided"}),
        "must be a StatementRef",
    ),
    ("attachments not a list", _set("attachments", {}), "must be a list"),
    (
        "attachment fileUrl not an IRI",
        _set(
            "attachments",
            [
                {
                    "usageType": "https://e.example/u",
                    "display": {"en-US": "Notes"},
                    "contentType": "application/pdf",
                    "length": 12,
                    "sha2": "abc",
                    "fileUrl": "not an iri",
                }
            ],
        ),
        "fileUrl: must be an absolute IRI",
    ),
    ("weeks with days", _set("result.duration", "P4W1D"), "ISO 8601 duration"),
    (
        "correct responses without an interaction type",
        _set("object.definition", {"correctResponsesPattern": ["true"]}),
        "correctResponsesPattern: needs an interactionType",
    ),
    (
        "authority an identified group",
        _set(
            "authority",
            {
                "objectType": "Group",
                "mbox": "mailto:group@example.com",
                "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}],
            },
        ),
        "anonymous (OAuth)",
    ),
    (
        "attachment without length",
        _set(
            "attachments",
            [{"usageType": "https://e.example/u", "display": {}, "contentType": "x", "sha2": "a"}],
        ),
        "needs length",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "reason"), INVALID, ids=[case for case, _, _ in INVALID]
)
def test_invalid_statement(case: str, change: Change, reason: str) -> None:
    with pytest.raises(StatementError) as raised:
        check_statement(_apply(change))
    assert reason in str(raised.value)


def test_a_list_is_not_a_statement() -> None:
    with pytest.raises(StatementError, match="must be a JSON object"):
        check_statement([BASE])


def test_timestamps_are_read_as_utc() -> None:
    assert parse_timestamp("2026-01-31T10:00:00+01:00") == dt.datetime(
        2026, 1, 31, 9, tzinfo=dt.UTC
    )
    assert parse_timestamp("2026-01-31T10:00:00.5Z").microsecond == 500_000


def test_actor_key_names_the_identifier() -> None:
    assert actor_key({"mbox": "mailto:Ada@Example.com"}) == "mbox:mailto:ada@example.com"
    assert actor_key({"account": {"homePage": "https://x.example", "name": "a"}}) == (
        "account:https://x.example|a"
    )
    assert actor_key({"objectType": "Group", "member": []}) is None


def test_signature_ignores_what_the_lrs_sets() -> None:
    stored = {**BASE, "stored": "2026-02-01T00:00:00Z", "authority": {"mbox": "mailto:x@e.com"}}
    assert signature(stored) == signature(BASE)
    assert signature({**BASE, "version": "1.0.0"}) == signature(BASE)
    assert signature({**BASE, "result": {"success": False}}) != signature(BASE)
