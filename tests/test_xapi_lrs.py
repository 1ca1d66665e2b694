"""The xAPI statement resource over HTTP (issue 7; CONTRACT section 10): version header,
validation (400, nothing stored), conflicts (409), size (413), who may send what
(403), HTTP Basic credentials, PUT, and GET by id or by filters with ``more`` paging."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select

from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from lms_graph_plugins.scorm_xapi.tables import xapi_credentials, xapi_statements
from tests.helpers import Actor, GraphQLClient, World, gid

VERSION = {"X-Experience-API-Version": "1.0.3"}
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE_IDS = """
query ($id: ID!) { course(id: $id) { activityId chapters { id title activityId } } }
"""
STATE = "query ($id: ID!) { enrollment(id: $id) { state progress } }"


def auth(actor: Actor) -> dict[str, str]:
    return {**VERSION, "Authorization": f"Bearer {actor.token}"}


def statement(actor: Actor | str, verb: str, object_id: str, **extra: Any) -> dict[str, Any]:
    email = actor if isinstance(actor, str) else actor.user.email
    body: dict[str, Any] = {
        "actor": {"objectType": "Agent", "mbox": f"mailto:{email}"},
        "verb": {"id": verb if ":" in verb else ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": object_id},
    }
    body.update(extra)
    return body


async def post(
    client: AsyncClient, actor: Actor, body: Any, headers: dict[str, str] | None = None
) -> Response:
    return await client.post(
        "/xapi/statements", json=body, headers=headers if headers is not None else auth(actor)
    )


async def stored(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(xapi_statements))).scalar_one()
        )


async def iris(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> tuple[str, list[str]]:
    data = await gql.data(COURSE_IDS, {"id": gid("Course", course.id)}, token=viewer.token)
    return data["course"]["activityId"], [c["activityId"] for c in data["course"]["chapters"]]


async def state(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> tuple[str, int]:
    data = await gql.data(STATE, {"id": enrollment_id}, token=viewer.token)
    return data["enrollment"]["state"], data["enrollment"]["progress"]


async def xapi_learner(
    world: World, course_type: str = "xapi", chapters: int = 2
) -> tuple[Actor, Actor, CourseRecord, str]:
    """An admin, a learner assigned to a fresh course of ``course_type``, its enrollment ID."""
    admin = await world.admin()
    learner = await world.user("Lena Learner")
    course = await world.course("Forklift", course_type=course_type, chapters=chapters)
    [pk] = await world.assign(course, [learner], by=admin)
    return admin, learner, course, gid("Enrollment", pk)


# --- headers -----------------------------------------------------------------------------


async def test_about_needs_no_credentials_and_names_the_version(client: AsyncClient) -> None:
    response = await client.get("/xapi/about")
    assert response.status_code == 200
    assert response.json() == {"version": ["1.0.3"], "extensions": {}}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


async def test_version_header_is_required(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    body = statement(learner, "launched", course_iri)
    bearer = {"Authorization": f"Bearer {learner.token}"}
    missing = await post(client, learner, body, headers=bearer)
    assert missing.status_code == 400
    assert "X-Experience-API-Version" in missing.json()["error"]
    assert missing.headers["X-Experience-API-Version"] == "1.0.3"
    wrong = await post(
        client, learner, body, headers={**bearer, "X-Experience-API-Version": "0.95"}
    )
    assert wrong.status_code == 400
    get = await client.get("/xapi/statements", headers=bearer)
    assert get.status_code == 400
    assert await stored(lms) == 0
    for version in ("1.0.3", "1.0.0", "1.0"):
        ok = await post(
            client,
            learner,
            statement(learner, "launched", course_iri),
            headers={**bearer, "X-Experience-API-Version": version},
        )
        assert ok.status_code == 200, ok.text
        assert ok.headers["X-Experience-API-Version"] == "1.0.3"
        assert ok.headers["content-type"].startswith("application/json")
    assert await stored(lms) == 3


async def test_no_credentials_is_401_with_a_challenge(client: AsyncClient) -> None:
    response = await client.post("/xapi/statements", json={}, headers=VERSION)
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]
    bad = await client.get(
        "/xapi/statements", headers={**VERSION, "Authorization": "Bearer not-a-token"}
    )
    assert bad.status_code == 401


# --- POST ------------------------------------------------------------------------------


async def test_post_one_or_a_list_returns_the_ids_in_order(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, chapter_iris = await iris(gql, course, admin)
    assert course_iri == f"urn:lms-graph:course:{course.id}"
    one = await post(client, learner, statement(learner, "launched", course_iri))
    assert one.status_code == 200
    [first] = one.json()
    assert uuid.UUID(first)
    given = str(uuid.uuid4())
    many = await post(
        client,
        learner,
        [
            statement(learner, "experienced", chapter_iris[0]),
            statement(learner, "experienced", chapter_iris[1], id=given.upper()),
        ],
    )
    assert many.status_code == 200
    ids = many.json()
    assert len(ids) == 2
    assert ids[1] == given
    assert ids[0] != given
    assert await stored(lms) == 3


async def test_every_invalid_statement_is_a_400_and_the_batch_stores_nothing(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    good = statement(learner, "launched", course_iri)
    bad_cases: list[tuple[Any, str]] = [
        ({**good, "verb": {"id": "launched"}}, "verb.id"),
        ({**good, "actor": {"name": "Lena"}}, "identifier"),
        ({**good, "result": {"score": {"scaled": 2}}}, "between -1 and 1"),
        ({**good, "result": {"score": {"raw": 11, "max": 10}}}, "above max"),
        ({**good, "result": {"duration": "an hour"}}, "duration"),
        ({**good, "timestamp": "2026-01-31T10:00:00"}, "offset"),
        ({**good, "id": "not-a-uuid"}, "UUID"),
        ({**good, "mood": "happy"}, "mood"),
        ({**good, "object": {"objectType": "Thing"}}, "objectType"),
        (
            {
                **good,
                "context": {"platform": "web"},
                "object": {"objectType": "Agent", "mbox": "mailto:x@e.com"},
            },
            "only allowed when the object is an Activity",
        ),
        ([], "at least one statement"),
        ("just text", "must be a JSON object"),
    ]
    for body, reason in bad_cases:
        batch = [good, body] if isinstance(body, dict) else body
        response = await post(client, learner, batch)
        assert response.status_code == 400, (body, response.text)
        assert reason in response.json()["error"], (reason, response.json())
    same_id = str(uuid.uuid4())
    twice = await post(client, learner, [{**good, "id": same_id}, {**good, "id": same_id}])
    assert twice.status_code == 400
    assert "twice" in twice.json()["error"]
    not_json = await client.post(
        "/xapi/statements",
        content=b"{oops",
        headers={**auth(learner), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    multipart = await client.post(
        "/xapi/statements",
        content=b"--x--",
        headers={**auth(learner), "Content-Type": "multipart/mixed; boundary=x"},
    )
    assert multipart.status_code == 400
    assert await stored(lms) == 0
    assert await state(gql, enrollment_id, admin) == ("NOT_STARTED", 0)


async def test_same_id_same_content_is_kept_once_different_content_is_409(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, chapter_iris = await iris(gql, course, admin)
    identifier = str(uuid.uuid4())
    body = statement(learner, "launched", course_iri, id=identifier)
    assert (await post(client, learner, body)).status_code == 200
    again = await post(client, learner, body)
    assert again.status_code == 200
    assert again.json() == [identifier]
    assert await stored(lms) == 1
    other = statement(learner, "completed", course_iri, id=identifier)
    fresh = statement(learner, "experienced", chapter_iris[0])
    conflict = await post(client, learner, [fresh, other])
    assert conflict.status_code == 409
    assert identifier in conflict.json()["error"]
    assert await stored(lms) == 1  # the fresh one of that batch was not stored either
    put = await client.put(
        "/xapi/statements", params={"statementId": identifier}, json=other, headers=auth(learner)
    )
    assert put.status_code == 409


async def test_too_large_is_413(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    many = [statement(learner, "launched", course_iri) for _ in range(501)]
    response = await post(client, learner, many)
    assert response.status_code == 413
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    huge = statement(
        learner,
        "launched",
        course_iri,
        result={"response": "x" * (lms.settings.max_body_bytes + 10)},
    )
    assert (await post(client, learner, huge)).status_code == 413
    assert await stored(lms) == 0


# --- who may send what ---------------------------------------------------------------------


async def test_a_learner_may_only_send_statements_about_themself(
    client: AsyncClient, world: World, lms: LMS, gql: GraphQLClient
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    other = await world.user("Olga Other")
    await world.assign(course, [other], by=admin)
    course_iri, _ = await iris(gql, course, admin)
    own = statement(learner, "launched", course_iri)
    theirs = statement(other, "completed", course_iri)
    refused = await post(client, learner, [own, theirs])
    assert refused.status_code == 403
    assert "themself" in refused.json()["error"]
    group = {
        **own,
        "actor": {"objectType": "Group", "member": [{"mbox": f"mailto:{learner.user.email}"}]},
    }
    assert (await post(client, learner, group)).status_code == 403
    assert await stored(lms) == 0
    by_account = {
        **own,
        "actor": {"account": {"homePage": "urn:lms-graph:users", "name": learner.id}},
    }
    ok = await post(client, learner, [own, by_account])
    assert ok.status_code == 200
    assert await state(gql, enrollment_id, admin) == ("STARTED", 0)
    # an admin may send for anyone
    assert (await post(client, admin, theirs)).status_code == 200
    assert await stored(lms) == 3


async def test_a_learner_reads_only_their_own_statements_admins_read_all(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    other = await world.user("Olga Other")
    course_iri, _ = await iris(gql, course, admin)
    await post(client, learner, statement(learner, "launched", course_iri))
    [theirs] = (await post(client, admin, statement(other, "launched", course_iri))).json()
    mine = (await client.get("/xapi/statements", headers=auth(learner))).json()
    assert [s["actor"]["mbox"] for s in mine["statements"]] == [f"mailto:{learner.user.email}"]
    hidden = await client.get(
        "/xapi/statements", params={"statementId": theirs}, headers=auth(learner)
    )
    assert hidden.status_code == 404
    everything = (await client.get("/xapi/statements", headers=auth(admin))).json()
    assert len(everything["statements"]) == 2


# --- HTTP Basic ----------------------------------------------------------------------------

CREATE_CREDENTIAL = """
mutation ($user: ID, $label: String) {
  createXapiCredential(userId: $user, label: $label) {
    secret credential { id key label userId revokedAt }
  }
}
"""
REVOKE_CREDENTIAL = "mutation ($id: ID!) { revokeXapiCredential(id: $id) { revokedAt } }"
LIST_CREDENTIALS = "query ($id: ID!) { node(id: $id) { ... on User { xapiCredentials { key } } } }"


def basic(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {**VERSION, "Authorization": f"Basic {token}"}


async def test_http_basic_with_an_xapi_credential(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    made = (await gql.data(CREATE_CREDENTIAL, {"label": "Storyline package"}, token=learner.token))[
        "createXapiCredential"
    ]
    key, secret = made["credential"]["key"], made["secret"]
    assert made["credential"]["userId"] == learner.id
    assert made["credential"]["label"] == "Storyline package"
    async with lms.db.reader() as conn:
        hashes = (await conn.execute(select(xapi_credentials.c.secret_hash))).scalars().all()
    assert secret not in hashes  # only a hash is kept
    body = statement(learner, "launched", course_iri)
    ok = await client.post("/xapi/statements", json=body, headers=basic(key, secret))
    assert ok.status_code == 200, ok.text
    assert await state(gql, enrollment_id, admin) == ("STARTED", 0)
    stored_statement = (
        await client.get(
            "/xapi/statements", params={"statementId": ok.json()[0]}, headers=basic(key, secret)
        )
    ).json()
    assert stored_statement["authority"]["mbox"] == f"mailto:{learner.user.email}"
    wrong = await client.post("/xapi/statements", json=body, headers=basic(key, "nope"))
    assert wrong.status_code == 401
    garbled = await client.get(
        "/xapi/statements", headers={**VERSION, "Authorization": "Basic %%%"}
    )
    assert garbled.status_code == 401
    # someone else's statements stay refused with Basic too
    other = await world.user("Olga Other")
    theirs = statement(other, "launched", course_iri)
    assert (
        await client.post("/xapi/statements", json=theirs, headers=basic(key, secret))
    ).status_code == 403
    # a learner cannot make keys for others; an admin can; revoked keys stop working
    error = await gql.error(CREATE_CREDENTIAL, {"user": other.id}, token=learner.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    for_other = await gql.data(CREATE_CREDENTIAL, {"user": other.id}, token=admin.token)
    assert for_other["createXapiCredential"]["credential"]["userId"] == other.id
    listed = await gql.data(LIST_CREDENTIALS, {"id": learner.id}, token=learner.token)
    assert [c["key"] for c in listed["node"]["xapiCredentials"]] == [key]
    error = await gql.error(REVOKE_CREDENTIAL, {"id": made["credential"]["id"]}, token=other.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    revoked = await gql.data(
        REVOKE_CREDENTIAL, {"id": made["credential"]["id"]}, token=learner.token
    )
    assert revoked["revokeXapiCredential"]["revokedAt"] is not None
    after = await client.post("/xapi/statements", json=body, headers=basic(key, secret))
    assert after.status_code == 401


# --- PUT -------------------------------------------------------------------------------------


async def test_put_stores_under_the_given_id(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    identifier = str(uuid.uuid4())
    body = statement(learner, "launched", course_iri)
    put = await client.put(
        "/xapi/statements", params={"statementId": identifier}, json=body, headers=auth(learner)
    )
    assert put.status_code == 204
    assert put.headers["X-Experience-API-Version"] == "1.0.3"
    got = await client.get(
        "/xapi/statements", params={"statementId": identifier}, headers=auth(learner)
    )
    assert got.json()["id"] == identifier
    missing = await client.put("/xapi/statements", json=body, headers=auth(learner))
    assert missing.status_code == 400
    other_id = await client.put(
        "/xapi/statements",
        params={"statementId": str(uuid.uuid4())},
        json={**body, "id": str(uuid.uuid4())},
        headers=auth(learner),
    )
    assert other_id.status_code == 400
    assert await stored(lms) == 1


# --- GET ---------------------------------------------------------------------------------------


async def test_get_by_id_returns_the_stored_statement(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    body = statement(learner, "launched", course_iri, timestamp="2026-01-31T10:00:00+01:00")
    [identifier] = (await post(client, learner, body)).json()
    response = await client.get(
        "/xapi/statements", params={"statementId": identifier}, headers=auth(learner)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in response.headers
    got = response.json()
    assert got["id"] == identifier
    assert got["verb"] == body["verb"]
    assert got["object"] == body["object"]
    assert got["timestamp"] == "2026-01-31T10:00:00+01:00"
    assert got["stored"].endswith("Z")
    assert got["version"] == "1.0.0"
    assert got["authority"]["mbox"] == f"mailto:{learner.user.email}"
    ids_format = await client.get(
        "/xapi/statements",
        params={"statementId": identifier, "format": "ids"},
        headers=auth(learner),
    )
    assert ids_format.json()["verb"] == {"id": body["verb"]["id"]}
    assert (
        await client.get(
            "/xapi/statements", params={"statementId": str(uuid.uuid4())}, headers=auth(learner)
        )
    ).status_code == 404
    combined = await client.get(
        "/xapi/statements",
        params={"statementId": identifier, "verb": body["verb"]["id"]},
        headers=auth(learner),
    )
    assert combined.status_code == 400


async def test_voiding_hides_a_statement_and_voidedStatementId_finds_it(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    [target] = (await post(client, learner, statement(learner, "launched", course_iri))).json()
    voiding = {
        "actor": {"mbox": f"mailto:{learner.user.email}"},
        "verb": {"id": ADL + "voided", "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    }
    [voider] = (await post(client, learner, voiding)).json()
    get = await client.get(
        "/xapi/statements", params={"statementId": target}, headers=auth(learner)
    )
    assert get.status_code == 404
    voided = await client.get(
        "/xapi/statements", params={"voidedStatementId": target}, headers=auth(learner)
    )
    assert voided.status_code == 200
    assert voided.json()["id"] == target
    listed = (await client.get("/xapi/statements", headers=auth(learner))).json()
    assert [s["id"] for s in listed["statements"]] == [voider]
    # a voiding statement cannot itself be voided
    again = {**voiding, "object": {"objectType": "StatementRef", "id": voider}}
    assert (await post(client, learner, again)).status_code == 400


async def test_get_filters_and_more_paging(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    other = await world.user("Olga Other")
    course_iri, chapter_iris = await iris(gql, course, admin)
    registration = str(uuid.uuid4())
    [launched] = (await post(client, learner, statement(learner, "launched", course_iri))).json()
    chapter_ids = (
        await post(
            client,
            learner,
            [
                statement(
                    learner,
                    "experienced",
                    chapter_iris[i % 2],
                    context={"registration": registration},
                )
                for i in range(5)
            ],
        )
    ).json()
    [olga] = (await post(client, admin, statement(other, "launched", course_iri))).json()

    async def ids(**params: str) -> list[str]:
        response = await client.get("/xapi/statements", params=params, headers=auth(admin))
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["statements"]]

    assert await ids() == [olga, *reversed(chapter_ids), launched]
    agent = json.dumps({"mbox": f"mailto:{learner.user.email}"})
    assert await ids(agent=agent) == [*reversed(chapter_ids), launched]
    assert await ids(verb=ADL + "launched") == [olga, launched]
    assert await ids(activity=chapter_iris[0]) == [chapter_ids[4], chapter_ids[2], chapter_ids[0]]
    assert await ids(registration=registration) == list(reversed(chapter_ids))
    assert await ids(verb=ADL + "launched", ascending="true") == [launched, olga]
    everything = (await client.get("/xapi/statements", headers=auth(admin))).json()["statements"]
    stored_times = [s["stored"] for s in everything]
    assert await ids(since="2000-01-01T00:00:00Z") == await ids()
    assert await ids(until="2000-01-01T00:00:00Z") == []
    assert await ids(until=stored_times[0]) == await ids()
    # paging: more links, signed, carrying the filters
    seen: list[str] = []
    response = await client.get(
        "/xapi/statements", params={"agent": agent, "limit": "2"}, headers=auth(admin)
    )
    pages = 0
    while True:
        page = response.json()
        pages += 1
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        assert page["more"].startswith("/xapi/statements?more=")
        response = await client.get(page["more"], headers=auth(admin))
        assert response.status_code == 200
    assert pages == 3
    assert seen == [*reversed(chapter_ids), launched]
    first = (
        await client.get("/xapi/statements", params={"limit": "2"}, headers=auth(admin))
    ).json()
    tampered = first["more"][:-2] + ("00" if not first["more"].endswith("00") else "11")
    assert (await client.get(tampered, headers=auth(admin))).status_code == 400
    # another user cannot follow the admin's link
    assert (await client.get(first["more"], headers=auth(learner))).status_code == 400
    for params in (
        {"verb": "launched"},
        {"agent": "{not json"},
        {"agent": json.dumps({"name": "no identifier"})},
        {"since": "yesterday"},
        {"limit": "-1"},
        {"ascending": "maybe"},
        {"format": "pretty"},
        {"colour": "red"},
        {"related_activities": "maybe"},
    ):
        bad = await client.get("/xapi/statements", params=params, headers=auth(admin))
        assert bad.status_code == 400, params


async def test_the_agent_filter_matches_the_actor_or_the_object(
    client: AsyncClient, world: World, gql: GraphQLClient
) -> None:
    admin, learner, course, _ = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    [own] = (await post(client, learner, statement(learner, "launched", course_iri))).json()
    about = {
        "actor": {"mbox": f"mailto:{admin.user.email}"},
        "verb": {"id": "https://example.com/verbs/mentored"},
        "object": {"objectType": "Agent", "mbox": f"mailto:{learner.user.email}"},
    }
    [mentored] = (await post(client, admin, about)).json()
    await post(client, admin, statement(admin, "launched", course_iri))
    agent = json.dumps({"mbox": f"mailto:{learner.user.email}"})
    response = await client.get("/xapi/statements", params={"agent": agent}, headers=auth(admin))
    assert [s["id"] for s in response.json()["statements"]] == [mentored, own]
