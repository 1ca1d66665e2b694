"""xAPI documents over HTTP (issue 18; xAPI 1.0.3 Communication 2.2-2.7): State, Activity
Profile and Agent Profile (bytes and content type, ETags, concurrency, JSON merge,
listings, ``since``, DELETE), the Activities and Agents resources, and State tied to the
learner's attempt (registration, Reset, Remove, ``Enrollment.xapiState``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select

from lms_graph.core import LMS
from lms_graph_plugins.scorm_xapi.documents import registration_of
from lms_graph_plugins.scorm_xapi.tables import xapi_documents
from tests.helpers import Actor, GraphQLClient, World
from tests.test_actions import one_outcome, run
from tests.test_xapi_lrs import VERSION, auth, iris, post, statement, xapi_learner

STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
ACTIVITY = "https://example.com/activities/forklift"
ENROLLMENT_STATE = """
query ($id: ID!) {
  enrollment(id: $id) {
    xapiRegistration
    xapiState { stateId activityId registration contentType etag size text }
  }
}
"""


def agent(actor: Actor) -> str:
    return json.dumps({"objectType": "Agent", "mbox": f"mailto:{actor.user.email}"})


def state_params(actor: Actor, **extra: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": agent(actor), **extra}


async def documents(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(xapi_documents))).scalar_one()
        )


async def put_state(
    client: AsyncClient,
    actor: Actor,
    state_id: str,
    content: bytes,
    content_type: str = "application/json",
    by: Actor | None = None,
    **extra: str,
) -> Response:
    return await client.put(
        STATE,
        params=state_params(actor, stateId=state_id, **extra),
        content=content,
        headers={**auth(by or actor), "Content-Type": content_type},
    )


def error_code(response: Response) -> str:
    return str(response.json()["code"])


# --- State ----------------------------------------------------------------------------------


async def test_state_round_trip_keeps_bytes_content_type_and_etag(
    client: AsyncClient, world: World
) -> None:
    learner = await world.user("Lena Learner")
    content = bytes(range(256))
    put = await put_state(client, learner, "blob", content, "application/octet-stream")
    assert put.status_code == 204, put.text
    assert put.headers["X-Experience-API-Version"] == "1.0.3"
    got = await client.get(
        STATE, params=state_params(learner, stateId="blob"), headers=auth(learner)
    )
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["etag"] == f'"{hashlib.sha1(content).hexdigest()}"'
    assert "last-modified" in got.headers
    assert "X-Experience-API-Consistent-Through" in got.headers
    head = await client.head(
        STATE, params=state_params(learner, stateId="blob"), headers=auth(learner)
    )
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    missing = await client.get(
        STATE, params=state_params(learner, stateId="nothing"), headers=auth(learner)
    )
    assert missing.status_code == 404
    assert "X-Experience-API-Consistent-Through" in missing.headers
    assert missing.headers["X-Experience-API-Version"] == "1.0.3"


async def test_state_post_merges_json_objects_one_level_deep(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    learner = await world.user("Lena Learner")
    await put_state(client, learner, "s", b'{"page": 1, "answers": {"q1": "a"}, "keep": true}')
    merged = await client.post(
        STATE,
        params=state_params(learner, stateId="s"),
        json={"page": 2, "answers": {"q2": "b"}},
        headers=auth(learner),
    )
    assert merged.status_code == 204
    got = await client.get(STATE, params=state_params(learner, stateId="s"), headers=auth(learner))
    assert got.json() == {"page": 2, "answers": {"q2": "b"}, "keep": True}
    before = got.content
    for content, content_type in ((b"plain", "text/plain"), (b"[1, 2]", "application/json")):
        refused = await client.post(
            STATE,
            params=state_params(learner, stateId="s"),
            content=content,
            headers={**auth(learner), "Content-Type": content_type},
        )
        assert refused.status_code == 400, content
        assert error_code(refused) == "BAD_USER_INPUT"
    again = await client.get(
        STATE, params=state_params(learner, stateId="s"), headers=auth(learner)
    )
    assert again.content == before
    # over a document that is not JSON, a POST is refused too
    await put_state(client, learner, "t", b"text", "text/plain")
    refused = await client.post(
        STATE, params=state_params(learner, stateId="t"), json={"a": 1}, headers=auth(learner)
    )
    assert refused.status_code == 400
    assert await documents(lms) == 2


async def test_state_listing_since_and_delete_of_one_registration(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    learner = await world.user("Lena Learner")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for state_id in ("a", "b"):
        await put_state(client, learner, state_id, b"{}", registration=first)
    await put_state(client, learner, "c", b"{}", registration=second)
    await put_state(client, learner, "d", b"{}")

    async def ids(**extra: str) -> Any:
        response = await client.get(
            STATE, params=state_params(learner, **extra), headers=auth(learner)
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert await ids(registration=first) == ["a", "b"]
    assert await ids(registration=second) == ["c"]
    assert await ids() == ["d"]
    assert await ids(registration=first, since="2999-01-01T00:00:00Z") == []
    assert await ids(registration=first, since="2000-01-01T00:00:00Z") == ["a", "b"]
    gone = await client.delete(
        STATE, params=state_params(learner, registration=first), headers=auth(learner)
    )
    assert gone.status_code == 204
    assert await ids(registration=first) == []
    assert await ids(registration=second) == ["c"]
    one = await client.delete(
        STATE, params=state_params(learner, stateId="d"), headers=auth(learner)
    )
    assert one.status_code == 204
    assert await documents(lms) == 1


async def test_state_bad_requests_are_400_and_store_nothing(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    learner = await world.user("Lena Learner")
    good = state_params(learner, stateId="s")
    for params in (
        {"agent": agent(learner), "stateId": "s"},
        {"activityId": ACTIVITY, "stateId": "s"},
        {**good, "agent": "{not json"},
        {**good, "agent": json.dumps({"name": "no identifier"})},
        {**good, "activityId": "not an iri"},
        {**good, "registration": "not-a-uuid"},
        {**good, "colour": "red"},
        {**good, "since": "2000-01-01T00:00:00Z"},
    ):
        response = await client.put(STATE, params=params, json={"a": 1}, headers=auth(learner))
        assert response.status_code == 400, params
        assert error_code(response) == "BAD_USER_INPUT"
    long_agent = json.dumps({"mbox": f"mailto:{'a' * 1100}@example.com"})
    admin = await world.admin()  # may write anyone's: the checks come before the database
    refused = await client.put(
        STATE, params={**good, "agent": long_agent}, json={}, headers=auth(admin)
    )
    assert refused.status_code == 400
    long_type = await put_state(client, learner, "s", b"x", "text/plain; x=" + "y" * 300)
    assert long_type.status_code == 400
    not_finite = await client.post(
        STATE,
        params=good,
        content=b'{"a": NaN}',
        headers={**auth(learner), "Content-Type": "application/json"},
    )
    assert not_finite.status_code == 400
    no_version = await client.put(
        STATE, params=good, json={}, headers={"Authorization": f"Bearer {learner.token}"}
    )
    assert no_version.status_code == 400
    anonymous = await client.put(STATE, params=good, json={}, headers=VERSION)
    assert anonymous.status_code == 401
    too_big = await client.put(
        STATE,
        params=good,
        content=b"x" * (1024 * 1024 + 1),
        headers={**auth(learner), "Content-Type": "text/plain"},
    )
    assert too_big.status_code == 413
    assert await documents(lms) == 0


async def test_learners_use_only_their_own_documents(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    learner = await world.user("Lena Learner")
    other = await world.user("Olga Other")
    admin = await world.admin()
    refused = await put_state(client, learner, "s", b"{}", by=other)
    assert refused.status_code == 403
    assert error_code(refused) == "FORBIDDEN"
    assert (await put_state(client, learner, "s", b"{}", by=admin)).status_code == 204
    read = await client.get(STATE, params=state_params(learner, stateId="s"), headers=auth(other))
    assert read.status_code == 403
    profile = {"agent": agent(learner), "profileId": "p"}
    refused = await client.put(
        AGENT_PROFILE, params=profile, json={}, headers={**auth(other), "If-None-Match": "*"}
    )
    assert refused.status_code == 403
    # Activity profiles: everybody reads them, administrators write them.
    activity = {"activityId": ACTIVITY, "profileId": "p"}
    refused = await client.put(
        ACTIVITY_PROFILE, params=activity, json={}, headers={**auth(learner), "If-None-Match": "*"}
    )
    assert refused.status_code == 403
    written = await client.put(
        ACTIVITY_PROFILE,
        params=activity,
        json={"x": 1},
        headers={**auth(admin), "If-None-Match": "*"},
    )
    assert written.status_code == 204
    read = await client.get(ACTIVITY_PROFILE, params=activity, headers=auth(learner))
    assert read.status_code == 200
    assert read.json() == {"x": 1}
    assert await documents(lms) == 2


# --- profiles: concurrency -----------------------------------------------------------------


async def test_profile_put_follows_the_concurrency_rules(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    params = {"activityId": ACTIVITY, "profileId": "p"}

    async def put(body: Any, **headers: str) -> Response:
        return await client.put(
            ACTIVITY_PROFILE, params=params, json=body, headers={**auth(admin), **headers}
        )

    missing_header = await put({"v": 1})
    assert missing_header.status_code == 400
    assert (await put({"v": 1}, **{"If-None-Match": "*"})).status_code == 204
    got = await client.get(ACTIVITY_PROFILE, params=params, headers=auth(admin))
    etag = got.headers["etag"]
    assert etag == f'"{hashlib.sha1(got.content).hexdigest()}"'
    exists = await put({"v": 2}, **{"If-None-Match": "*"})
    assert exists.status_code == 412
    assert error_code(exists) == "PRECONDITION_FAILED"
    conflict = await put({"v": 2})
    assert conflict.status_code == 409
    assert error_code(conflict) == "CONFLICT"
    stale = await put({"v": 2}, **{"If-Match": '"0000000000000000000000000000000000000000"'})
    assert stale.status_code == 412
    assert (await client.get(ACTIVITY_PROFILE, params=params, headers=auth(admin))).json() == {
        "v": 1
    }
    assert (await put({"v": 2}, **{"If-Match": etag})).status_code == 204
    assert (await client.get(ACTIVITY_PROFILE, params=params, headers=auth(admin))).json() == {
        "v": 2
    }
    refused = await client.delete(
        ACTIVITY_PROFILE, params=params, headers={**auth(admin), "If-Match": etag}
    )
    assert refused.status_code == 412
    assert await documents(lms) == 1
    assert (
        await client.delete(ACTIVITY_PROFILE, params=params, headers=auth(admin))
    ).status_code == 204
    assert await documents(lms) == 0


async def test_agent_profile_listing_and_since(client: AsyncClient, world: World) -> None:
    learner = await world.user("Lena Learner")
    for profile_id in ("one", "two"):
        response = await client.post(
            AGENT_PROFILE,
            params={"agent": agent(learner), "profileId": profile_id},
            json={"id": profile_id},
            headers=auth(learner),
        )
        assert response.status_code == 204
    listed = await client.get(
        AGENT_PROFILE, params={"agent": agent(learner)}, headers=auth(learner)
    )
    assert listed.json() == ["one", "two"]
    later = await client.get(
        AGENT_PROFILE,
        params={"agent": agent(learner), "since": "2999-01-01T00:00:00Z"},
        headers=auth(learner),
    )
    assert later.json() == []
    whole = await client.delete(
        AGENT_PROFILE, params={"agent": agent(learner)}, headers=auth(learner)
    )
    assert whole.status_code == 400  # profiles go one at a time


# --- Activities and Agents ---------------------------------------------------------------------


async def test_activities_merge_definitions_from_statements(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    for language, name in (("en-US", "Forklift"), ("fr-FR", "Chariot")):
        body = statement(admin, "experienced", ACTIVITY)
        body["object"]["definition"] = {"name": {language: name}}
        assert (await post(client, admin, body)).status_code == 200
    got = await client.get("/xapi/activities", params={"activityId": ACTIVITY}, headers=auth(admin))
    assert got.status_code == 200
    assert got.json() == {
        "objectType": "Activity",
        "id": ACTIVITY,
        "definition": {"name": {"en-US": "Forklift", "fr-FR": "Chariot"}},
    }
    unknown = await client.get(
        "/xapi/activities", params={"activityId": "https://example.com/x"}, headers=auth(admin)
    )
    assert unknown.json() == {"objectType": "Activity", "id": "https://example.com/x"}
    missing = await client.get("/xapi/activities", headers=auth(admin))
    assert missing.status_code == 400


async def test_agents_answer_the_person_object(client: AsyncClient, world: World) -> None:
    learner = await world.user("Lena Learner")
    person = {"objectType": "Agent", "name": "Lena", "mbox": f"mailto:{learner.user.email}"}
    got = await client.get(
        "/xapi/agents", params={"agent": json.dumps(person)}, headers=auth(learner)
    )
    assert got.status_code == 200
    assert got.json() == {"objectType": "Person", "name": ["Lena"], "mbox": [person["mbox"]]}
    for bad in ("{not json", json.dumps({"name": "no identifier"})):
        refused = await client.get("/xapi/agents", params={"agent": bad}, headers=auth(learner))
        assert refused.status_code == 400
    assert (await client.get("/xapi/agents", headers=auth(learner))).status_code == 400


# --- State and the learner's attempt -------------------------------------------------------------


async def test_state_belongs_to_the_attempt_reset_clears_it_remove_deletes_it(
    client: AsyncClient, world: World, gql: GraphQLClient, lms: LMS
) -> None:
    admin, learner, course, enrollment_id = await xapi_learner(world)
    course_iri, _ = await iris(gql, course, admin)
    data = await gql.data(ENROLLMENT_STATE, {"id": enrollment_id}, token=admin.token)
    registration = data["enrollment"]["xapiRegistration"]
    assert uuid.UUID(registration)

    async def save(state_id: str, **extra: str) -> None:
        response = await client.put(
            STATE,
            params={
                "activityId": course_iri,
                "agent": agent(learner),
                "stateId": state_id,
                **extra,
            },
            json={"bookmark": state_id},
            headers=auth(learner),
        )
        assert response.status_code == 204, response.text

    await save("resume", registration=registration)
    await save("other-registration", registration=str(uuid.uuid4()))
    data = await gql.data(ENROLLMENT_STATE, {"id": enrollment_id}, token=admin.token)
    [shown] = data["enrollment"]["xapiState"]
    assert shown["stateId"] == "resume"
    assert shown["registration"] == registration
    assert shown["text"] == '{"bookmark":"resume"}'
    assert shown["contentType"] == "application/json"
    denied = await gql(ENROLLMENT_STATE, {"id": enrollment_id}, learner.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # A reset of a learner in progress keeps the attempt (and registration) but clears its
    # state: the content starts over.
    await post(client, learner, statement(learner, "launched", course_iri))
    one_outcome(await run(gql, admin, "reset_progress", [enrollment_id]))
    data = await gql.data(ENROLLMENT_STATE, {"id": enrollment_id}, token=admin.token)
    assert data["enrollment"]["xapiRegistration"] == registration
    assert data["enrollment"]["xapiState"] == []
    params = {"activityId": course_iri, "agent": agent(learner), "registration": registration}
    listed = await client.get(STATE, params=params, headers=auth(learner))
    assert listed.json() == []

    # A completed learner's reset starts a new attempt: a new registration, nothing to
    # resume; the completed attempt keeps its state with its record.
    await save("resume", registration=registration)
    await post(client, learner, statement(learner, "completed", course_iri))
    one_outcome(await run(gql, admin, "reset_progress", [enrollment_id]))
    data = await gql.data(ENROLLMENT_STATE, {"id": enrollment_id}, token=admin.token)
    fresh = data["enrollment"]["xapiRegistration"]
    assert fresh != registration
    assert data["enrollment"]["xapiState"] == []
    listed = await client.get(
        STATE, params={**params, "registration": fresh}, headers=auth(learner)
    )
    assert listed.json() == []
    await save("fresh", registration=fresh)
    data = await gql.data(ENROLLMENT_STATE, {"id": enrollment_id}, token=admin.token)
    assert [d["stateId"] for d in data["enrollment"]["xapiState"]] == ["fresh"]
    assert await documents(lms) == 3
    one_outcome(await run(gql, admin, "remove", [enrollment_id]))
    # Remove deletes every document tied to the enrollment (any registration)
    assert await documents(lms) == 0


def test_a_registration_is_a_uuid_per_attempt() -> None:
    assert uuid.UUID(registration_of(1)) != uuid.UUID(registration_of(2))
    assert registration_of(7) == registration_of(7)
