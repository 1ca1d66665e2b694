"""CSV import through ``importAssignments``: real files in real GraphQL multipart requests
(``operations``, ``map`` and file parts, per the GraphQL multipart request spec)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any
from unittest.mock import patch

from httpx import AsyncClient, Response
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from lms_graph import csvfiles
from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from lms_graph.services.assignments import (
    REASON_ALREADY_ASSIGNED,
    REASON_DEACTIVATED,
    REASON_DIFFERENT_USERS,
    REASON_NOT_FOUND,
)
from lms_graph.services.imports import REASON_MISSING_ID
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid

IMPORT = """
mutation ($input: ImportAssignmentsInput!) {
  importAssignments(input: $input) {
    id message importedCount failedCount fileName dryRun downloadUrl
    failures { row email employeeId code reason }
  }
}
"""
REPORT = """
query ($id: ID!) {
  importReport(id: $id) { id message importedCount failedCount dryRun fileName
                          failures { row code } downloadUrl course { title } }
  node(id: $id) { id ... on ImportReport { failedCount } }
}
"""
LEARNERS = """
query ($id: ID!) {
  course(id: $id) {
    learners(first: 100) {
      totalCount
      edges { node { user { email } assignment dueDate message assignedBy { id } } }
    }
  }
}
"""
DEACTIVATE = "mutation ($id: ID!) { updateUser(input: {id: $id, active: false}) { id } }"


def csv_file(rows: Sequence[Sequence[str]], *, header: str = "Email ID,Employee ID") -> bytes:
    """A file as Excel saves 'CSV UTF-8': a BOM, CRLF line ends, quoted when needed."""
    lines = [header]
    for row in rows:
        lines.append(",".join(_quoted(cell) for cell in row))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _quoted(cell: str) -> str:
    if any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


async def upload(
    client: AsyncClient,
    course: CourseRecord | str,
    content: bytes,
    token: str | None,
    *,
    file_name: str = "learners.csv",
    **options: Any,
) -> dict[str, Any]:
    """One ``importAssignments`` as a GraphQL multipart request; the response body."""
    course_id = course if isinstance(course, str) else gid("Course", course.id)
    variables = {"input": {"courseId": course_id, "file": None, **options}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (file_name, content, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def report_of(client: AsyncClient, *args: Any, **kwargs: Any) -> dict[str, Any]:
    body = await upload(client, *args, **kwargs)
    assert not body.get("errors"), body["errors"]
    report: dict[str, Any] = body["data"]["importAssignments"]
    return report


async def refused(client: AsyncClient, *args: Any, **kwargs: Any) -> dict[str, Any]:
    body = await upload(client, *args, **kwargs)
    assert body.get("errors"), f"expected an error, got {body}"
    assert body["data"] is None
    error: dict[str, Any] = body["errors"][0]
    return error


async def counts(lms: LMS) -> tuple[int, int, int]:
    """Enrollments, attempts and stored import reports: what an import writes."""
    async with lms.db.reader() as conn:
        return (
            (await conn.execute(select(func.count()).select_from(m.Enrollment))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(m.Attempt))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(m.ImportReportRow))).scalar_one(),
        )


def download_rows(response: Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(response.text.splitlines()))


async def _learners(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> dict[str, Any]:
    data = await gql.data(LEARNERS, {"id": gid("Course", course.id)}, token=viewer.token)
    learners: dict[str, Any] = data["course"]["learners"]
    return learners


# --- what an import does ------------------------------------------------------------


async def test_all_imported_with_the_options_chosen_for_the_whole_file(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com", employee_id="E-1")
    await world.user("Bob", email="bob@example.com", employee_id="E-2")
    await world.user("Cid", employee_id="E-3")
    course = await world.course()
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    content = csv_file(
        [
            ("ann@example.com", ""),  # email only
            ("", "E-2"),  # employee ID only
            ("", "E-3"),
            (" ANN@Example.com ", "E-1"),  # both, the same user again: imported once
        ]
    )
    report = await report_of(
        client,
        course,
        content,
        admin.token,
        file_name="team.csv",
        assignment="OPTIONAL",
        dueDate=due,
        message="Please finish by the end of the month.",
    )
    assert report["message"] == "Import process completed and 3 users imported successfully."
    assert report["importedCount"] == 3
    assert report["failedCount"] == 0
    assert report["failures"] == []
    assert report["downloadUrl"] is None
    assert report["fileName"] == "team.csv"
    assert report["dryRun"] is False

    learners = await _learners(gql, course, admin)
    assert learners["totalCount"] == 3
    for edge in learners["edges"]:
        node = edge["node"]
        assert node["assignment"] == "OPTIONAL"
        assert node["dueDate"] == due
        assert node["message"] == "Please finish by the end of the month."
        assert node["assignedBy"]["id"] == admin.id


async def test_without_assignment_a_due_date_makes_it_required(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    await report_of(client, course, csv_file([("ann@example.com", "")]), admin.token, dueDate=due)
    [edge] = (await _learners(gql, course, admin))["edges"]
    assert edge["node"]["assignment"] == "REQUIRED"

    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    error = await refused(
        client, course, csv_file([("x@example.com", "")]), admin.token, dueDate=past
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "past" in error["message"]


async def test_every_reason_with_its_row_number(
    client: AsyncClient, gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    ann = await world.user("Ann", email="ann@example.com", employee_id="E-1")
    bob = await world.user("Bob", email="bob@example.com", employee_id="E-2")
    gone = await world.user("Gus", email="gus@example.com", employee_id="E-9")
    await world.user("Dee", email="dee@example.com")
    course = await world.course()
    await world.assign(course, [bob], by=admin)
    await gql.data(DEACTIVATE, {"id": gone.id}, token=admin.token)

    content = csv_file(
        [
            ("ann@example.com", "E-1"),  # row 2: imported
            ("nobody@example.com", ""),  # row 3: unknown email
            ("", "E-404"),  # row 4: unknown employee ID
            ("gus@example.com", ""),  # row 5: deactivated
            ("", "E-2"),  # row 6: already assigned
            ("ann@example.com", "E-2"),  # row 7: two different users
            ("", ""),  # row 8: nothing to go by
            ("", "E-1"),  # row 9: Ann again: not a failure
            ("dee@example.com", "E-404"),  # row 10: a known email with an unknown ID
            ("not an email", ""),  # row 11: cannot be anyone's email
        ]
    )
    report = await report_of(client, course, content, admin.token)
    assert report["importedCount"] == 1
    assert report["failedCount"] == 8
    assert report["message"] == (
        "Import process completed: 1 users imported successfully and 8 failed."
    )
    assert report["downloadUrl"]
    assert report["failures"] == [
        {
            "row": 3,
            "email": "nobody@example.com",
            "employeeId": None,
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        },
        {
            "row": 4,
            "email": None,
            "employeeId": "E-404",
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        },
        {
            "row": 5,
            "email": "gus@example.com",
            "employeeId": None,
            "code": "DEACTIVATED",
            "reason": REASON_DEACTIVATED,
        },
        {
            "row": 6,
            "email": None,
            "employeeId": "E-2",
            "code": "ALREADY_ASSIGNED",
            "reason": REASON_ALREADY_ASSIGNED,
        },
        {
            "row": 7,
            "email": "ann@example.com",
            "employeeId": "E-2",
            "code": "MISMATCH",
            "reason": REASON_DIFFERENT_USERS,
        },
        {
            "row": 8,
            "email": None,
            "employeeId": None,
            "code": "MISSING_ID",
            "reason": REASON_MISSING_ID,
        },
        {
            "row": 10,
            "email": "dee@example.com",
            "employeeId": "E-404",
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        },
        {
            "row": 11,
            "email": "not an email",
            "employeeId": None,
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        },
    ]
    # The contract's sentences, word for word.
    assert REASON_NOT_FOUND == "Employee ID or Email ID not found"
    assert REASON_DEACTIVATED == "User with the given Email ID or Employee ID is deactivated"
    assert REASON_ALREADY_ASSIGNED == "User is already assigned to this course"
    assert REASON_DIFFERENT_USERS == "Email ID and Employee ID belong to different users"
    learners = await _learners(gql, course, admin)
    emails = sorted(edge["node"]["user"]["email"] for edge in learners["edges"])
    assert emails == [ann.user.email, bob.user.email]


async def test_quoted_cells_blank_lines_and_extra_columns(
    client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    await world.user("Bob", employee_id='E "2", B')
    course = await world.course()
    content = (
        b'Email ID,Employee ID\n"ann@example.com",""\n\n,"E ""2"", B",ignored\n'
        b'"multi\nline@example.com",\n'
    )
    report = await report_of(client, course, content, admin.token)
    assert report["importedCount"] == 2
    # Rows are numbered as a spreadsheet shows them: the blank line keeps its number.
    assert report["failures"] == [
        {
            "row": 5,
            "email": "multi\nline@example.com",
            "employeeId": None,
            "code": "NOT_FOUND",
            "reason": REASON_NOT_FOUND,
        }
    ]


async def test_line_ends_of_every_kind(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    for name in ("ann", "bob", "cid"):
        await world.user(name, email=f"{name}@example.com")
    course = await world.course()
    content = b"Email ID,Employee ID\rann@example.com,\r\nbob@example.com,\ncid@example.com,"
    report = await report_of(client, course, content, admin.token)
    assert report["importedCount"] == 3


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", "é", "𝄞", ",", '"', "\r", "\n", "\r\n"]), max_size=200).map(
        "".join
    ),
    chunk=st.integers(min_value=1, max_value=40),
    bom=st.booleans(),
)
def test_lines_are_read_as_a_file_opened_with_newline_empty(
    text: str, chunk: int, bom: bool
) -> None:
    """Chunked reading and incremental decoding cut the lines exactly where a file opened
    with ``newline=""`` does, wherever the chunks end (inside a character, inside CRLF)."""
    data = ("\ufeff" if bom else "").encode() + text.encode()
    with patch.object(csvfiles, "CHUNK_BYTES", chunk):
        lines = list(csvfiles._Lines(io.BytesIO(data), max_bytes=len(data)))
    assert lines == list(io.StringIO(text, newline=""))


async def test_failures_are_listed_below_50_and_null_from_50(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    other = await world.course("Other")
    rows = [(f"nobody{i}@example.com", "") for i in range(50)]

    below = await report_of(
        client, course, csv_file([("ann@example.com", ""), *rows[:49]]), admin.token
    )
    assert below["failedCount"] == 49
    assert [failure["row"] for failure in below["failures"]] == list(range(3, 52))
    assert below["downloadUrl"]
    assert below["message"] == (
        "Import process completed: 1 users imported successfully and 49 failed."
    )

    at = await report_of(client, other, csv_file(rows), admin.token)
    assert at["failedCount"] == 50
    assert at["importedCount"] == 0
    assert at["failures"] is None
    assert at["downloadUrl"]
    assert at["message"] == "Import process completed: 0 users imported successfully and 50 failed."

    # The stored reports answer the same.
    for report, listed in ((below, 49), (at, None)):
        data = await gql.data(REPORT, {"id": report["id"]}, token=admin.token)
        stored = data["importReport"]
        failures = stored["failures"]
        assert (len(failures) if failures is not None else None) == listed
        assert stored["failedCount"] == report["failedCount"]
        assert stored["downloadUrl"]
        assert data["node"] == {"id": report["id"], "failedCount": report["failedCount"]}


async def test_a_curriculum_also_assigns_its_courses(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    first = await world.course("First")
    second = await world.course("Second")
    curriculum = await world.curriculum("Path", [first, second])
    report = await report_of(client, curriculum, csv_file([("ann@example.com", "")]), admin.token)
    assert report["importedCount"] == 1
    for course in (curriculum, first, second):
        assert (await _learners(gql, course, admin))["totalCount"] == 1


async def test_statements_do_not_grow_with_the_file(
    client: AsyncClient, world: World, statements: StatementCounter, lms: LMS
) -> None:
    """Identifiers are resolved set-based: 5 rows and 200 rows cost the same statements."""
    admin = await world.admin()
    async with lms.db.transaction() as conn:
        await conn.execute(
            insert(m.User),
            [
                {
                    "name": f"L{i}",
                    "email": f"l{i}@example.com",
                    "employee_id": f"E{i}",
                    "active": True,
                    "is_admin": False,
                    "created_at": dt.datetime.now(dt.UTC),
                }
                for i in range(400)
            ],
        )
    small, large = await world.course("Small"), await world.course("Large")
    sizes = []
    for course, users in ((small, range(0, 5)), (large, range(5, 205))):
        content = csv_file(
            [(f"l{i}@example.com", f"E{i}") for i in users]
            + [("nobody@example.com", ""), ("", "E-404")]
        )
        statements.reset()
        report = await report_of(client, course, content, admin.token)
        assert report["importedCount"] == len(users)
        sizes.append(statements.count)
    assert sizes[0] == sizes[1], sizes
    assert sizes[1] <= 25, sizes


# --- bad files ------------------------------------------------------------------------


async def test_bad_files_are_refused_whole(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com", employee_id="E-1")
    course = await world.course()
    good = "ann@example.com,E-1\r\n"
    cases: list[tuple[bytes, str]] = [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"Email,Employee\r\n" + good.encode(), "Email ID,Employee ID"),
        (b"Email ID\r\nann@example.com\r\n", "Email ID,Employee ID"),
        (b"Employee ID,Email ID\r\nE-1,ann@example.com\r\n", "Email ID,Employee ID"),
        (good.encode(), "Email ID,Employee ID"),  # no header row at all
        (b"Email ID,Employee ID\r\n", "no rows"),
        ("Email ID,Employee ID\r\nrené@example.com,E-1\r\n".encode("latin-1"), "UTF-8"),
        ("Email ID,Employee ID\r\nann@example.com,E-1\r\n".encode("utf-16"), "UTF-8"),
        (
            b"Email ID,Employee ID\r\n" + good.encode() + b"x" * 131_073 + b",E-2\r\n",
            "longer than 131072 characters",
        ),
    ]
    before = await counts(lms)
    for content, expected in cases:
        error = await refused(client, course, content, admin.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (content[:40], error)
        assert expected in error["message"], (content[:40], error["message"])
    assert await counts(lms) == before


async def test_too_large_and_too_long_files_are_refused(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    content = csv_file([("ann@example.com", "")] + [(f"n{i}@example.com", "") for i in range(5)])
    before = await counts(lms)

    lms.settings = lms.settings.replace(max_import_rows=5)
    error = await refused(client, course, content, admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "more than 5 rows" in error["message"]

    lms.settings = lms.settings.replace(max_import_rows=200_000, max_upload_bytes=100)
    error = await refused(client, course, content, admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "larger than the limit of 100 bytes" in error["message"]
    assert await counts(lms) == before

    lms.settings = lms.settings.replace(max_upload_bytes=len(content))
    assert (await report_of(client, course, content, admin.token))["importedCount"] == 1


async def test_the_file_must_be_an_upload(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    variables = {"input": {"courseId": gid("Course", course.id), "file": "Email ID,Employee ID"}}
    response = await client.post(
        "/graphql",
        json={"query": IMPORT, "variables": variables},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "multipart" in error["message"]


# --- dry run, retries -----------------------------------------------------------------


async def test_dry_run_reports_without_assigning(
    client: AsyncClient, gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    await world.user("Ann", email="ann@example.com")
    await world.user("Bob", email="bob@example.com")
    course = await world.course()
    content = csv_file([("ann@example.com", ""), ("bob@example.com", ""), ("x@example.com", "")])
    enrollments_before = (await counts(lms))[0]

    dry = await report_of(client, course, content, admin.token, dryRun=True)
    assert dry["dryRun"] is True
    assert dry["importedCount"] == 2
    assert dry["failedCount"] == 1
    assert dry["message"] == (
        "Dry run completed: 2 users would be imported and 1 would fail. Nothing was imported."
    )
    assert dry["downloadUrl"]
    assert (await counts(lms))[0] == enrollments_before
    assert (await _learners(gql, course, admin))["totalCount"] == 0
    stored = (await gql.data(REPORT, {"id": dry["id"]}, token=admin.token))["importReport"]
    assert stored["dryRun"] is True
    assert stored["message"] == dry["message"]
    # The preview's failures download like any others.
    assert download_rows(await client.get(dry["downloadUrl"]))[1][0] == "x@example.com"

    real = await report_of(client, course, content, admin.token)
    assert real["dryRun"] is False
    assert real["id"] != dry["id"]
    assert (real["importedCount"], real["failedCount"]) == (2, 1)
    assert (await _learners(gql, course, admin))["totalCount"] == 2


async def test_a_retry_with_the_idempotency_key_returns_the_first_report(
    client: AsyncClient, gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    other_admin = await world.admin("Other admin")
    await world.user("Ann", email="ann@example.com")
    course = await world.course()
    content = csv_file([("ann@example.com", ""), ("x@example.com", "")])

    first = await report_of(client, course, content, admin.token, idempotencyKey="upload-1")
    after_first = await counts(lms)
    again = await report_of(client, course, content, admin.token, idempotencyKey="upload-1")
    assert again == {**first, "downloadUrl": again["downloadUrl"]}
    assert again["failures"] == first["failures"]  # not ALREADY_ASSIGNED: the first report
    assert await counts(lms) == after_first
    assert (await _learners(gql, course, admin))["totalCount"] == 1

    # Another file, or other options, with the same key: refused, nothing done.
    other_file = csv_file([("ann@example.com", "")])
    for kwargs in ({"content": other_file}, {"content": content, "dryRun": True}):
        body = kwargs.pop("content")
        error = await refused(
            client, course, body, admin.token, idempotencyKey="upload-1", **kwargs
        )
        assert error["extensions"]["code"] == "CONFLICT"
    assert await counts(lms) == after_first

    # Keys belong to their actor: another admin's upload with the same key is new.
    theirs = await report_of(client, course, content, other_admin.token, idempotencyKey="upload-1")
    assert theirs["id"] != first["id"]
    assert theirs["failedCount"] == 2  # Ann is in the course by now


# --- who may ------------------------------------------------------------------------


async def test_admins_and_the_course_instructors_only(
    client: AsyncClient, gql: GraphQLClient, world: World, lms: LMS
) -> None:
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

    error = await refused(client, course, content, None)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    for viewer in (outsider, learner):
        error = await refused(client, course, content, viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
        # Refused before the file is read: a bad file from an outsider is still FORBIDDEN.
        error = await refused(client, course, b"nonsense", viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await refused(client, gid("Course", 10_000), content, admin.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert await counts(lms) == before

    report = await report_of(client, course, content, teacher.token)
    assert report["importedCount"] == 1

    # The report: admins and the course's instructors; null for anyone else.
    for viewer in (admin, teacher):
        data = await gql.data(REPORT, {"id": report["id"]}, token=viewer.token)
        assert data["importReport"]["importedCount"] == 1
        assert data["importReport"]["course"]["title"] == course.title
        assert data["node"]["id"] == report["id"]
    for viewer in (outsider, learner):
        data = await gql.data(REPORT, {"id": report["id"]}, token=viewer.token)
        assert data == {"importReport": None, "node": None}
    missing = await gql.data(REPORT, {"id": gid("ImportReport", 999)}, token=admin.token)
    assert missing == {"importReport": None, "node": None}
    error = await gql.error(REPORT, {"id": gid("Course", course.id)}, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_curriculum_needs_an_instructor_of_each_course(
    client: AsyncClient, world: World, lms: LMS
) -> None:
    teacher = await world.user("Tess")
    await world.user("Lena", email="lena@example.com")
    first = await world.course("First")
    second = await world.course("Second")
    curriculum = await world.curriculum("Path", [first, second])
    await world.instructor(curriculum, teacher)
    await world.instructor(first, teacher)
    content = csv_file([("lena@example.com", "")])
    before = await counts(lms)
    error = await refused(client, curriculum, content, teacher.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert await counts(lms) == before
    await world.instructor(second, teacher)
    assert (await report_of(client, curriculum, content, teacher.token))["importedCount"] == 1
