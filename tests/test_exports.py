"""Quiz insight workbooks over HTTP: signed links, bearer tokens, permissions, contents."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import openpyxl
import pytest
from httpx import AsyncClient, Response
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from lms_graph import exports
from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.downloads import sign, verify
from lms_graph.errors import Unauthenticated
from lms_graph.exports import XLSX_MEDIA_TYPE, course_export_path, enrollment_export_path
from lms_graph.records import CourseRecord
from lms_graph.settings import Settings
from lms_graph.spreadsheet import FORMULA_TRIGGERS, safe_cell
from tests.conftest import SECRET
from tests.helpers import Actor, GraphQLClient, World, gid

COURSE_URL = "query ($id: ID!) { course(id: $id) { quizExportUrl } }"
ENROLLMENT_URL = "query ($id: ID!) { enrollment(id: $id) { quizExportUrl } }"
CHAPTERS = "query ($id: ID!) { course(id: $id) { chapters { kind questions { id } } } }"
ANSWER = """
mutation ($e: ID!, $q: ID!, $choice: Int!) {
  answerQuiz(enrollmentId: $e, questionId: $q, choice: $choice) { id }
}
"""
HEADINGS = [
    "Learner name",
    "Email",
    "Employee ID",
    "Chapter",
    "Question",
    "Choice text",
    "Correct",
    "Answered at (UTC)",
]


def _rows(response: Response) -> list[list[Any]]:
    """The cells of every sheet, in order, headings included once per sheet."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    try:
        return [list(row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _refused(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["error"]


async def _course_url(gql: GraphQLClient, course: CourseRecord, viewer: Actor) -> Any:
    data = await gql.data(COURSE_URL, {"id": gid("Course", course.id)}, token=viewer.token)
    return data["course"]["quizExportUrl"]


async def _answer_all(
    gql: GraphQLClient, course: CourseRecord, learner: Actor, pk: int, choices: list[int]
) -> None:
    data = await gql.data(CHAPTERS, {"id": gid("Course", course.id)}, token=learner.token)
    [quiz] = [chapter for chapter in data["course"]["chapters"] if chapter["kind"] == "QUIZ"]
    for question, choice in zip(quiz["questions"], choices, strict=False):
        variables = {"e": gid("Enrollment", pk), "q": question["id"], "choice": choice}
        await gql.data(ANSWER, variables, token=learner.token)


async def test_course_workbook_through_a_signed_link(
    gql: GraphQLClient, client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    lena = await world.user("Lena Smith", email="lena@example.com", employee_id="E-1")
    otto = await world.user("Otto", email="otto@example.com")
    course = await world.course("Safety basics", quiz=True)
    [lena_pk, _] = await world.assign(course, [lena, otto], by=admin)
    await _answer_all(gql, course, lena, lena_pk, [1, 1])  # right, then wrong

    url = await _course_url(gql, course, admin)
    assert url.startswith(f"{course_export_path(course.id)}?token=")
    response = await client.get(url)  # no Authorization header: the link is enough
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="Quiz_Insights_Safety_basics_{today}.xlsx"'
    )
    assert "no-store" in response.headers["cache-control"]
    rows = _rows(response)
    assert rows[0] == HEADINGS
    body = [row[:7] for row in rows[1:]]
    assert body == [
        ["Lena Smith", "lena@example.com", "E-1", "Quiz", "2 + 2?", "4", "Yes"],
        ["Lena Smith", "lena@example.com", "E-1", "Quiz", "Sky?", "red", "No"],
        ["Otto", "otto@example.com", None, "Quiz", "2 + 2?", None, None],
        ["Otto", "otto@example.com", None, "Quiz", "Sky?", None, None],
    ]
    answered = [row[7] for row in rows[1:]]
    assert all(isinstance(at, dt.datetime) for at in answered[:2])
    assert answered[2:] == [None, None]

    # The link can be used again while it lasts (a browser may retry).
    assert (await client.get(url)).status_code == 200


async def test_enrollment_workbook_for_an_instructor(
    gql: GraphQLClient, client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines")
    lena = await world.user("Lena")
    otto = await world.user("Otto")
    course = await world.course("Fire drill", quiz=True)
    await world.instructor(course, instructor)
    lena_pk, otto_pk = await world.assign(course, [lena, otto], by=admin)
    await _answer_all(gql, course, otto, otto_pk, [0])

    data = await gql.data(
        ENROLLMENT_URL, {"id": gid("Enrollment", otto_pk)}, token=instructor.token
    )
    url = data["enrollment"]["quizExportUrl"]
    assert url.startswith(f"{enrollment_export_path(otto_pk)}?token=")
    response = await client.get(url)
    assert 'filename="Quiz_Insights_Fire_drill_Otto_' in response.headers["content-disposition"]
    rows = _rows(response)
    assert [row[0] for row in rows[1:]] == ["Otto", "Otto"]
    assert [(row[4], row[5], row[6]) for row in rows[1:]] == [
        ("2 + 2?", "3", "No"),
        ("Sky?", None, None),
    ]
    # A link to one learner's workbook opens nothing else.
    token = url.partition("?token=")[2]
    other = await client.get(enrollment_export_path(lena_pk), params={"token": token})
    _refused(other, 401, "UNAUTHENTICATED")


async def test_bearer_header_instead_of_a_link(client: AsyncClient, world: World) -> None:
    admin = await world.admin()
    instructor = await world.user("Ines")
    learner = await world.user("Lena")
    course = await world.course(quiz=True)
    await world.instructor(course, instructor)
    [pk] = await world.assign(course, [learner], by=admin)
    for viewer in (admin, instructor):
        headers = {"Authorization": f"Bearer {viewer.token}"}
        for path in (course_export_path(course.id), enrollment_export_path(pk)):
            rows = _rows(await client.get(path, headers=headers))
            assert [row[0] for row in rows[1:]] == ["Lena", "Lena"]


async def test_bad_credentials_are_401(client: AsyncClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await world.course(quiz=True)
    other = await world.course("Other", quiz=True)
    path = course_export_path(course.id)

    _refused(await client.get(path), 401, "UNAUTHENTICATED")
    assert (await client.get(path)).headers["www-authenticate"] == "Bearer"

    expired = sign(lms.settings, admin.user.id, path, ttl=-30)
    _refused(await client.get(expired), 401, "UNAUTHENTICATED")
    assert "expired" in (await client.get(expired)).json()["error"]

    elsewhere = sign(lms.settings, admin.user.id, course_export_path(other.id))
    token = elsewhere.partition("?token=")[2]
    _refused(await client.get(path, params={"token": token}), 401, "UNAUTHENTICATED")

    forged = sign(lms.settings.replace(secret_key="x" * 48), admin.user.id, path)
    _refused(await client.get(forged), 401, "UNAUTHENTICATED")

    # A bearer token is not a download token, and a download token is not a bearer token.
    _refused(await client.get(path, params={"token": admin.token}), 401, "UNAUTHENTICATED")
    link_token = sign(lms.settings, admin.user.id, path).partition("?token=")[2]
    headers = {"Authorization": f"Bearer {link_token}"}
    _refused(await client.get(path, headers=headers), 401, "UNAUTHENTICATED")
    body = (
        await client.post("/graphql", json={"query": "{ courseTypes { key } }"}, headers=headers)
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad_scheme = {"Authorization": f"Basic {admin.token}"}
    _refused(await client.get(path, headers=bad_scheme), 401, "UNAUTHENTICATED")


def test_verify_checks_the_path_and_the_expiry() -> None:
    keys = Settings(secret_key=SECRET)
    link = sign(keys, 7, "/exports/a.xlsx")
    path, _, token = link.partition("?token=")
    assert path == "/exports/a.xlsx"
    assert verify(keys, "/exports/a.xlsx", token) == 7
    with pytest.raises(Unauthenticated):
        verify(keys, "/exports/b.xlsx", token)
    with pytest.raises(Unauthenticated):
        verify(keys, "/exports/a.xlsx", token + "x")
    with pytest.raises(Unauthenticated):
        verify(keys.replace(secret_key="another-key-that-is-long-enough-for-hs256"), path, token)
    expired = sign(keys, 7, "/exports/a.xlsx", ttl=-1).partition("?token=")[2]
    with pytest.raises(Unauthenticated, match="expired"):
        verify(keys, "/exports/a.xlsx", expired)


async def test_who_may_not_export_gets_403(
    gql: GraphQLClient, client: AsyncClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    stranger = await world.user("Ivo")
    course = await world.course("Safety", quiz=True)
    elsewhere = await world.course("Elsewhere", quiz=True)
    await world.instructor(elsewhere, stranger)
    [pk] = await world.assign(course, [learner], by=admin)

    assert await _course_url(gql, course, stranger) is None
    assert await _course_url(gql, course, learner) is None
    for path in (course_export_path(course.id), enrollment_export_path(pk)):
        for viewer in (stranger, learner):
            headers = {"Authorization": f"Bearer {viewer.token}"}
            _refused(await client.get(path, headers=headers), 403, "FORBIDDEN")
            # A link signed for them (by some other means) opens nothing either.
            _refused(await client.get(sign(lms.settings, viewer.user.id, path)), 403, "FORBIDDEN")

    # Rights are checked again on every request: a link outlives no revocation.
    instructor = await world.user("Ines")
    await world.instructor(course, instructor)
    url = await _course_url(gql, course, instructor)
    assert (await client.get(url)).status_code == 200
    async with lms.db.transaction() as conn:
        await conn.execute(
            delete(m.CourseInstructor).where(m.CourseInstructor.user_id == instructor.user.id)
        )
    _refused(await client.get(url), 403, "FORBIDDEN")

    admin_url = await _course_url(gql, course, admin)
    async with lms.db.transaction() as conn:
        await conn.execute(update(m.User).where(m.User.id == admin.user.id).values(active=False))
    # A deactivated account is no longer signed in anywhere, as in GraphQL.
    _refused(await client.get(admin_url), 401, "UNAUTHENTICATED")


async def test_unknown_ids_and_courses_without_a_quiz_are_404(
    gql: GraphQLClient, client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    learner = await world.user("Lena")
    plain = await world.course("No quiz")
    [pk] = await world.assign(plain, [learner], by=admin)
    assert await _course_url(gql, plain, admin) is None
    data = await gql.data(ENROLLMENT_URL, {"id": gid("Enrollment", pk)}, token=admin.token)
    assert data["enrollment"]["quizExportUrl"] is None

    headers = {"Authorization": f"Bearer {admin.token}"}
    for path in (
        course_export_path(plain.id),
        enrollment_export_path(pk),
        course_export_path(999_999),
        enrollment_export_path(999_999),
        f"/exports/quiz/courses/{gid('Enrollment', pk)}.xlsx",  # an ID of another type
        "/exports/quiz/courses/not-an-id.xlsx",
    ):
        _refused(await client.get(path, headers=headers), 404, "NOT_FOUND")


async def test_formulas_in_cells_are_neutralised(
    gql: GraphQLClient, client: AsyncClient, world: World
) -> None:
    admin = await world.admin()
    name = '=HYPERLINK("http://evil.example","Click")'
    learner = await world.user(name, email="=evil@example.com", employee_id="+1")
    course = await world.course("-Tricky", quiz=True)
    [pk] = await world.assign(course, [learner], by=admin)
    await _answer_all(gql, course, learner, pk, [0])

    response = await client.get(await _course_url(gql, course, admin))
    assert 'filename="Quiz_Insights_Tricky_' in response.headers["content-disposition"]
    first = _rows(response)[1]
    assert first[:3] == ["'" + name, "'=evil@example.com", "'+1"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    try:
        cell = book.worksheets[0]["A2"]
        assert cell.data_type == "s"  # text, never a formula
        assert cell.value == "'" + name
    finally:
        book.close()


async def test_rows_beyond_a_sheet_go_on_to_the_next(
    client: AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await world.admin()
    learners = [await world.user(f"Learner {i}") for i in range(3)]
    course = await world.course(quiz=True)
    await world.assign(course, learners, by=admin)
    monkeypatch.setattr(exports, "MAX_ROWS_PER_SHEET", 4)
    headers = {"Authorization": f"Bearer {admin.token}"}
    response = await client.get(course_export_path(course.id), headers=headers)
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    try:
        sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
        assert book.sheetnames == ["Quiz insights", "Quiz insights 2"]
    finally:
        book.close()
    assert [len(rows) for rows in sheets] == [5, 3]
    assert all(list(rows[0]) == HEADINGS for rows in sheets)
    names = [row[0] for rows in sheets for row in rows[1:]]
    assert names == [f"Learner {i}" for i in range(3) for _ in range(2)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=False)))
def test_safe_cell_never_starts_a_formula(value: object) -> None:
    cell = safe_cell(value)
    assert isinstance(cell, str)
    assert not cell.startswith(FORMULA_TRIGGERS)
    if value is not None:
        text = str(value)
        assert cell in (text, "'" + text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Lena", "Lena"),
        ("", ""),
        (None, ""),
        (-5, "'-5"),
    ],
)
def test_safe_cell_examples(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_slug_of_a_file_name() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_]+", exports._slug("Ünïcode / course: 1"))
    assert exports._slug("Ünïcode / course: 1") == "Unicode_course_1"
    assert exports._slug("===") == "export"
