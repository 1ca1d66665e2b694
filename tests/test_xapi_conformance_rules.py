"""Rules of xAPI 1.0.3 that ADL's conformance suite checks on the statement resource
(issue 18), over HTTP: headers on every answer, context activities as lists, ``format``,
``related_*`` filters, statements pointing at a match, the alternate request syntax,
CORS, multipart/mixed attachments and signed statements."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph_plugins.scorm_xapi.attachments import SIGNATURE
from tests.helpers import Actor, World
from tests.test_xapi_lrs import ADL, VERSION, auth, post, statement, stored

CONSISTENT = "X-Experience-API-Consistent-Through"
ACTIVITY = "https://example.com/activities/forklift"
OTHER = "https://example.com/activities/course"


async def ids(client: AsyncClient, actor: Actor, **params: str) -> list[str]:
    response = await client.get("/xapi/statements", params=params, headers=auth(actor))
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["statements"]]


async def one(client: AsyncClient, actor: Actor, statement_id: str, **params: str) -> Any:
    response = await client.get(
        "/xapi/statements", params={"statementId": statement_id, **params}, headers=auth(actor)
    )
    assert response.status_code == 200, response.text
    return response.json()


# --- headers -----------------------------------------------------------------------------------


async def test_every_get_answer_carries_consistent_through_and_the_version(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    for params in (
        {"statementId": "not-a-uuid"},
        {"statementId": str(uuid.uuid4())},
        {"statementId": str(uuid.uuid4()), "verb": ADL + "launched"},
        {"colour": "red"},
    ):
        response = await client.get("/xapi/statements", params=params, headers=auth(admin))
        assert response.status_code in (400, 404), params
        assert CONSISTENT in response.headers, params
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    unauthenticated = await client.get("/xapi/statements", headers=VERSION)
    assert unauthenticated.status_code == 401
    assert CONSISTENT in unauthenticated.headers
    head = await client.head("/xapi/statements", headers=auth(admin))
    assert head.status_code == 200
    assert head.content == b""
    assert CONSISTENT in head.headers


# --- what is stored and how it is returned ---------------------------------------------------


async def test_a_single_context_activity_is_returned_as_a_list(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    context = {"contextActivities": {"parent": {"id": OTHER}, "grouping": [{"id": OTHER}]}}
    sub = {
        "objectType": "SubStatement",
        **statement(admin, "attempted", ACTIVITY),
        "context": context,
    }
    body = statement(admin, "experienced", ACTIVITY, context=context)
    [first] = (await post(client, admin, body)).json()
    planned = {**statement(admin, "planned", ACTIVITY), "object": sub}
    [second] = (await post(client, admin, planned)).json()
    got = await one(client, admin, first)
    assert got["context"]["contextActivities"]["parent"] == [{"id": OTHER}]
    assert got["context"]["contextActivities"]["grouping"] == [{"id": OTHER}]
    got = await one(client, admin, second)
    assert got["object"]["context"]["contextActivities"]["parent"] == [{"id": OTHER}]


async def test_format_ids_reaches_into_the_substatement(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    group = {"objectType": "Group", "name": "Crew", "mbox": "mailto:crew@example.com"}
    sub = {
        "objectType": "SubStatement",
        "actor": group,
        "verb": {"id": ADL + "attempted", "display": {"en-US": "attempted"}},
        "object": {"id": ACTIVITY, "definition": {"name": {"en-US": "Forklift"}}},
    }
    body = {**statement(admin, "planned", ACTIVITY), "object": sub}
    [made] = (await post(client, admin, body)).json()
    got = await one(client, admin, made, format="ids")
    assert got["object"]["actor"] == {"objectType": "Group", "mbox": "mailto:crew@example.com"}
    assert got["object"]["object"] == {"id": ACTIVITY}
    assert got["object"]["verb"] == {"id": ADL + "attempted"}
    assert got["verb"] == {"id": ADL + "planned"}
    assert set(got["actor"]) <= {"objectType", "mbox"}


async def test_format_canonical_keeps_the_accepted_language(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    body = statement(admin, "experienced", ACTIVITY)
    body["verb"]["display"] = {"en-US": "experienced", "en-GB": "experienced (GB)", "fr": "vécu"}
    body["object"]["definition"] = {"name": {"en-US": "Forklift", "fr": "Chariot"}}
    [made] = (await post(client, admin, body)).json()
    response = await client.get(
        "/xapi/statements",
        params={"statementId": made, "format": "canonical"},
        headers={**auth(admin), "Accept-Language": "fr;q=0.9, en-GB"},
    )
    got = response.json()
    assert got["verb"]["display"] == {"en-GB": "experienced (GB)"}
    assert got["object"]["definition"]["name"] == {"fr": "Chariot"}
    exact = await one(client, admin, made)
    assert exact["verb"]["display"] == body["verb"]["display"]


# --- filters ------------------------------------------------------------------------------------


async def test_related_activities_and_agents_widen_the_filters(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    teacher = {"mbox": "mailto:teacher@example.com"}
    in_context = statement(
        admin,
        "experienced",
        ACTIVITY,
        context={"contextActivities": {"parent": [{"id": OTHER}]}, "instructor": teacher},
    )
    [related] = (await post(client, admin, in_context)).json()
    [direct] = (await post(client, admin, statement(admin, "experienced", OTHER))).json()
    assert await ids(client, admin, activity=OTHER) == [direct]
    assert await ids(client, admin, activity=OTHER, related_activities="true") == [
        direct,
        related,
    ]
    assert await ids(client, admin, agent=json.dumps(teacher)) == []
    assert await ids(client, admin, agent=json.dumps(teacher), related_agents="true") == [related]


async def test_a_voiding_statement_is_returned_under_its_targets_filters(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    [target] = (await post(client, admin, statement(admin, "experienced", ACTIVITY))).json()
    voiding = {
        "actor": {"mbox": f"mailto:{admin.user.email}"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }
    [voider] = (await post(client, admin, voiding)).json()
    assert await ids(client, admin, activity=ACTIVITY) == [voider]
    assert await ids(client, admin, activity=OTHER) == []


# --- the alternate request syntax and CORS -----------------------------------------------------


async def test_the_alternate_request_syntax(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    statement_id = str(uuid.uuid4())
    form = {
        "Authorization": f"Bearer {admin.token}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "statementId": statement_id,
        "content": json.dumps(statement(admin, "experienced", ACTIVITY)),
    }
    put = await client.post("/xapi/statements", params={"method": "PUT"}, data=form)
    assert put.status_code == 204, put.text
    got = await client.post(
        "/xapi/statements",
        params={"method": "GET"},
        data={
            "Authorization": f"Bearer {admin.token}",
            "X-Experience-API-Version": "1.0.3",
            "statementId": statement_id,
        },
    )
    assert got.status_code == 200
    assert got.json()["id"] == statement_id
    assert CONSISTENT in got.headers
    for params, data in (
        ({"method": "PUT", "statementId": statement_id}, form),  # parameters go in the form
        ({"method": "PATCH"}, form),
    ):
        refused = await client.post("/xapi/statements", params=params, data=data)
        assert refused.status_code == 400, params
    not_a_form = await client.post(
        "/xapi/statements", params={"method": "PUT"}, json=form, headers=auth(admin)
    )
    assert not_a_form.status_code == 400
    assert await stored(lms) == 1


async def test_cors_preflights_answer_the_allowed_origins(
    lms: LMS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMS_XAPI_ALLOWED_ORIGINS", "https://content.example.com")
    app = create_app(lms=lms)
    preflight = {
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, x-experience-api-version",
    }
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        allowed = await http.options(
            "/xapi/activities/state",
            headers={**preflight, "Origin": "https://content.example.com"},
        )
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == "https://content.example.com"
        assert "PUT" in allowed.headers["access-control-allow-methods"]
        assert "X-Experience-API-Version" in allowed.headers["access-control-allow-headers"]
        other = await http.options(
            "/xapi/statements", headers={**preflight, "Origin": "https://evil.example.com"}
        )
        assert "access-control-allow-origin" not in other.headers
        answer = await http.get("/xapi/about", headers={"Origin": "https://content.example.com"})
        assert answer.headers["access-control-allow-origin"] == "https://content.example.com"
        assert "ETag" in answer.headers["access-control-expose-headers"]


# --- attachments and signatures ----------------------------------------------------------------


def multipart(statements: Any, parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> bytes:
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(statements).encode(),
        b"\r\n",
    ]
    for content_type, content in parts:
        sha2 = hashlib.sha256(content).hexdigest()
        chunks.append(
            f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary"
            f"\r\nX-Experience-API-Hash: {sha2}\r\n\r\n".encode()
        )
        chunks += [content, b"\r\n"]
    chunks.append(f"--{boundary}--".encode())
    return b"".join(chunks)


def attachment(
    content: bytes, usage: str = "https://example.com/usage/notes", **extra: Any
) -> dict[str, Any]:
    return {
        "usageType": usage,
        "display": {"en-US": "Notes"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
        **extra,
    }


async def send_multipart(client: AsyncClient, actor: Actor, body: bytes) -> Response:
    return await client.post(
        "/xapi/statements",
        content=body,
        headers={**auth(actor), "Content-Type": "multipart/mixed; boundary=b0undary"},
    )


async def test_multipart_attachments_are_stored_and_returned(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    notes = "Notes of the forklift course ✓".encode()
    body = statement(admin, "experienced", ACTIVITY, attachments=[attachment(notes)])
    sent = await send_multipart(client, admin, multipart(body, [("text/plain", notes)]))
    assert sent.status_code == 200, sent.text
    [made] = sent.json()
    plain = await client.get("/xapi/statements", params={"statementId": made}, headers=auth(admin))
    assert plain.headers["content-type"].startswith("application/json")
    response = await client.get(
        "/xapi/statements",
        params={"statementId": made, "attachments": "true"},
        headers=auth(admin),
    )
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    parts = response.content.split(b"--" + boundary)
    assert json.loads(parts[1].split(b"\r\n\r\n", 1)[1])["id"] == made
    head, content = parts[2].split(b"\r\n\r\n", 1)
    assert hashlib.sha256(notes).hexdigest().encode() in head
    assert content.removesuffix(b"\r\n") == notes

    for bad in (
        multipart(body, []),  # no part for an attachment without fileUrl
        multipart(body, [("text/plain", notes), ("text/plain", b"stray")]),  # a part nobody names
        multipart(body, [("text/plain", notes)]).replace(notes, b"tampered content!!!!!!!!!!!"),
    ):
        assert (await send_multipart(client, admin, bad)).status_code == 400
    by_url = statement(
        admin,
        "experienced",
        ACTIVITY,
        attachments=[attachment(b"x", fileUrl="https://example.com/notes.txt")],
    )
    assert (await post(client, admin, by_url)).status_code == 200
    assert await stored(lms) == 2


def jws(payload: Any, alg: str = "RS256") -> bytes:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = b64(json.dumps({"alg": alg}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}.{b64(b'signature')}".encode()


async def test_signed_statements_are_checked(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    body = {**statement(admin, "experienced", ACTIVITY), "id": str(uuid.uuid4())}

    async def send(signature: bytes, content_type: str = "application/octet-stream") -> Response:
        signed = {
            **body,
            "attachments": [
                {**attachment(signature, usage=SIGNATURE), "contentType": content_type}
            ],
        }
        return await send_multipart(client, admin, multipart(signed, [(content_type, signature)]))

    assert (await send(jws(body, "HS256"))).status_code == 400
    assert (await send(jws({**body, "verb": {"id": ADL + "failed"}}))).status_code == 400
    assert (await send(b"not a jws")).status_code == 400
    assert (await send(jws(body), "text/plain")).status_code == 400
    assert await stored(lms) == 0
    for alg in ("RS256", "RS384", "RS512"):
        body["id"] = str(uuid.uuid4())
        accepted = await send(jws(body, alg))
        assert accepted.status_code == 200, accepted.text
    assert await stored(lms) == 3


# --- signatures verified with the key the JWS header carries -------------------------------

_DIGEST_INFO = {  # RFC 8017 section 9.2, note 1
    "RS256": (hashlib.sha256, "3031300d060960864801650304020105000420"),
    "RS384": (hashlib.sha384, "3041300d060960864801650304020205000430"),
    "RS512": (hashlib.sha512, "3051300d060960864801650304020305000440"),
}


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _miller_rabin(candidate, rng):
            return candidate


def _miller_rabin(n: int, rng: random.Random) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(20):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rsa_key(seed: int) -> tuple[int, int, int]:
    """(n, e, d) of a 1,024-bit RSA key, from a fixed seed (tests only)."""
    rng = random.Random(seed)
    e = 65537
    while True:
        p, q = _prime(512, rng), _prime(512, rng)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            return p * q, e, pow(e, -1, phi)


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def certificate(n: int, e: int) -> str:
    """A minimal X.509 certificate (DER, base64) holding the RSA key (tests only)."""
    rsa_oid = _der(0x06, bytes.fromhex("2a864886f70d010101"))
    spki = _der(
        0x30,
        _der(0x30, rsa_oid + b"\x05\x00")
        + _der(0x03, b"\x00" + _der(0x30, _der_int(n) + _der_int(e))),
    )
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d01010b")) + b"\x05\x00")
    name = _der(0x30, b"")
    tbs = _der(0x30, _der_int(1) + algorithm + name + _der(0x30, b"") + name + spki)
    return base64.b64encode(_der(0x30, tbs + algorithm + _der(0x03, b"\x00"))).decode()


def signed_jws(payload: Any, alg: str, key: tuple[int, int, int], header: dict[str, Any]) -> bytes:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    n, _, d = key
    signing_input = (
        f"{b64(json.dumps({'alg': alg, **header}).encode())}.{b64(json.dumps(payload).encode())}"
    )
    hasher, prefix = _DIGEST_INFO[alg]
    digest = bytes.fromhex(prefix) + hasher(signing_input.encode()).digest()
    size = (n.bit_length() + 7) // 8
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    signature = pow(int.from_bytes(encoded, "big"), d, n).to_bytes(size, "big")
    return f"{signing_input}.{b64(signature)}".encode()


async def test_signatures_verify_with_the_key_in_the_header(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    key, other = rsa_key(1), rsa_key(2)
    n, e, _ = key

    def jwk(value: int) -> str:
        return (
            base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))
            .decode()
            .rstrip("=")
        )

    async def send(signature: bytes, body: dict[str, Any]) -> Response:
        signed = {
            **body,
            "attachments": [
                {
                    **attachment(signature, usage=SIGNATURE),
                    "contentType": "application/octet-stream",
                }
            ],
        }
        return await send_multipart(
            client, admin, multipart(signed, [("application/octet-stream", signature)])
        )

    headers: list[dict[str, Any]] = [
        {"x5c": [certificate(n, e)]},
        {"jwk": {"kty": "RSA", "n": jwk(n), "e": jwk(e)}},
    ]
    for header in headers:
        for alg in ("RS256", "RS384", "RS512"):
            body = {**statement(admin, "experienced", ACTIVITY), "id": str(uuid.uuid4())}
            accepted = await send(signed_jws(body, alg, key, header), body)
            assert accepted.status_code == 200, accepted.text
        body = {**statement(admin, "experienced", ACTIVITY), "id": str(uuid.uuid4())}
        forged = await send(signed_jws(body, "RS256", other, header), body)  # another key
        assert forged.status_code == 400
        assert "does not verify" in forged.json()["error"]
    unreadable = {"x5c": ["bm90IGEgY2VydGlmaWNhdGU="]}
    body = {**statement(admin, "experienced", ACTIVITY), "id": str(uuid.uuid4())}
    assert (await send(signed_jws(body, "RS256", key, unreadable), body)).status_code == 400
    assert await stored(lms) == 6
