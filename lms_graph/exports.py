"""Quiz insights as Excel workbooks (CONTRACT section 7).

``GET /exports/quiz/enrollments/{id}.xlsx`` (one learner) and
``GET /exports/quiz/courses/{id}.xlsx`` (every learner of a course), ``id`` being
the global ID. The caller shows either a signed link's ``?token=`` (see
``lms_graph.downloads``; ``quizExportUrl`` hands those out) or an
``Authorization: Bearer`` header. Every request checks again that the user
still exists, is active, and is an admin or an instructor of the course.

The rows come from one set-based statement (learners x quiz questions, with the
current attempt's answers), streamed from the database into an XlsxWriter
workbook in ``constant_memory`` mode, written to an anonymous temporary file
and streamed back: memory stays flat however large the course.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

import xlsxwriter
from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from lms_graph import models as m
from lms_graph.auth import Viewer, load_viewer
from lms_graph.downloads import download_user_id
from lms_graph.errors import BadInput, Forbidden, LMSError, NotFound
from lms_graph.ids import decode_id, to_global_id
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.spreadsheet import safe_cell
from lms_graph.values import ChapterKind

if TYPE_CHECKING:
    from lms_graph.core import LMS

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (
    ("Learner name", 28),
    ("Email", 32),
    ("Employee ID", 14),
    ("Chapter", 28),
    ("Question", 48),
    ("Choice text", 32),
    ("Correct", 9),
    ("Answered at (UTC)", 20),
)
SHEET_TITLE = "Quiz insights"
MAX_ROWS_PER_SHEET = 1_048_575
"""Excel's limit (1,048,576 rows) less the heading row; more rows go on further sheets."""
FETCH_ROWS = 2_000
CHUNK_BYTES = 64 * 1024
AnySelect = Select[*tuple[Any, ...]]
_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}


def enrollment_export_path(enrollment_id: int) -> str:
    return f"/exports/quiz/enrollments/{to_global_id('Enrollment', enrollment_id)}.xlsx"


def course_export_path(course_id: int) -> str:
    return f"/exports/quiz/courses/{to_global_id('Course', course_id)}.xlsx"


_PATHS = {"Enrollment": enrollment_export_path, "Course": course_export_path}


def routes(lms: LMS) -> list[BaseRoute]:
    """The two export routes, served from ``lms``'s database."""

    async def enrollment_workbook(request: Request) -> Response:
        return await _export(lms, request, "Enrollment")

    async def course_workbook(request: Request) -> Response:
        return await _export(lms, request, "Course")

    return [
        Route("/exports/quiz/enrollments/{id}.xlsx", enrollment_workbook, methods=["GET"]),
        Route("/exports/quiz/courses/{id}.xlsx", course_workbook, methods=["GET"]),
    ]


# --- the request --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    course_id: int
    enrollment_id: int | None
    name: str
    """What the file is named after: the course title, and the learner's name for one learner."""


async def _export(lms: LMS, request: Request, type_name: str) -> Response:
    try:
        try:
            pk: int | None = decode_id(request.path_params["id"], type_name)
        except BadInput:
            pk = None
        # A signed link names the canonical path of what it opens. An ID that does not
        # decode matches no signed path: such a link is refused before any lookup.
        path = request.url.path if pk is None else _PATHS[type_name](pk)
        user_id = download_user_id(lms.settings, request, path)
        async with lms.db.snapshot() as conn:
            viewer = await load_viewer(conn, user_id)
            if not (viewer.is_admin or viewer.instructs):
                raise Forbidden("Only administrators and the course's instructors may export.")
            if pk is None:
                raise NotFound(f"There is no {type_name.lower()} with this ID.")
            if type_name == "Enrollment":
                target = await _enrollment_target(conn, viewer, pk)
            else:
                target = await _course_target(conn, viewer, pk)
            workbook = await _build_workbook(conn, _rows_select(target))
    except LMSError as error:
        return _error(error)
    filename = f"Quiz_Insights_{_slug(target.name)}_{dt.datetime.now(dt.UTC).date()}.xlsx"
    return _download(workbook, filename)


def _has_quiz() -> Any:
    return exists().where(
        m.Chapter.course_id == m.Course.id, m.Chapter.kind == ChapterKind.QUIZ.value
    )


def _require(viewer: Viewer, row: Any, what: str) -> None:
    if row is None:
        raise NotFound(f"There is no {what} with this ID.")
    if not viewer.manages(row["course_id"]):
        raise Forbidden("Only administrators and this course's instructors may export it.")
    if not row["has_quiz"]:
        raise NotFound("This course has no quiz.")


async def _enrollment_target(conn: AsyncConnection, viewer: Viewer, pk: int) -> _Target:
    query = (
        select(
            m.Enrollment.course_id,
            m.Course.title,
            m.User.name,
            _has_quiz().label("has_quiz"),
        )
        .join(m.Course, m.Course.id == m.Enrollment.course_id)
        .join(m.User, m.User.id == m.Enrollment.user_id)
        .where(m.Enrollment.id == pk, ACTIVE_ENROLLMENT)
    )
    row = (await conn.execute(query)).mappings().one_or_none()
    _require(viewer, row, "enrollment")
    assert row is not None
    return _Target(row["course_id"], pk, f"{row['title']} {row['name']}")


async def _course_target(conn: AsyncConnection, viewer: Viewer, pk: int) -> _Target:
    query = select(
        m.Course.id.label("course_id"), m.Course.title, _has_quiz().label("has_quiz")
    ).where(m.Course.id == pk)
    row = (await conn.execute(query)).mappings().one_or_none()
    _require(viewer, row, "course")
    assert row is not None
    return _Target(row["course_id"], None, row["title"])


def _error(error: LMSError) -> JSONResponse:
    status = _STATUS.get(error.code, 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": error.message, "code": error.code}, status, headers)


# --- the workbook -------------------------------------------------------------------


def _rows_select(target: _Target) -> AnySelect:
    """Every learner (or the one) x every question of every quiz chapter, in order, with
    the current attempt's answer when there is one: one statement for the whole course."""
    query: AnySelect = (
        select(
            m.User.name,
            m.User.email,
            m.User.employee_id,
            m.Chapter.title,
            m.Question.prompt,
            m.Question.choices,
            m.QuizAnswer.choice,
            m.QuizAnswer.correct,
            m.QuizAnswer.answered_at,
        )
        .select_from(m.Enrollment)
        .join(m.Attempt, CURRENT_ATTEMPT)
        .join(m.User, m.User.id == m.Enrollment.user_id)
        .join(
            m.Chapter,
            (m.Chapter.course_id == m.Enrollment.course_id)
            & (m.Chapter.kind == ChapterKind.QUIZ.value),
        )
        .join(m.Question, m.Question.chapter_id == m.Chapter.id)
        .outerjoin(
            m.QuizAnswer,
            (m.QuizAnswer.attempt_id == m.Attempt.id) & (m.QuizAnswer.question_id == m.Question.id),
        )
        .where(m.Enrollment.course_id == target.course_id, ACTIVE_ENROLLMENT)
        .order_by(func.lower(m.User.name), m.Enrollment.id, m.Chapter.position, m.Question.position)
    )
    if target.enrollment_id is not None:
        query = query.where(m.Enrollment.id == target.enrollment_id)
    return query


class QuizWorkbook:
    """An XlsxWriter workbook written row by row (``constant_memory``) into ``output``."""

    def __init__(self, output: IO[bytes]) -> None:
        self.book = xlsxwriter.Workbook(output, {"constant_memory": True, "remove_timezone": True})
        self.heading = self.book.add_format({"bold": True})
        self.timestamp = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.sheets = 0
        self.sheet: Any = None
        self.row = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self.sheet is not None:
            self.sheet.autofilter(0, 0, self.row - 1, len(COLUMNS) - 1)
        self.sheets += 1
        name = SHEET_TITLE if self.sheets == 1 else f"{SHEET_TITLE} {self.sheets}"
        self.sheet = self.book.add_worksheet(name)
        for column, (heading, width) in enumerate(COLUMNS):
            self.sheet.set_column(column, column, width)
            self.sheet.write_string(0, column, heading, self.heading)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def write_rows(self, rows: Sequence[Any]) -> None:
        for row in rows:
            if self.row > MAX_ROWS_PER_SHEET:
                self._new_sheet()
            self._write(row)
            self.row += 1

    def _write(self, row: Any) -> None:
        name, email, employee_id, chapter, prompt, choices, choice, correct, answered_at = row
        text = self.sheet.write_string
        line = self.row
        text(line, 0, safe_cell(name))
        for column, value in ((1, email), (2, employee_id), (3, chapter), (4, prompt)):
            if value is not None:
                text(line, column, safe_cell(value))
        if choice is not None:
            label = choices[choice] if 0 <= choice < len(choices) else str(choice)
            text(line, 5, safe_cell(label))
        if correct is not None:
            text(line, 6, "Yes" if correct else "No")
        if answered_at is not None:
            self.sheet.write_datetime(line, 7, answered_at.astimezone(dt.UTC), self.timestamp)

    def close(self) -> None:
        self.sheet.autofilter(0, 0, self.row - 1, len(COLUMNS) - 1)
        self.book.close()


async def _build_workbook(conn: AsyncConnection, query: AnySelect) -> IO[bytes]:
    """The workbook of ``query``'s rows, in an anonymous temporary file (rewound)."""
    output: IO[bytes] = await run_in_threadpool(tempfile.TemporaryFile)
    try:
        book = await run_in_threadpool(QuizWorkbook, output)
        result = await conn.stream(query)
        async for rows in result.partitions(FETCH_ROWS):
            await run_in_threadpool(book.write_rows, rows)
        await run_in_threadpool(book.close)
    except BaseException:
        output.close()
        raise
    return output


def _chunks(output: IO[bytes]) -> Iterator[bytes]:
    try:
        output.seek(0)
        while chunk := output.read(CHUNK_BYTES):
            yield chunk
    finally:
        output.close()


def _download(output: IO[bytes], filename: str) -> StreamingResponse:
    size = output.seek(0, os.SEEK_END)
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Length": str(size),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(_chunks(output), headers=headers, media_type=XLSX_MEDIA_TYPE)


def _slug(text: str) -> str:
    """ASCII letters and digits joined by underscores, for a file name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")[:80].rstrip("_")
    return slug or "export"
