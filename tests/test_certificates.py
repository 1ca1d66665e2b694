"""The certificates plugin (issue 6; CONTRACT sections 4, 5, 7): issued on completion,
taken back by Mark as Incomplete, kept by a reset, offered in the menu, listed on
the enrollment, downloadable as a PDF and verifiable by code."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from pypdf import PdfReader
from sqlalchemy import func, select, update

from lms_graph.core import LMS
from lms_graph_plugins.certificates.tables import certificates
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.test_actions import finish, one_outcome, run, start

ENROLLMENT = """
query ($id: ID!) {
  enrollment(id: $id) {
    id state
    attempt { number }
    availableActions { key label kind destructive confirm }
    history { action summary }
    certificates {
      id code issuedAt attemptNumber downloadUrl expiresAt revokedAt valid credits
      enrollmentId userId courseId
    }
    certificateHistory {
      code attemptNumber valid revokedAt downloadUrl revokedBy { id name }
    }
  }
}
"""
EXPIRING = """
query ($days: Int!) { certificatesExpiring(withinDays: $days) { code expiresAt userId } }
"""
VALIDITY = """
mutation ($course: ID!, $days: Int) {
  setCertificateValidity(courseId: $course, validDays: $days) { courseId validDays }
}
"""
CERTIFICATE_KEYS = {"generate_certificate", "remove_certificate"}


async def seen(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    data = await gql.data(ENROLLMENT, {"id": enrollment_id}, token=viewer.token)
    return data["enrollment"]


def menu(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


async def certificate_rows(lms: LMS, *where: Any) -> int:
    async with lms.db.reader() as conn:
        query = select(func.count()).select_from(certificates)
        if where:
            query = query.where(*where)
        return int((await conn.execute(query)).scalar_one())


async def assigned(world: World, course: Any, admin: Actor, name: str = "Lena Learner") -> Any:
    learner = await world.user(name)
    [pk] = await world.assign(course, [learner], by=admin)
    return learner, gid("Enrollment", pk)


# --- issuing -----------------------------------------------------------------------


async def test_learner_completing_every_chapter_earns_a_certificate(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course("Fire safety", quiz=True, credits=2.5)
    learner, enrollment_id = await assigned(world, course, admin)
    await start(gql, course, learner)
    assert (await seen(gql, enrollment_id, admin))["certificates"] == []

    await finish(gql, course, learner, enrollment_id)
    mine = await seen(gql, enrollment_id, learner)
    assert mine["state"] == "COMPLETED"
    [certificate] = mine["certificates"]
    assert certificate["attemptNumber"] == 1
    assert certificate["valid"] is True
    assert certificate["credits"] == 2.5
    assert certificate["expiresAt"] is None
    assert certificate["revokedAt"] is None
    assert certificate["enrollmentId"] == enrollment_id
    assert certificate["userId"] == learner.id
    assert certificate["courseId"] == gid("Course", course.id)
    assert len(certificate["code"]) >= 20
    assert certificate["downloadUrl"].startswith(f"/certificates/{certificate['code']}.pdf?token=")
    # The learner sees no menu; the admin sees the certificate item, last.
    assert mine["availableActions"] == []
    by_admin = await seen(gql, enrollment_id, admin)
    assert menu(by_admin)[-1] == "remove_certificate"
    assert by_admin["certificates"][0]["code"] == certificate["code"]


async def test_mark_complete_issues_one_certificate_per_learner_in_one_run(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await world.course()
    learners = [await world.user(f"Learner {i}") for i in range(3)]
    ids = [gid("Enrollment", pk) for pk in await world.assign(course, learners, by=admin)]
    result = await run(gql, admin, "mark_complete", ids)
    assert result["succeeded"] == 3
    codes = set()
    for enrollment_id in ids:
        [certificate] = (await seen(gql, enrollment_id, admin))["certificates"]
        assert certificate["valid"] is True
        codes.add(certificate["code"])
    assert len(codes) == 3
    assert await certificate_rows(lms) == 3


# --- the menu ----------------------------------------------------------------------


async def test_menu_offers_remove_or_generate_for_completed_learners_only(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    course = await world.course()
    await world.instructor(course, instructor)
    learner, enrollment_id = await assigned(world, course, admin)
    await start(gql, course, learner)
    assert not CERTIFICATE_KEYS & set(menu(await seen(gql, enrollment_id, admin)))
    # Not in the menu: not applicable.
    outcome = one_outcome(await run(gql, admin, "generate_certificate", [enrollment_id]))
    assert (outcome["status"], outcome["code"]) == ("SKIPPED", "NOT_APPLICABLE")

    await run(gql, admin, "mark_complete", [enrollment_id])
    for viewer in (admin, instructor):
        now = await seen(gql, enrollment_id, viewer)
        assert menu(now)[-1] == "remove_certificate"
        assert "generate_certificate" not in menu(now)
    [action] = [a for a in now["availableActions"] if a["key"] == "remove_certificate"]
    assert action["label"] == "Remove Certificate"
    assert action["kind"] == "MUTATION"
    assert action["destructive"] is True
    assert action["confirm"]

    # Remove: the certificate is revoked (no longer held: only its record shows it),
    # progress untouched, the menu offers Generate.
    outcome = one_outcome(await run(gql, instructor, "remove_certificate", [enrollment_id]))
    assert outcome["status"] == "OK"
    after = await seen(gql, enrollment_id, admin)
    assert after["state"] == "COMPLETED"
    assert after["certificates"] == []
    [revoked] = after["certificateHistory"]
    assert revoked["valid"] is False
    assert revoked["revokedAt"] is not None
    assert revoked["downloadUrl"] is None
    assert revoked["revokedBy"] == {"id": instructor.id, "name": "Ines Instructor"}
    assert menu(after)[-1] == "generate_certificate"
    assert "remove_certificate" not in menu(after)
    [action] = [a for a in after["availableActions"] if a["key"] == "generate_certificate"]
    assert (action["label"], action["destructive"], action["confirm"]) == (
        "Generate Certificate",
        False,
        None,
    )
    assert after["history"][-1] == {
        "action": "remove_certificate",
        "summary": "Certificate removed.",
    }

    # Generate: a new certificate (a new code) for the same, latest attempt; one held.
    outcome = one_outcome(await run(gql, admin, "generate_certificate", [enrollment_id]))
    assert outcome["status"] == "OK"
    again = await seen(gql, enrollment_id, admin)
    assert again["state"] == "COMPLETED"
    [held] = again["certificates"]
    assert (held["attemptNumber"], held["valid"], held["revokedAt"]) == (1, True, None)
    assert held["code"] != revoked["code"]
    assert [(c["attemptNumber"], c["valid"]) for c in again["certificateHistory"]] == [
        (1, False),
        (1, True),
    ]
    assert again["certificateHistory"][1]["revokedBy"] is None
    assert menu(again)[-1] == "remove_certificate"
    assert again["history"][-1] == {
        "action": "generate_certificate",
        "summary": "Certificate generated.",
    }
    # Generating again is not in the menu any more.
    outcome = one_outcome(await run(gql, admin, "generate_certificate", [enrollment_id]))
    assert outcome["code"] == "NOT_APPLICABLE"


async def test_mark_incomplete_revokes_the_latest_certificate(
    gql: GraphQLClient, world: World, client: AsyncClient
) -> None:
    admin = await world.admin()
    course = await world.course()
    _, enrollment_id = await assigned(world, course, admin)
    await run(gql, admin, "mark_complete", [enrollment_id])
    [certificate] = (await seen(gql, enrollment_id, admin))["certificates"]

    assert one_outcome(await run(gql, admin, "mark_incomplete", [enrollment_id]))["status"] == "OK"
    after = await seen(gql, enrollment_id, admin)
    assert after["state"] != "COMPLETED"
    assert after["certificates"] == []
    [taken_back] = after["certificateHistory"]
    assert (taken_back["code"], taken_back["valid"]) == (certificate["code"], False)
    assert taken_back["revokedBy"] == {"id": admin.id, "name": "Admin"}
    assert not CERTIFICATE_KEYS & set(menu(after))
    verified = (await client.get(f"/certificates/verify/{certificate['code']}")).json()
    assert verified["valid"] is False
    assert verified["reason"] == "REVOKED"

    # Completing again earns a new certificate for the same attempt.
    await run(gql, admin, "mark_complete", [enrollment_id])
    again = await seen(gql, enrollment_id, admin)
    assert [c["valid"] for c in again["certificates"]] == [True]
    assert [c["valid"] for c in again["certificateHistory"]] == [False, True]


async def test_reset_keeps_the_completed_attempts_certificate(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await world.course()
    learner, enrollment_id = await assigned(world, course, admin)
    await finish(gql, course, learner, enrollment_id)
    [first] = (await seen(gql, enrollment_id, admin))["certificates"]

    await run(gql, admin, "reset_progress", [enrollment_id])
    after = await seen(gql, enrollment_id, admin)
    assert (after["state"], after["attempt"]["number"]) == ("NOT_STARTED", 2)
    # The same certificate (its signed link is made afresh for each request).
    [kept] = after["certificates"]
    assert {**kept, "downloadUrl": None} == {**first, "downloadUrl": None}
    assert kept["downloadUrl"]
    assert not CERTIFICATE_KEYS & set(menu(after))

    await run(gql, admin, "mark_complete", [enrollment_id])
    done = await seen(gql, enrollment_id, admin)
    assert [(c["attemptNumber"], c["valid"]) for c in done["certificates"]] == [
        (1, True),
        (2, True),
    ]
    # Remove Certificate acts on the latest attempt only.
    await run(gql, admin, "remove_certificate", [enrollment_id])
    removed = await seen(gql, enrollment_id, admin)
    assert [(c["attemptNumber"], c["valid"]) for c in removed["certificates"]] == [(1, True)]
    assert [(c["attemptNumber"], c["valid"]) for c in removed["certificateHistory"]] == [
        (1, True),
        (2, False),
    ]
    assert menu(removed)[-1] == "generate_certificate"


async def test_removing_the_learner_deletes_their_certificates(
    gql: GraphQLClient, world: World, lms: LMS, client: AsyncClient
) -> None:
    admin = await world.admin()
    course = await world.course()
    learner, enrollment_id = await assigned(world, course, admin)
    await finish(gql, course, learner, enrollment_id)
    await run(gql, admin, "reset_progress", [enrollment_id])
    await run(gql, admin, "mark_complete", [enrollment_id])
    [first, _] = (await seen(gql, enrollment_id, admin))["certificates"]
    assert await certificate_rows(lms) == 2

    await run(gql, admin, "remove", [enrollment_id])
    assert await certificate_rows(lms) == 0
    assert (await client.get(f"/certificates/verify/{first['code']}")).status_code == 404


# --- GraphQL: expiry ---------------------------------------------------------------


async def test_validity_and_certificates_expiring(
    gql: GraphQLClient, world: World, lms: LMS, client: AsyncClient
) -> None:
    admin = await world.admin()
    course = await world.course()
    other = await world.course("No expiry")
    learner, enrollment_id = await assigned(world, course, admin)
    _, other_id = await assigned(world, other, admin, "Otto")
    instructor = await world.user("Ines")
    await world.instructor(course, instructor)

    for viewer in (instructor, learner):
        error = await gql.error(
            VALIDITY, {"course": gid("Course", course.id), "days": 30}, token=viewer.token
        )
        assert error["extensions"]["code"] == "FORBIDDEN"
        error = await gql.error(EXPIRING, {"days": 30}, token=viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(EXPIRING, {"days": 30})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    error = await gql.error(
        VALIDITY, {"course": gid("Course", course.id), "days": 0}, token=admin.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(EXPIRING, {"days": -1}, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"

    data = await gql.data(
        VALIDITY, {"course": gid("Course", course.id), "days": 30}, token=admin.token
    )
    assert data["setCertificateValidity"] == {"courseId": gid("Course", course.id), "validDays": 30}
    await run(gql, admin, "mark_complete", [enrollment_id, other_id])
    [certificate] = (await seen(gql, enrollment_id, admin))["certificates"]
    expires = dt.datetime.fromisoformat(certificate["expiresAt"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert abs((expires - expected).total_seconds()) < 120
    assert (await seen(gql, other_id, admin))["certificates"][0]["expiresAt"] is None

    soon = (await gql.data(EXPIRING, {"days": 31}, token=admin.token))["certificatesExpiring"]
    assert [(c["code"], c["userId"]) for c in soon] == [(certificate["code"], learner.id)]
    later = (await gql.data(EXPIRING, {"days": 10}, token=admin.token))["certificatesExpiring"]
    assert later == []

    # Removing the validity: later certificates do not expire.
    data = await gql.data(
        VALIDITY, {"course": gid("Course", course.id), "days": None}, token=admin.token
    )
    assert data["setCertificateValidity"]["validDays"] is None
    await run(gql, admin, "remove_certificate", [enrollment_id])
    await run(gql, admin, "generate_certificate", [enrollment_id])
    newest = (await seen(gql, enrollment_id, admin))["certificates"][-1]
    assert newest["valid"] is True
    assert newest["expiresAt"] is None

    # An expired certificate is not valid, and the menu offers Generate again.
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(certificates)
            .where(certificates.c.code == newest["code"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    expired = await seen(gql, enrollment_id, admin)
    # Still held (a lapsed certificate), no longer valid.
    assert [(c["code"], c["valid"]) for c in expired["certificates"]] == [(newest["code"], False)]
    assert menu(expired)[-1] == "generate_certificate"

    # Generate replaces it: the expired one leaves the held ones (its record says who
    # replaced it) and keeps verifying as expired, not revoked.
    outcome = one_outcome(await run(gql, admin, "generate_certificate", [enrollment_id]))
    assert outcome["status"] == "OK"
    renewed = await seen(gql, enrollment_id, admin)
    [held] = renewed["certificates"]
    assert held["valid"] is True
    assert held["code"] != newest["code"]
    [replaced] = [c for c in renewed["certificateHistory"] if c["code"] == newest["code"]]
    assert replaced["revokedAt"] is not None
    assert replaced["revokedBy"] == {"id": admin.id, "name": "Admin"}
    assert menu(renewed)[-1] == "remove_certificate"
    verified = (await client.get(f"/certificates/verify/{newest['code']}")).json()
    assert (verified["valid"], verified["reason"]) == (False, "EXPIRED")


# --- HTTP: verification and the PDF ------------------------------------------------


async def test_verify_valid_revoked_expired_unknown(
    gql: GraphQLClient, world: World, lms: LMS, client: AsyncClient
) -> None:
    admin = await world.admin()
    course = await world.course("Forklift license")
    _, enrollment_id = await assigned(world, course, admin, "Vera Verified")
    await run(gql, admin, "mark_complete", [enrollment_id])
    [certificate] = (await seen(gql, enrollment_id, admin))["certificates"]
    code = certificate["code"]

    response = await client.get(f"/certificates/verify/{code}")  # no token
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "name": "Vera Verified",
        "course": "Forklift license",
        "issuedAt": response.json()["issuedAt"],
        "expiresAt": None,
    }
    issued = dt.datetime.fromisoformat(response.json()["issuedAt"])
    assert issued == dt.datetime.fromisoformat(certificate["issuedAt"])

    async with lms.db.transaction() as conn:
        await conn.execute(
            update(certificates)
            .where(certificates.c.code == code)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    expired = (await client.get(f"/certificates/verify/{code}")).json()
    assert (expired["valid"], expired["reason"]) == (False, "EXPIRED")

    _, second_id = await assigned(world, course, admin, "Rolf Revoked")
    await run(gql, admin, "mark_complete", [second_id])
    [second] = (await seen(gql, second_id, admin))["certificates"]
    await run(gql, admin, "remove_certificate", [second_id])
    revoked = (await client.get(f"/certificates/verify/{second['code']}")).json()
    assert (revoked["valid"], revoked["reason"]) == (False, "REVOKED")
    assert revoked["name"] == "Rolf Revoked"
    assert set(revoked) == {"valid", "reason", "name", "course", "issuedAt", "expiresAt"}

    unknown = await client.get("/certificates/verify/no-such-code")
    assert unknown.status_code == 404
    assert unknown.json()["valid"] is False
    assert set(unknown.json()) == {"valid", "error"}


@pytest.mark.parametrize(
    ("name", "drawn"),
    [
        ("Олена Łukasiewicz-Ørsted", "Олена Łukasiewicz-Ørsted"),
        ("Γιώργος Παπαδόπουλος", "Γιώργος Παπαδόπουλος"),
        # DejaVu has no CJK ideographs: each is drawn as "?", the rest as written.
        ("王芳 (Fang Wang)", "?? (Fang Wang)"),
    ],
)
async def test_the_pdf_draws_names_in_their_own_script(
    gql: GraphQLClient, world: World, client: AsyncClient, name: str, drawn: str
) -> None:
    admin = await world.admin()
    course = await world.course("Охрана труда")
    learner, enrollment_id = await assigned(world, course, admin, name)
    await finish(gql, course, learner, enrollment_id)
    [certificate] = (await seen(gql, enrollment_id, learner))["certificates"]
    response = await client.get(certificate["downloadUrl"])
    assert response.status_code == 200, response.text
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert drawn in text
    assert "Охрана труда" in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Certificate: Охрана труда"


async def test_pdf_download_and_who_may_open_it(
    gql: GraphQLClient, world: World, client: AsyncClient
) -> None:
    admin = await world.admin()
    course = await world.course("Working at heights", credits=3)
    instructor = await world.user("Ines Instructor")
    await world.instructor(course, instructor)
    other_instructor = await world.user("Olaf Other")
    await world.instructor(await world.course("Elsewhere"), other_instructor)
    learner, enrollment_id = await assigned(world, course, admin, "Zoë Quartermaine")
    stranger = await world.user("Stan Stranger")
    await finish(gql, course, learner, enrollment_id)
    [certificate] = (await seen(gql, enrollment_id, learner))["certificates"]
    code = certificate["code"]

    # The signed link from downloadUrl, without any header.
    response = await client.get(certificate["downloadUrl"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Zoë Quartermaine" in text
    assert "Working at heights" in text
    assert code in text
    assert "Credits: 3" in text

    path = f"/certificates/{code}.pdf"
    for viewer in (learner, admin, instructor):
        allowed = await client.get(path, headers={"Authorization": f"Bearer {viewer.token}"})
        assert allowed.status_code == 200
        assert allowed.content.startswith(b"%PDF")
    for viewer in (stranger, other_instructor):
        refused = await client.get(path, headers={"Authorization": f"Bearer {viewer.token}"})
        assert refused.status_code == 403
        assert refused.json()["code"] == "FORBIDDEN"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(f"{path}?token=forged")).status_code == 401
    # A link signed for one certificate opens no other.
    token = certificate["downloadUrl"].split("?token=")[1]
    assert (await client.get(f"/certificates/other.pdf?token={token}")).status_code == 401
    unknown = await client.get(
        "/certificates/other.pdf", headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert unknown.status_code == 404
    # A revoked certificate has no PDF any more.
    await run(gql, admin, "remove_certificate", [enrollment_id])
    gone = await client.get(path, headers={"Authorization": f"Bearer {admin.token}"})
    assert gone.status_code == 404


async def test_certificates_of_a_page_cost_the_same_statements(
    gql: GraphQLClient, world: World, statements: Any
) -> None:
    admin = await world.admin()
    course = await world.course("Big course")
    learners = [await world.user(f"Learner {i:02}") for i in range(30)]
    ids = [gid("Enrollment", pk) for pk in await world.assign(course, learners, by=admin)]
    await run(gql, admin, "mark_complete", ids[:20])
    query = """
    query ($id: ID!, $first: Int!) {
      course(id: $id) { learners(first: $first) { edges { node {
        id availableActions { key } certificates { code downloadUrl }
        certificateHistory { code revokedAt }
      } } } }
    }
    """

    async def page(first: int) -> int:
        statements.reset()
        data = await gql.data(query, {"id": gid("Course", course.id), "first": first}, admin.token)
        assert len(data["course"]["learners"]["edges"]) == first
        return int(statements.count)

    assert await page(5) == await page(30)


# --- without the plugin --------------------------------------------------------------


@pytest.fixture
async def bare_lms(lms: LMS) -> AsyncIterator[LMS]:
    """The same (emptied) database, served without the certificates plugin."""
    service = LMS(make_settings(lms.settings.database_url, plugins=("self_paced",)))
    yield service
    await service.close()


async def test_service_works_without_the_plugin(bare_lms: LMS) -> None:
    from lms_graph.app import create_app

    world = World(bare_lms)
    transport = ASGITransport(app=create_app(lms=bare_lms))
    async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
        gql = GraphQLClient(http)
        admin = await world.admin()
        course = await world.course()
        learner, enrollment_id = await assigned(world, course, admin)
        await finish(gql, course, learner, enrollment_id)
        data = await gql.data(
            "query ($id: ID!) { enrollment(id: $id) { state availableActions { key } } }",
            {"id": enrollment_id},
            token=admin.token,
        )
        assert data["enrollment"]["state"] == "COMPLETED"
        keys = [action["key"] for action in data["enrollment"]["availableActions"]]
        assert keys[-1] == "remove"
        assert not CERTIFICATE_KEYS & set(keys)
        error = await gql.error(
            "query ($id: ID!) { enrollment(id: $id) { certificates { code } } }",
            {"id": enrollment_id},
            token=admin.token,
        )
        assert "certificates" in error["message"]
        error = await gql.error(
            'mutation ($ids: [ID!]) { runAction(input: {action: "generate_certificate", '
            "enrollmentIds: $ids}) { succeeded } }",
            {"ids": [enrollment_id]},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await http.get("/certificates/verify/anything")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
    assert await certificate_rows(bare_lms) == 0
