"""The CSV import over plain HTTP (CONTRACT section 6).

- ``GET /imports/sample.csv``: the sample file (header ``Email ID,Employee ID``).
- ``POST /imports/assignments?courseId=<id>``: a ``multipart/form-data`` upload, the
  file in the field ``file``; optional fields ``assignment`` (REQUIRED or OPTIONAL),
  ``dueDate`` (YYYY-MM-DD), ``message``, ``dryRun`` (true/false) and
  ``idempotencyKey``. Answers the ``ImportReport`` as JSON, with the field names
  of GraphQL. Only with ``Authorization: Bearer``: the upload is refused before
  its body is read otherwise, so a cross-site form can never import.
- ``GET /imports/reports/{id}/failures.csv``: a report's non-imported list, served
  as ``Non_Imported_List_YYYY-MM-DD.csv`` (``Email ID,Employee ID,Reason``, every
  cell neutralised against formulas).

The sample and the list take a signed link's ``?token=`` (``ImportReport.downloadUrl``,
``importSampleUrl``) or a bearer header, like the exports (``lms_graph.exports``).
Refusals are JSON ``{"error", "code"}``: 400 bad input, 401, 403, 404, 409 on an
idempotency conflict, 413 for a file over the size limit.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from lms_graph.auth import Viewer, bearer_token, load_viewer, user_id_from_token
from lms_graph.csvfiles import MEDIA_TYPE, FileTooLarge, too_large, write_rows
from lms_graph.downloads import download_user_id
from lms_graph.errors import BadInput, LMSError, NotFound, Unauthenticated
from lms_graph.ids import decode_id, to_global_id
from lms_graph.import_links import SAMPLE_PATH, download_url, failures_path
from lms_graph.schema.inputs import check_text
from lms_graph.services.imports import (
    FAILURES_HEADER,
    HEADER,
    ImportReportRecord,
    ImportRequest,
    import_assignments,
    sample_rows,
    visible_report,
)
from lms_graph.values import AssignmentType

if TYPE_CHECKING:
    from lms_graph.core import LMS

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409}
_FORM_OVERHEAD = 64 * 1024
"""Room for the multipart envelope and the other fields around the file."""
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def failures_file_name(today: dt.date) -> str:
    return f"Non_Imported_List_{today.isoformat()}.csv"


def report_json(lms: LMS, viewer: Viewer, report: ImportReportRecord) -> dict[str, Any]:
    """The report as ``ImportReport`` shows it, field for field."""
    listed = report.listed_failures
    return {
        "id": to_global_id("ImportReport", report.id),
        "message": report.message,
        "importedCount": report.imported_count,
        "failedCount": report.failed_count,
        "failures": None
        if listed is None
        else [
            {
                "row": failure.row,
                "email": failure.email,
                "employeeId": failure.employee_id,
                "code": failure.code,
                "reason": failure.reason,
            }
            for failure in listed
        ],
        "downloadUrl": download_url(lms, viewer, report),
        "fileName": report.file_name,
        "dryRun": report.dry_run,
    }


def routes(lms: LMS) -> list[BaseRoute]:
    async def sample(request: Request) -> Response:
        return await _sample(lms, request)

    async def upload(request: Request) -> Response:
        return await _upload(lms, request)

    async def failures(request: Request) -> Response:
        return await _failures(lms, request)

    return [
        Route(SAMPLE_PATH, sample, methods=["GET"]),
        Route("/imports/assignments", upload, methods=["POST"]),
        Route("/imports/reports/{id}/failures.csv", failures, methods=["GET"]),
    ]


# --- the routes ---------------------------------------------------------------------


async def _viewer(lms: LMS, user_id: int) -> Viewer:
    async with lms.db.reader() as conn:
        return await load_viewer(conn, user_id)


def _bearer_user(lms: LMS, request: Request) -> int:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("Send 'Authorization: Bearer <token>' with the upload.")
    return user_id_from_token(lms.settings, token)


async def _sample(lms: LMS, request: Request) -> Response:
    try:
        await _viewer(lms, download_user_id(lms.settings, request, SAMPLE_PATH))
    except LMSError as error:
        return _error(error)
    body = "".join(write_rows(HEADER, sample_rows()))
    return Response(body, media_type=MEDIA_TYPE, headers=_attachment("sample.csv"))


async def _upload(lms: LMS, request: Request) -> Response:
    try:
        viewer = await _viewer(lms, _bearer_user(lms, request))
        course_id = decode_id(_required(request.query_params.get("courseId"), "courseId"), "Course")
        limit = lms.settings.max_upload_bytes
        length = request.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > limit + _FORM_OVERHEAD:
            raise too_large(limit)
        content_type = request.headers.get("content-type", "").lower()
        if not content_type.startswith("multipart/form-data"):
            raise BadInput("Send the file as multipart/form-data, in the field `file`.")
        try:
            async with request.form(max_files=1, max_fields=10) as form:
                file = form.get("file")
                if not isinstance(file, UploadFile):
                    raise BadInput("Send the CSV file in the multipart field `file`.")
                if file.size is not None and file.size > limit:
                    raise too_large(limit)
                fields = {name: form.get(name) for name in _FIELDS}
                for name, value in fields.items():
                    if not isinstance(value, str | None):
                        raise BadInput("Only `file` may be a file; the other fields are text.")
                    if value is not None:
                        check_text(name, value)  # as the mutation's arguments are checked
                import_request = ImportRequest(
                    course_id=course_id,
                    file_name=file.filename or "import.csv",
                    assignment=_assignment(fields["assignment"]),
                    due_date=_date(fields["dueDate"]),
                    message=fields["message"],  # type: ignore[arg-type]
                    dry_run=_flag(fields["dryRun"], "dryRun"),
                    idempotency_key=fields["idempotencyKey"],  # type: ignore[arg-type]
                )
                report = await import_assignments(lms, viewer, import_request, file.file)
        except HTTPException as error:  # a malformed multipart body
            raise BadInput(f"The upload cannot be read: {error.detail}") from None
    except LMSError as error:
        return _error(error)
    return JSONResponse(report_json(lms, viewer, report))


_FIELDS = ("assignment", "dueDate", "message", "dryRun", "idempotencyKey")


async def _failures(lms: LMS, request: Request) -> Response:
    try:
        try:
            pk: int | None = decode_id(request.path_params["id"], "ImportReport")
        except BadInput:
            pk = None
        path = request.url.path if pk is None else failures_path(pk)
        viewer = await _viewer(lms, download_user_id(lms.settings, request, path))
        report = None
        if pk is not None:
            async with lms.db.reader() as conn:
                report = await visible_report(conn, viewer, pk, all_failures=True)
        if report is None:
            raise NotFound("There is no import report with this ID that you may see.")
    except LMSError as error:
        return _error(error)
    rows = [(f.email, f.employee_id, f.reason) for f in report.failures or ()]
    name = failures_file_name(dt.datetime.now(dt.UTC).date())
    return StreamingResponse(
        write_rows(FAILURES_HEADER, rows), media_type=MEDIA_TYPE, headers=_attachment(name)
    )


# --- helpers ------------------------------------------------------------------------


def _attachment(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _required(value: str | None, name: str) -> str:
    if not value:
        raise BadInput(f"Name the course: `?{name}=<course ID>`.")
    return value


def _assignment(value: Any) -> AssignmentType | None:
    if value is None or not value.strip():
        return None
    try:
        return AssignmentType(value.strip().upper())
    except ValueError:
        raise BadInput("`assignment` must be REQUIRED or OPTIONAL.") from None


def _date(value: Any) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput("`dueDate` must be a date like 2026-12-31.") from None


def _flag(value: Any, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadInput(f"`{name}` must be true or false.")


def _error(error: LMSError) -> JSONResponse:
    status = 413 if isinstance(error, FileTooLarge) else _STATUS.get(error.code, 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    code = "PAYLOAD_TOO_LARGE" if status == 413 else error.code
    return JSONResponse({"error": error.message, "code": code}, status, headers)
