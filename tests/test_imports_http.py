"""CSV import over plain HTTP: the sample, the form upload, the non-imported list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient, Response

from lms_graph.core import LMS
from lms_graph.downloads import sign
from lms_graph.ids import from_global_id
from lms_graph.import_links import SAMPLE_PATH, failures_path
from lms_graph.records import CourseRecord
from lms_graph.services.assignments import REASON_NOT_FOUND
from lms_graph.spreadsheet import FORMULA_TRIGGERS
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.test_imports import counts, csv_file, download_rows, report_of

REPORT_FIELDS = {
    "id",
    "message",
    "importedCount",
    "failedCount",
    "failures",
    "downloadUrl",
    "fileName",
    "dryRun",
}
SAMPLE_URL = "{ importSampleUrl }"


async def form_upload(
    client: AsyncClient,
    course: CourseRecord | str,
    content: bytes,
    token: str | None,
    *,
    file_name: str = "learners.csv",
    **fields: str,
) -> Response:
    course_id = course if isinstance(course, str) else gid("Course", course.id)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/imports/assignments",
        params={"courseId": course_id},
        data=fields,
        files={"file": (file_name, content, "text/csv")},
        headers=headers,
    )


def ok(response: Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == REPORT_FIELDS
    return body


def refusal(response: Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    message: str = body["error"]
    assert message
    return message


def bearer(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {actor.token}"}


# --- the sample -----------------------------------------------------------------------


async def test_sample_file(client: AsyncClient, gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    response = await client.get(SAMPLE_PATH, headers=bearer(admin))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="sample.csv"'
    lines = response.content.decode("utf-8").split("\r\n")
    assert lines[0] == "Email ID,Employee ID"
    assert len(lines) > 2

    # A signed link opens it without a header; without either, 401.
    url = (await gql.data(SAMPLE_URL, token=admin.token))["importSampleUrl"]
    assert url.startswith(f"{SAMPLE_PATH}?token=")
    assert (await client.get(url)).content == response.content
    refusal(await client.get(SAMPLE_PATH), 401, "UNAUTHENTICATED")

    # The sample itself imports cleanly once its users exist.
    await world.user("Jane", email="jane.doe@example.com", employee_id="E-1001")
    await world.user("John", email="john.roe@example.com")
    await world.user("Jo", employee_id="E-1003")
    course = await world.course()
    report = ok(await form_upload(client, course, response.content, admin.token))
    assert report["message"] == "Import process completed and 3 users imported successfully."


# --- the form upload ------------------------------------------------------------------


async def test_form_upload_answers_the_graphql_report(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    await world.user("Bob", email="bob@example.com")
    course = await world.course()
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    content = csv_file([("ann@example.com", ""), ("nobody@example.com", "")])
    report = ok(
        await form_upload(
            client,
            course,
            content,
            admin.token,
            file_name="people.csv",
            assignment="REQUIRED",
            dueDate=due,
            message="Welcome aboard",
        )
    )
    assert report["message"] == (
        "Import process completed: 1 users imported successfully and 1 failed."
    )
    assert report["importedCount"] == 1
    assert report["failedCount"] == 1
    assert report["fileName"] == "people.csv"
    assert report["dryRun"] is False
    assert report["failures"] == [
        {
            "row": 3,
            "email": "nobody@example.com",
            "employeeId": None,
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        }
    ]
    assert report["downloadUrl"].startswith("/imports/reports/")

    # The same report through GraphQL, field for field.
    query = """query ($id: ID!) { importReport(id: $id) {
        id message importedCount failedCount fileName dryRun
        failures { row email employeeId code reason } } }"""
    stored = (await gql.data(query, {"id": report["id"]}, token=admin.token))["importReport"]
    assert stored == {key: value for key, value in report.items() if key != "downloadUrl"}

    learners = """query ($id: ID!) { course(id: $id) { learners(first: 10) {
        edges { node { assignment dueDate message } } } } }"""
    data = await gql.data(learners, {"id": gid("Course", course.id)}, token=admin.token)
    [edge] = data["course"]["learners"]["edges"]
    assert edge["node"] == {"assignment": "REQUIRED", "dueDate": due, "message": "Welcome aboard"}

    # A second time: Ann is assigned by now.
    again = ok(await form_upload(client, course, content, admin.token))
    assert [failure["code"] for failure in again["failures"]] == ["ALREADY_ASSIGNED", "NOT_FOUND"]


async def test_form_dry_run_and_retry(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    content = csv_file([("ann@example.com", "")])
    before = await counts(lms)

    dry = ok(await form_upload(client, course, content, admin.token, dryRun="true"))
    assert dry["dryRun"] is True
    assert dry["importedCount"] == 1
    enrollments, attempts, reports = await counts(lms)
    assert (enrollments, attempts) == before[:2]
    assert reports == before[2] + 1

    first = ok(await form_upload(client, course, content, admin.token, idempotencyKey="k-1"))
    again = ok(await form_upload(client, course, content, admin.token, idempotencyKey="k-1"))
    assert again["id"] == first["id"]
    assert again["importedCount"] == 1
    other = csv_file([("ann@example.com", ""), ("x@example.com", "")])
    conflict = await form_upload(client, course, other, admin.token, idempotencyKey="k-1")
    refusal(conflict, 409, "CONFLICT")
    assert (await counts(lms))[0] == before[0] + 1


async def test_form_bad_files_are_400_and_change_nothing(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    cases: list[tuple[bytes, str]] = [
        (b"", "empty"),
        (b"Email,Employee ID\r\nann@example.com,\r\n", "'Email ID,Employee ID'"),
        (b"Email ID,Employee ID\r\n", "no rows"),
        ("Email ID,Employee ID\r\nrené@example.com,\r\n".encode("cp1252"), "not UTF-8"),
        (b"Email ID,Employee ID\r\n" + b"y" * 140_000 + b",\r\n", "longer than 131072"),
    ]
    before = await counts(lms)
    for content, expected in cases:
        message = refusal(
            await form_upload(client, course, content, admin.token), 400, "BAD_USER_INPUT"
        )
        assert expected in message, message
    lms.settings = lms.settings.replace(max_import_rows=1)
    two_rows = csv_file([("ann@example.com", ""), ("bob@example.com", "")])
    message = refusal(
        await form_upload(client, course, two_rows, admin.token), 400, "BAD_USER_INPUT"
    )
    assert "more than 1 rows" in message
    assert await counts(lms) == before


async def test_form_file_over_the_size_limit_is_413(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    before = await counts(lms)
    limit = lms.settings.max_upload_bytes
    row = b"nobody@example.com,E-0\r\n"
    content = b"Email ID,Employee ID\r\n" + row * (limit // len(row) + 1)
    assert len(content) > limit
    message = refusal(
        await form_upload(client, course, content, admin.token), 413, "PAYLOAD_TOO_LARGE"
    )
    assert "10 MB" in message

    # Just over a smaller limit: the file itself is measured, not only the request.
    lms.settings = lms.settings.replace(max_upload_bytes=1000)
    small = b"Email ID,Employee ID\r\n" + row * 50
    refusal(await form_upload(client, course, small, admin.token), 413, "PAYLOAD_TOO_LARGE")
    assert await counts(lms) == before


async def test_form_options_and_request_errors(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await world.course()
    content = csv_file([("ann@example.com", "")])
    before = await counts(lms)
    for fields, expected in (
        ({"assignment": "SOMETIMES"}, "REQUIRED or OPTIONAL"),
        ({"dueDate": "next week"}, "dueDate"),
        ({"dueDate": "2000-01-01"}, "past"),
        ({"dryRun": "maybe"}, "dryRun"),
    ):
        message = refusal(
            await form_upload(client, course, content, admin.token, **fields),
            400,
            "BAD_USER_INPUT",
        )
        assert expected in message
    no_course = await client.post(
        "/imports/assignments", files={"file": ("a.csv", content)}, headers=bearer(admin)
    )
    assert "courseId" in refusal(no_course, 400, "BAD_USER_INPUT")
    not_multipart = await client.post(
        "/imports/assignments",
        params={"courseId": gid("Course", course.id)},
        content=content,
        headers={**bearer(admin), "Content-Type": "text/csv"},
    )
    assert "multipart" in refusal(not_multipart, 400, "BAD_USER_INPUT")
    no_file = await client.post(
        "/imports/assignments",
        params={"courseId": gid("Course", course.id)},
        data={"dryRun": "true"},
        files={"other": ("a.csv", content)},
        headers=bearer(admin),
    )
    assert "`file`" in refusal(no_file, 400, "BAD_USER_INPUT")
    refusal(await form_upload(client, "nonsense", content, admin.token), 400, "BAD_USER_INPUT")
    refusal(
        await form_upload(client, gid("Course", 10_000), content, admin.token), 404, "NOT_FOUND"
    )
    assert await counts(lms) == before


async def test_form_upload_permissions(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    teacher = await world.user("Tess")
    outsider = await world.user("Otto")
    learner = await world.user("Lena", email="lena@example.com")
    course = await world.course()
    elsewhere = await world.course("Elsewhere")
    await world.instructor(course, teacher)
    await world.instructor(elsewhere, outsider)
    content = csv_file([("lena@example.com", "")])
    before = await counts(lms)

    # Multipart uploads only with a bearer token: no token, or a download link's, is 401.
    refusal(await form_upload(client, course, content, None), 401, "UNAUTHENTICATED")
    link = sign(lms.settings, admin.user.id, "/imports/assignments").partition("?token=")[2]
    response = await client.post(
        "/imports/assignments",
        params={"courseId": gid("Course", course.id), "token": link},
        files={"file": ("a.csv", content)},
    )
    refusal(response, 401, "UNAUTHENTICATED")
    for viewer in (outsider, learner):
        refusal(await form_upload(client, course, content, viewer.token), 403, "FORBIDDEN")
    assert await counts(lms) == before
    assert ok(await form_upload(client, course, content, teacher.token))["importedCount"] == 1


# --- the non-imported list --------------------------------------------------------------


async def test_non_imported_list_download(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    teacher = await world.user("Tess")
    outsider = await world.user("Otto")
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    elsewhere = await world.course("Elsewhere")
    await world.instructor(course, teacher)
    await world.instructor(elsewhere, outsider)
    nasty = [
        ('=HYPERLINK("http://evil.example")', ""),
        ("+1@example.com", "-2"),
        ("@SUM(A1:A2)", "\tE-3"),
        ("", "\rE-4"),
        ("plain@example.com", "=1+1"),
    ]
    content = csv_file([("ann@example.com", ""), *nasty])
    report = ok(await form_upload(client, course, content, teacher.token))
    assert report["failedCount"] == len(nasty)

    response = await client.get(report["downloadUrl"])  # the signed link alone
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="Non_Imported_List_{today}.csv"'
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "no-store" in response.headers["cache-control"]
    assert response.content.decode("utf-8").startswith("Email ID,Employee ID,Reason\r\n")
    rows = download_rows(response)
    assert rows[0] == ["Email ID", "Employee ID", "Reason"]
    for cells in rows[1:]:
        assert cells[2] == REASON_NOT_FOUND
        for cell in cells:
            assert not cell.startswith(FORMULA_TRIGGERS), cells
    assert [cells[:2] for cells in rows[1:]] == [
        ['\'=HYPERLINK("http://evil.example")', ""],
        ["'+1@example.com", "'-2"],
        ["'@SUM(A1:A2)", "E-3"],  # cells are trimmed: a leading tab or CR goes
        ["", "E-4"],
        ["plain@example.com", "'=1+1"],
    ]

    # A bearer header works too, for admins and the course's instructors only.
    path = failures_path(_pk(report["id"]))
    for viewer in (admin, teacher):
        assert (await client.get(path, headers=bearer(viewer))).content == response.content
    refusal(await client.get(path, headers=bearer(outsider)), 404, "NOT_FOUND")
    refusal(await client.get(path), 401, "UNAUTHENTICATED")
    # A link opens only the report it was signed for.
    token = report["downloadUrl"].partition("?token=")[2]
    other = await client.get(failures_path(_pk(report["id"]) + 1), params={"token": token})
    refusal(other, 401, "UNAUTHENTICATED")
    refusal(
        await client.get("/imports/reports/nonsense/failures.csv", headers=bearer(admin)),
        404,
        "NOT_FOUND",
    )


async def test_fifty_failures_download_in_full(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    rows = [(f"nobody{i}@example.com", f"E-{i}") for i in range(120)]
    report = await report_of(client, course, csv_file(rows), admin.token)
    assert report["failures"] is None
    downloaded = download_rows(await client.get(report["downloadUrl"]))
    assert downloaded[1:] == [[email, employee_id, REASON_NOT_FOUND] for email, employee_id in rows]


def _pk(global_id: str) -> int:
    return from_global_id(global_id)[1]
