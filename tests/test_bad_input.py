"""Bad input over HTTP (CONTRACT section 11): every input that once reached the database
and answered 500 is now a 4xx with a code, changes nothing, and leaves no database
connection checked out.

- IDs past the database's integer range answer as any unknown ID does;
- NUL characters and strings past their maximum length are ``BAD_USER_INPUT`` naming
  the argument or variable (GraphQL), the field (form upload) or the row (CSV cells);
- JSON bodies nested too deep, and numbers that are not finite, are 400 (xAPI, SCORM);
- a statement stored before these rules never makes a read fail;
- ``HEAD`` on the xAPI resources answers as GET, without a body, and writes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import insert, select

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.schema.inputs import DEFAULT_MAX_LENGTH, MAX_DEPTH, MAX_LENGTHS
from lms_graph_plugins.scorm_xapi.tables import xapi_statements
from tests.conftest import merged_metadata
from tests.helpers import Actor, World, gid

BIG_NUMBERS = (2**31, 2**63, 10**30)
"""Past PostgreSQL's INTEGER, past SQLite's INTEGER, past both by far."""
UNKNOWN = 999_999
"""An ID in range that names nothing: what an out-of-range ID must answer like."""
XAPI = {"X-Experience-API-Version": "1.0.3"}
DEEP = b"[" * 1000 + b"]" * 1000
NUL = "a\x00b"


@dataclasses.dataclass
class Scene:
    admin: Actor
    learner: Actor
    scorm_enrollment: int
    quiz_course: int
    quiz_enrollment: int
    course_iri: str


@pytest.fixture
async def scene(world: World) -> Scene:
    admin = await world.admin()
    learner = await world.user("Lea", email="lea@example.com")
    scorm = await world.course("Packaged", course_type="scorm")
    quiz = await world.course("Quizzed", quiz=True)
    [scorm_enrollment] = await world.assign(scorm, [learner], admin)
    [quiz_enrollment] = await world.assign(quiz, [learner], admin)
    return Scene(
        admin,
        learner,
        scorm_enrollment,
        quiz.id,
        quiz_enrollment,
        f"urn:lms-graph:course:{scorm.id}",
    )


@pytest.fixture
async def http(lms: LMS) -> AsyncIterator[AsyncClient]:
    """The real app; an exception escaping it (a 500) fails the test where it happens."""
    transport = ASGITransport(app=create_app(lms=lms))
    async with AsyncClient(transport=transport, base_url="http://lms.test") as client:
        yield client


async def dump(lms: LMS) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what "nothing changed" compares."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with lms.db.reader() as conn:
        for table in merged_metadata(lms).sorted_tables:
            result = await conn.execute(select(table))
            rows[table.name] = sorted((tuple(row) for row in result), key=repr)
    return rows


def no_connection_out(lms: LMS) -> None:
    for engine in lms.db.engines:
        assert engine.pool.checkedout() == 0, engine.pool.status()  # type: ignore[attr-defined]


class Checker:
    """Sends requests and checks each: the status and code, nothing written, nothing
    leaked."""

    def __init__(self, lms: LMS, http: AsyncClient, token: str) -> None:
        self.lms = lms
        self.http = http
        self.token = token
        self.before: dict[str, list[tuple[Any, ...]]] = {}

    async def start(self) -> Checker:
        self.before = await dump(self.lms)
        return self

    async def unchanged(self) -> None:
        no_connection_out(self.lms)
        assert await dump(self.lms) == self.before

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        for error in body.get("errors") or ():
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error
        return body

    async def refused(
        self, query: str, variables: dict[str, Any] | None = None, code: str = "BAD_USER_INPUT"
    ) -> str:
        """The message of a GraphQL request that must fail with ``code`` and write nothing."""
        body = await self.graphql(query, variables)
        assert body.get("errors"), body
        error = body["errors"][0]
        assert error["extensions"]["code"] == code, error
        await self.unchanged()
        message: str = error["message"]
        assert "\x00" not in message
        return message

    async def request(
        self, method: str, url: str, status: int, code: str | None, **kwargs: Any
    ) -> Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, (url, response.text)
        if code is not None:
            assert response.json()["code"] == code, response.text
            assert "\x00" not in response.json()["error"]
        await self.unchanged()
        return response


async def checker(lms: LMS, http: AsyncClient, actor: Actor) -> Checker:
    return await Checker(lms, http, actor.token).start()


# --- IDs past the integer range --------------------------------------------------------

ID_DOCUMENTS: list[tuple[str, Callable[[Scene, int], dict[str, Any]]]] = [
    (
        "query ($c: ID!, $e: ID!, $u: ID!, $r: ID!) { c: node(id: $c) { id } "
        "e: node(id: $e) { id } u: node(id: $u) { id } course(id: $c) { id } "
        "enrollment(id: $e) { id } importReport(id: $r) { id } }",
        lambda s, n: {
            "c": gid("Course", n),
            "e": gid("Enrollment", n),
            "u": gid("User", n),
            "r": gid("ImportReport", n),
        },
    ),
    (
        "mutation ($c: ID!) { startCourse(courseId: $c) { id } }",
        lambda s, n: {"c": gid("Course", n)},
    ),
    (
        'mutation ($e: ID!) { runAction(input: {action: "mark_complete", enrollmentIds: [$e]})'
        " { succeeded failed outcomes { status code } } }",
        lambda s, n: {"e": gid("Enrollment", n)},
    ),
    (
        'mutation ($c: ID!) { runAction(input: {action: "mark_complete", courseId: $c, '
        "filter: {}}) { succeeded } }",
        lambda s, n: {"c": gid("Course", n)},
    ),
    (
        "mutation ($c: ID!, $u: ID!) { assignCourse(input: {courseId: $c, userIds: [$u]}) "
        "{ skipped { reason } } }",
        lambda s, n: {"c": gid("Course", n), "u": s.learner.id},
    ),
    (
        "mutation ($c: ID!, $u: ID!) { assignCourse(input: {courseId: $c, userIds: [$u]}) "
        "{ skipped { reason } } }",
        lambda s, n: {"c": gid("Course", s.quiz_course), "u": gid("User", n)},
    ),
    (
        "mutation ($e: ID!, $x: ID!) { completeChapter(enrollmentId: $e, chapterId: $x) { id } }",
        lambda s, n: {"e": gid("Enrollment", n), "x": gid("Chapter", n)},
    ),
    (
        "mutation ($e: ID!, $q: ID!) { answerQuiz(enrollmentId: $e, questionId: $q, choice: 0)"
        " { id } }",
        lambda s, n: {"e": gid("Enrollment", n), "q": gid("Question", n)},
    ),
    (
        'mutation ($u: ID!) { updateUser(input: {id: $u, name: "X"}) { id } }',
        lambda s, n: {"u": gid("User", n)},
    ),
    (
        'mutation ($c: ID!) { createCourse(input: {title: "T", courseType: "self_paced", '
        "kind: CURRICULUM, courseIds: [$c]}) { id } }",
        lambda s, n: {"c": gid("Course", n)},
    ),
    (
        "mutation ($u: ID!) { createXapiCredential(userId: $u) { secret } }",
        lambda s, n: {"u": gid("User", n)},
    ),
    (
        "mutation ($x: ID!) { revokeXapiCredential(id: $x) { id } }",
        lambda s, n: {"x": gid("XapiCredential", n)},
    ),
    (
        "mutation ($s: ID!) { enrollInSession(sessionId: $s) { id } }",
        lambda s, n: {"s": gid("Session", n)},
    ),
    (
        "mutation ($c: ID!) { setCertificateValidity(courseId: $c, validDays: 3) { validDays } }",
        lambda s, n: {"c": gid("Course", n)},
    ),
]


def _outcome(body: dict[str, Any]) -> Any:
    """An answer without what names the ID asked for: the data and the error codes."""
    return body.get("data"), [e["extensions"]["code"] for e in body.get("errors") or ()]


@pytest.mark.parametrize(("document", "variables"), ID_DOCUMENTS)
async def test_ids_past_the_integer_range_answer_as_unknown_ids(
    lms: LMS,
    http: AsyncClient,
    scene: Scene,
    document: str,
    variables: Callable[[Scene, int], dict[str, Any]],
) -> None:
    check = await checker(lms, http, scene.admin)
    unknown = _outcome(await check.graphql(document, variables(scene, UNKNOWN)))
    await check.unchanged()
    for number in BIG_NUMBERS:
        assert _outcome(await check.graphql(document, variables(scene, number))) == unknown
        await check.unchanged()


async def test_run_action_answers_each_id_past_the_range_as_named(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    """Every named ID gets its own outcome echoing it, in the order named: IDs past the
    integer range are not folded into one."""
    check = await checker(lms, http, scene.admin)
    named = [
        gid("Enrollment", 2**31),
        gid("Enrollment", scene.quiz_enrollment),
        gid("Enrollment", 10**30),
        gid("Enrollment", UNKNOWN),
    ]
    body = await check.graphql(
        'mutation ($e: [ID!]!) { runAction(input: {action: "mark_complete", enrollmentIds: $e})'
        " { succeeded failed outcomes { enrollmentId status code } } }",
        {"e": named},
    )
    run = body["data"]["runAction"]
    assert [o["enrollmentId"] for o in run["outcomes"]] == named
    assert [o["code"] for o in run["outcomes"]] == ["NOT_FOUND", None, "NOT_FOUND", "NOT_FOUND"]
    assert (run["succeeded"], run["failed"]) == (1, 3)


async def test_ids_past_the_integer_range_on_http_routes_are_404(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    good_file = b"Email ID,Employee ID\r\nlea@example.com,\r\n"
    for number in (UNKNOWN, *BIG_NUMBERS):
        enrollment, course = gid("Enrollment", number), gid("Course", number)
        report = gid("ImportReport", number)
        await check.request(
            "POST",
            f"/scorm/runtime/{enrollment}",
            404,
            "NOT_FOUND",
            json={"cmi.core.lesson_status": "passed"},
        )
        await check.request("GET", f"/exports/quiz/enrollments/{enrollment}.xlsx", 404, "NOT_FOUND")
        await check.request("GET", f"/exports/quiz/courses/{course}.xlsx", 404, "NOT_FOUND")
        await check.request("GET", f"/imports/reports/{report}/failures.csv", 404, "NOT_FOUND")
        await check.request(
            "POST",
            "/imports/assignments",
            404,
            "NOT_FOUND",
            params={"courseId": course},
            files={"file": ("learners.csv", good_file, "text/csv")},
        )


async def test_xapi_iris_and_accounts_past_the_integer_range_name_nothing(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    """Stored (they are valid statements) but linked to no user, course or enrollment."""
    for number in BIG_NUMBERS:
        body = {
            "actor": {"account": {"homePage": "urn:lms-graph:users", "name": gid("User", number)}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": f"urn:lms-graph:course:{number}"},
        }
        headers = {**XAPI, "Authorization": f"Bearer {scene.admin.token}"}
        response = await http.post("/xapi/statements", json=body, headers=headers)
        assert response.status_code == 200, response.text
        no_connection_out(lms)
    async with lms.db.reader() as conn:
        rows = (await conn.execute(select(xapi_statements))).all()
    assert len(rows) == len(BIG_NUMBERS)
    assert all(
        row.user_id is None and row.course_id is None and row.enrollment_id is None for row in rows
    )


async def test_an_activity_cursor_past_the_integer_range_is_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    for pk in (2**31, 10**30):
        cursor = base64.urlsafe_b64encode(
            f"{dt.datetime.now(dt.UTC).isoformat()}|1|{pk}".encode()
        ).decode()
        message = await check.refused(
            "query ($e: ID!, $a: String) { enrollment(id: $e) { activity(after: $a) "
            "{ totalCount } } }",
            {"e": gid("Enrollment", scene.scorm_enrollment), "a": cursor},
        )
        assert "cursor" in message


async def test_a_forged_cursor_holding_a_nul_character_is_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    """Cursors are not signed: one naming a learner's name with a NUL in it never reaches
    PostgreSQL."""
    check = await checker(lms, http, scene.admin)
    query = (
        "query ($c: ID!, $a: String) { course(id: $c) { learners(first: 1, after: $a, "
        "orderBy: {field: NAME}) { edges { cursor } } } }"
    )
    course = gid("Course", scene.quiz_course)
    body = await check.graphql(query, {"c": course})
    cursor = body["data"]["course"]["learners"]["edges"][0]["cursor"]
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = [NUL if isinstance(value, str) else value for value in values]
    assert forged != values
    after = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    message = await check.refused(query, {"c": course, "a": after})
    assert "cursor" in message


# --- NUL characters and over-long strings in GraphQL -------------------------------------


async def test_nul_characters_in_string_arguments_are_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    course = gid("Course", scene.quiz_course)
    enrollment = gid("Enrollment", scene.quiz_enrollment)
    literal = await check.refused('{ courses(search: "a\\u0000b") { totalCount } }')
    assert "`courses(search:)`" in literal
    assert "NUL" in literal
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("query ($s: String) { courses(search: $s) { totalCount } }", {"s": NUL}, "`$s`"),
        ("query ($s: String) { users(search: $s) { totalCount } }", {"s": NUL}, "`$s`"),
        (
            "query ($c: ID!, $s: String) { course(id: $c) { learners(filter: {search: $s}) "
            "{ totalCount } } }",
            {"c": course, "s": NUL},
            "`$s`",
        ),
        (
            "query ($c: ID!, $f: LearnerFilter) { course(id: $c) { learners(filter: $f) "
            "{ totalCount } } }",
            {"c": course, "f": {"search": NUL}},
            "`$f.search`",
        ),
        (
            "mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }",
            {"i": {"name": NUL, "email": "new@example.com"}},
            "`$i.name`",
        ),
        (
            "mutation ($i: CreateCourseInput!) { createCourse(input: $i) { id } }",
            {"i": {"title": NUL, "courseType": "self_paced", "kind": "COURSE"}},
            "`$i.title`",
        ),
        (
            "mutation ($i: AssignCourseInput!) { assignCourse(input: $i) { skipped { reason } } }",
            {"i": {"courseId": course, "userIds": [scene.admin.id], "message": NUL}},
            "`$i.message`",
        ),
        (
            "mutation ($i: RunActionInput!) { runAction(input: $i) { succeeded } }",
            {"i": {"action": "mark_complete", "enrollmentIds": [enrollment], "note": NUL}},
            "`$i.note`",
        ),
        (
            "mutation ($i: RunActionInput!) { runAction(input: $i) { succeeded } }",
            {
                "i": {
                    "action": "mark_complete",
                    "enrollmentIds": [enrollment],
                    "idempotencyKey": NUL,
                }
            },
            "`$i.idempotencyKey`",
        ),
        (
            'mutation ($e: ID!, $p: JSON) { runAction(input: {action: "update_due_date", '
            "enrollmentIds: [$e], params: $p}) { succeeded } }",
            {"e": enrollment, "p": {"dueDate": "2999-01-01", "x": [NUL]}},
            "`$p.x[0]`",
        ),
        (
            "mutation ($l: String) { createXapiCredential(label: $l) { secret } }",
            {"l": NUL},
            "`$l`",
        ),
    ]
    for query, variables, named in cases:
        message = await check.refused(query, variables)
        assert named in message, message
        assert "NUL" in message


async def test_strings_past_their_maximum_length_are_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    enrollment = gid("Enrollment", scene.quiz_enrollment)
    search = "query ($s: String) { courses(search: $s) { totalCount } }"
    # A 60,000-character search once made SQLite answer "LIKE pattern too complex".
    message = await check.refused(search, {"s": "x" * 60_000})
    assert "`$s`" in message
    assert f"at most {MAX_LENGTHS['search']}" in message
    literal = await check.refused('{ courses(search: "%s") { totalCount } }' % ("y" * 201))
    assert "`courses(search:)`" in literal
    ok = await check.graphql(search, {"s": "x" * MAX_LENGTHS["search"]})
    assert ok["data"]["courses"]["totalCount"] == 0
    run = "mutation ($i: RunActionInput!) { runAction(input: $i) { succeeded } }"
    for key in ("k" * 100_000, "k" * (MAX_LENGTHS["idempotencyKey"] + 1)):
        message = await check.refused(
            run,
            {
                "i": {
                    "action": "mark_complete",
                    "enrollmentIds": [enrollment],
                    "idempotencyKey": key,
                }
            },
        )
        assert "`$i.idempotencyKey`" in message
    message = await check.refused(
        run,
        {"i": {"action": "mark_complete", "enrollmentIds": [enrollment], "note": "n" * 2_001}},
    )
    assert "`$i.note`" in message
    # Any other string: the default maximum (here an ID, which is a string too).
    message = await check.refused(
        "query ($e: ID!) { enrollment(id: $e) { id } }", {"e": "E" * (DEFAULT_MAX_LENGTH + 1)}
    )
    assert f"at most {DEFAULT_MAX_LENGTH:,}" in message


async def test_json_values_nested_too_deep_or_not_finite_are_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    enrollment = gid("Enrollment", scene.quiz_enrollment)
    run = (
        'mutation ($e: ID!, $p: JSON) { runAction(input: {action: "mark_complete", '
        "enrollmentIds: [$e], params: $p}) { succeeded } }"
    )
    deep = '{"a":' * 1000 + '"x"' + "}" * 1000  # deeper than a JSON encoder here may write
    request = {"query": run, "variables": {"e": enrollment, "p": "DEEP"}}
    body = json.dumps(request).replace('"DEEP"', deep)
    response = await check.request(
        "POST", "/graphql", 200, None, content=body, headers={"content-type": "application/json"}
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"more than {MAX_DEPTH} levels" in error["message"]
    literal = await check.refused(
        'mutation ($e: ID!) { runAction(input: {action: "mark_complete", enrollmentIds: [$e], '
        "params: {x: 1e999}}) { succeeded } }",
        {"e": enrollment},
    )
    assert "finite" in literal


# --- CSV imports ---------------------------------------------------------------------


async def test_nul_characters_and_long_cells_in_csv_files_are_refused(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    course = gid("Course", scene.quiz_course)
    files = [
        (b"Email ID,Employee ID\r\nlea@example.com,E-\x001\r\n", "Row 2 holds a NUL"),
        ("Email ID,Employee ID\r\nlea@example.com,\r\n".encode("utf-16-le"), "Row 1 holds a NUL"),
        (
            b"Email ID,Employee ID\r\nlea@example.com,\r\n" + b"z" * 1_001 + b",\r\n",
            "Row 3 has a cell longer than 1000 characters",
        ),
    ]
    for content, expected in files:
        response = await check.request(
            "POST",
            "/imports/assignments",
            400,
            "BAD_USER_INPUT",
            params={"courseId": course},
            files={"file": ("learners.csv", content, "text/csv")},
        )
        assert expected in response.json()["error"]
        operations = {
            "query": "mutation ($i: ImportAssignmentsInput!) { importAssignments(input: $i) "
            "{ id } }",
            "variables": {"i": {"courseId": course, "file": None}},
        }
        graphql = await check.request(
            "POST",
            "/graphql",
            200,
            None,
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.i.file"]}),
            },
            files={"0": ("learners.csv", content, "text/csv")},
        )
        [error] = graphql.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert expected in error["message"]


async def test_import_form_fields_are_checked_like_arguments(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    course = gid("Course", scene.quiz_course)
    content = b"Email ID,Employee ID\r\nlea@example.com,\r\n"
    for fields, named in [
        ({"message": NUL}, "`message`"),
        ({"idempotencyKey": NUL}, "`idempotencyKey`"),
        ({"idempotencyKey": "k" * 100_000}, "`idempotencyKey`"),
        ({"message": "m" * (MAX_LENGTHS["message"] + 1)}, "`message`"),
    ]:
        response = await check.request(
            "POST",
            "/imports/assignments",
            400,
            "BAD_USER_INPUT",
            params={"courseId": course},
            data=fields,
            files={"file": ("learners.csv", content, "text/csv")},
        )
        assert named in response.json()["error"]


async def test_a_nul_character_in_an_uploaded_file_name_is_left_out(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    """The file name is the client's label, not input to refuse: it is stored without."""
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="learn\x00ers.csv"\r\nContent-Type: text/csv\r\n\r\n'
        "Email ID,Employee ID\r\nnobody@example.com,\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()
    response = await http.post(
        "/imports/assignments",
        params={"courseId": gid("Course", scene.quiz_course), "dryRun": "true"},
        content=body,
        headers={
            "Authorization": f"Bearer {scene.admin.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["fileName"] == "learners.csv"
    no_connection_out(lms)


# --- xAPI and SCORM bodies -----------------------------------------------------------


def _statement(scene: Scene, **extra: Any) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:lea@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/progressed"},
        "object": {"id": scene.course_iri},
        **extra,
    }


def _raw(statement: dict[str, Any], number: str) -> bytes:
    """The statement as JSON text with ``number`` where ``0`` (the placeholder) stood."""
    return json.dumps(statement).replace("123456789", number).encode()


async def test_json_bodies_nested_too_deep_are_400(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.learner)
    json_type = {"content-type": "application/json"}
    too_deep: Any = 1
    for _ in range(MAX_DEPTH):
        too_deep = [too_deep]
    extensions = {"https://example.com/deep": too_deep}
    bodies = [DEEP, json.dumps(_statement(scene, result={"extensions": extensions})).encode()]
    for body in bodies:
        for method, url in [
            ("POST", "/xapi/statements"),
            ("PUT", f"/xapi/statements?statementId={uuid.uuid4()}"),
        ]:
            response = await check.request(
                method, url, 400, "BAD_USER_INPUT", content=body, headers={**XAPI, **json_type}
            )
            assert f"more than {MAX_DEPTH} levels" in response.json()["error"]
    runtime = f"/scorm/runtime/{gid('Enrollment', scene.scorm_enrollment)}"
    response = await check.request(
        "POST", runtime, 400, "BAD_USER_INPUT", content=DEEP, headers=json_type
    )
    assert f"more than {MAX_DEPTH} levels" in response.json()["error"]
    agent = "[" * 1000 + "]" * 1000
    await check.request(
        "GET", "/xapi/statements", 400, "BAD_USER_INPUT", params={"agent": agent}, headers=XAPI
    )


async def test_xapi_and_scorm_numbers_must_be_finite(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.learner)
    json_type = {**XAPI, "content-type": "application/json"}
    places = [
        _statement(scene, result={"score": {"raw": 123456789}}),
        _statement(scene, result={"extensions": {"https://example.com/x": 123456789}}),
    ]
    for statement in places:
        for number in ("NaN", "Infinity", "-Infinity", "1e999"):
            response = await check.request(
                "POST",
                "/xapi/statements",
                400,
                "BAD_USER_INPUT",
                content=_raw(statement, number),
                headers=json_type,
            )
            assert "finite" in response.json()["error"]
    runtime = f"/scorm/runtime/{gid('Enrollment', scene.scorm_enrollment)}"
    for body in (b'{"cmi.core.score.raw": NaN}', b'{"cmi.x": 1e999}', b'{"cmi.x": -Infinity}'):
        await check.request(
            "POST",
            runtime,
            400,
            "BAD_USER_INPUT",
            content=body,
            headers={"content-type": "application/json"},
        )


async def test_nul_characters_in_xapi_and_scorm_input_are_400(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.learner)
    bodies = [
        _statement(scene, result={"response": NUL}),
        _statement(scene, result={"extensions": {"https://example.com/a": {NUL: 1}}}),
        {**_statement(scene), "verb": {"id": "http://example.com/v\x00"}},
    ]
    for body in bodies:
        response = await check.request(
            "POST", "/xapi/statements", 400, "BAD_USER_INPUT", json=body, headers=XAPI
        )
        assert "NUL" in response.json()["error"]
    runtime = f"/scorm/runtime/{gid('Enrollment', scene.scorm_enrollment)}"
    for data in ({"cmi.suspend_data": NUL}, {"cmi.x\x00": "1"}, {"cmi.location": [NUL]}):
        await check.request("POST", runtime, 400, "BAD_USER_INPUT", json=data)
    for params in ({"verb": "http://example.com/v\x00"}, {"activity\x00": "x"}):
        await check.request(
            "GET", "/xapi/statements", 400, "BAD_USER_INPUT", params=params, headers=XAPI
        )
    key = base64.b64encode(b"xk_\x00:secret").decode()
    await check.request(
        "GET",
        "/xapi/statements",
        401,
        "UNAUTHENTICATED",
        headers={**XAPI, "Authorization": f"Basic {key}"},
    )


async def test_identifiers_longer_than_their_column_are_400(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    long_iri = "https://example.com/" + "a" * 1100
    for body in [
        {**_statement(scene), "verb": {"id": long_iri}},
        {**_statement(scene), "object": {"id": long_iri}},
        {**_statement(scene), "actor": {"openid": long_iri}},
    ]:
        response = await check.request(
            "POST", "/xapi/statements", 400, "BAD_USER_INPUT", json=body, headers=XAPI
        )
        assert "longer than 1024" in response.json()["error"]


async def test_an_object_interaction_type_is_400(lms: LMS, http: AsyncClient, scene: Scene) -> None:
    check = await checker(lms, http, scene.learner)
    for interaction in ({"a": 1}, ["choice"], 3):
        body = _statement(
            scene,
            object={"id": "https://example.com/q1", "definition": {"interactionType": interaction}},
        )
        response = await check.request(
            "POST", "/xapi/statements", 400, "BAD_USER_INPUT", json=body, headers=XAPI
        )
        assert "interactionType" in response.json()["error"]


async def test_bad_query_parameters_of_get_statements_are_400(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    for limit in ("\u00b2", "\u0663", "-1"):
        await check.request(
            "GET", "/xapi/statements", 400, "BAD_USER_INPUT", params={"limit": limit}, headers=XAPI
        )
    response = await check.request(
        "GET", "/xapi/statements", 200, None, params={"limit": "9" * 5000}, headers=XAPI
    )
    assert response.json() == {"statements": [], "more": ""}


async def test_a_statement_stored_before_the_rules_never_breaks_a_read(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    """Numbers JSON cannot write (NaN: SQLite only, PostgreSQL's json refuses it; an
    integer past 64 bits), stored before they were refused, come back as null / a float."""
    values: list[Any] = [10**30, 10**400]
    if lms.db.is_sqlite:
        values.append(float("nan"))
    now = dt.datetime.now(dt.UTC)
    async with lms.db.transaction() as conn:
        for index, value in enumerate(values):
            statement_id = str(uuid.uuid4())
            body = {
                **_statement(scene),
                "id": statement_id,
                "result": {"extensions": {"https://example.com/n": value}},
                "stored": now.isoformat(),
            }
            await conn.execute(
                insert(xapi_statements).values(
                    statement_id=statement_id,
                    signature=f"{index:064d}",
                    actor_key="mbox:mailto:lea@example.com",
                    verb_id=body["verb"]["id"],
                    activity_id=scene.course_iri,
                    user_id=scene.learner.user.id,
                    enrollment_id=scene.scorm_enrollment,
                    course_id=None,
                    stored=now,
                    body=body,
                )
            )
    for viewer in (scene.admin, scene.learner):
        headers = {**XAPI, "Authorization": f"Bearer {viewer.token}"}
        response = await http.get("/xapi/statements", headers=headers)
        assert response.status_code == 200, response.text
        found = [
            s["result"]["extensions"]["https://example.com/n"]
            for s in response.json()["statements"]
        ]
        assert sorted(found, key=repr) == sorted(
            [1e30, None] + ([None] if lms.db.is_sqlite else []), key=repr
        )
        no_connection_out(lms)
    activity = await http.post(
        "/graphql",
        json={
            "query": "query ($e: ID!) { enrollment(id: $e) { activity "
            "{ edges { node { statement } } } } }",
            "variables": {"e": gid("Enrollment", scene.scorm_enrollment)},
        },
        headers={"Authorization": f"Bearer {scene.admin.token}"},
    )
    assert activity.status_code == 200, activity.text
    assert "errors" not in activity.json(), activity.json()


# --- HEAD ---------------------------------------------------------------------------


async def test_head_on_xapi_resources_is_get_without_a_body_and_writes_nothing(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.learner)
    body = json.dumps(_statement(scene)).encode()
    headers = {**XAPI, "content-type": "application/json"}
    head = await check.request("HEAD", "/xapi/statements", 200, None, content=body, headers=headers)
    assert head.content == b""
    get = await check.request("GET", "/xapi/statements", 200, None, headers=XAPI)
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["X-Experience-API-Version"] == "1.0.3"
    refused = await check.request("HEAD", "/xapi/statements?limit=x", 400, None, headers=XAPI)
    assert refused.content == b""
    about = await http.head("/xapi/about")
    assert about.status_code == 200
    assert about.content == b""
    assert (
        about.headers["content-length"] == (await http.get("/xapi/about")).headers["content-length"]
    )
    await check.unchanged()


# --- other routes ---------------------------------------------------------------------


async def test_certificate_codes_no_certificate_can_have_are_404(
    lms: LMS, http: AsyncClient, scene: Scene
) -> None:
    check = await checker(lms, http, scene.admin)
    for code in ("a%00b", "c" * 65):
        response = await check.request("GET", f"/certificates/verify/{code}", 404, None)
        assert response.json()["valid"] is False
        await check.request("GET", f"/certificates/{code}.pdf", 404, "NOT_FOUND")
