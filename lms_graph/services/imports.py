"""CSV import of assignments (CONTRACT section 6): parse, resolve, enroll, report.

``import_assignments`` is the one entry point, shared by the ``importAssignments``
mutation, the ``POST /imports/assignments`` form route and the benchmark:

1. the viewer must manage the course (for a curriculum: each of its courses too,
   as for ``assignCourse``); the assignment type and due date are checked;
2. the file is read in a worker thread, incrementally (``lms_graph.csvfiles``):
   a wrong header, a file that is empty, not UTF-8, too large or too long is
   refused whole and nothing is imported;
3. in one write transaction: an ``idempotencyKey`` seen before for this actor
   answers the first report (CONFLICT when the file or options differ); every
   identifier of the file is resolved in ONE statement (emails and employee IDs
   each bound as a single array parameter), the users already in the course in
   one more, and the rest are enrolled in bulk through ``assignments.enroll`` (one
   INSERT ... SELECT per table, the user IDs bound as one parameter);
4. the report is stored (``import_reports``) with every failure, so that any
   worker can answer ``importReport(id)`` and serve the non-imported list later.

A dry run does steps 1 to 3 without enrolling anyone and stores its report,
flagged ``dry_run``, so that its failures can be downloaded too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import posixpath
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import JSON, case, insert, or_, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.csvfiles import read_table
from lms_graph.db import RequestConnection
from lms_graph.errors import BadInput, Conflict, Forbidden, NotFound
from lms_graph.queries import COURSE_COLUMNS
from lms_graph.records import CourseRecord
from lms_graph.services.assignments import (
    REASON_ALREADY_ASSIGNED,
    REASON_DEACTIVATED,
    REASON_DIFFERENT_USERS,
    REASON_NOT_FOUND,
    Assignment,
    enroll,
    load_course,
    resolve_assignment,
)
from lms_graph.services.tx import Tx, write
from lms_graph.services.users import normalize_email, normalize_employee_id
from lms_graph.sql import ids_in, texts_in
from lms_graph.values import AssignmentType, CourseKind

if TYPE_CHECKING:
    from lms_graph.core import LMS

HEADER = ("Email ID", "Employee ID")
FAILURES_HEADER = ("Email ID", "Employee ID", "Reason")
SAMPLE_ROWS = (("jane.doe@example.com", "E-1001"), ("john.roe@example.com", ""), ("", "E-1003"))

FAILURE_LIST_LIMIT = 50
"""``ImportReport.failures`` lists the failures when fewer than this many failed."""

NOT_FOUND = "NOT_FOUND"
DEACTIVATED = "DEACTIVATED"
ALREADY_ASSIGNED = "ALREADY_ASSIGNED"
MISMATCH = "MISMATCH"
MISSING_ID = "MISSING_ID"
REASON_MISSING_ID = "Email ID and Employee ID are both blank: fill in at least one"
REASONS = {
    NOT_FOUND: REASON_NOT_FOUND,
    DEACTIVATED: REASON_DEACTIVATED,
    ALREADY_ASSIGNED: REASON_ALREADY_ASSIGNED,
    MISMATCH: REASON_DIFFERENT_USERS,
    MISSING_ID: REASON_MISSING_ID,
}


@dataclasses.dataclass(frozen=True, slots=True)
class ImportRequest:
    """What an import applies to every user of the file."""

    course_id: int
    file_name: str = "import.csv"
    assignment: AssignmentType | None = None
    due_date: dt.date | None = None
    message: str | None = None
    dry_run: bool = False
    idempotency_key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ImportFailure:
    """A row that was not imported: its number (the header is row 1), the cells as
    written (``None`` when blank), a stable code and the sentence for people."""

    row: int
    email: str | None
    employee_id: str | None
    code: str

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, self.code)

    def to_json(self) -> list[Any]:
        return [self.row, self.email, self.employee_id, self.code]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> ImportFailure:
        row, email, employee_id, code = data
        return cls(row, email, employee_id, code)


@dataclasses.dataclass(slots=True)
class ImportReportRecord:
    id: int
    course_id: int
    actor_id: int | None
    file_name: str
    dry_run: bool
    imported_count: int
    failed_count: int
    message: str
    created_at: dt.datetime
    failures: list[ImportFailure] | None
    """Every failure, or ``None`` when they were not loaded (see ``load_report``)."""

    typename = "ImportReport"

    @property
    def listed_failures(self) -> list[ImportFailure] | None:
        """The failures when fewer than ``FAILURE_LIST_LIMIT`` failed, else ``None``."""
        if self.failed_count >= FAILURE_LIST_LIMIT:
            return None
        return self.failures or []


def sample_rows() -> tuple[tuple[str, str], ...]:
    return SAMPLE_ROWS


# --- the import ---------------------------------------------------------------------


async def import_assignments(
    lms: LMS, viewer: Viewer, request: ImportRequest, file: IO[bytes]
) -> ImportReportRecord:
    """Import ``file`` (a binary file object: an upload's spooled file, an open file)
    into ``request.course_id``; returns the stored report."""
    actor = viewer.require_user()
    today = dt.datetime.now(dt.UTC).date()
    assignment = Assignment(
        assignment=resolve_assignment(request.assignment, request.due_date, today),
        due_date=request.due_date,
        message=(request.message or "").strip() or None,
        assigned_by_id=actor.id,
    )
    key = (request.idempotency_key or "").strip() or None
    if key is not None and len(key) > 200:
        raise BadInput("An idempotency key has at most 200 characters.")
    # Rights first, before the file is read: an outsider learns nothing from it.
    async with lms.db.reader() as conn:
        await _require_rights(conn, viewer, await _course(conn, request.course_id))
    settings = lms.settings
    rows, file_hash = await asyncio.to_thread(
        read_table,
        file,
        HEADER,
        max_bytes=settings.max_upload_bytes,
        max_rows=settings.max_import_rows,
    )
    fingerprint = _fingerprint(request, assignment, file_hash)
    try:
        async with write(lms, viewer) as tx:
            course = await load_course(tx, request.course_id, lock=True)
            await _require_rights(tx.db, viewer, course)
            if key is not None:
                replayed = await _replay(tx, key, fingerprint)
                if replayed is not None:
                    return replayed
            to_enroll, failures = await _resolve(tx, course.id, rows)
            del rows
            if not request.dry_run:
                await enroll(tx, course, to_enroll, assignment)
            return await _store(tx, request, key, fingerprint, len(to_enroll), failures)
    except IntegrityError:
        if key is None:
            raise
        # Another upload with this key committed first: nothing of ours was written.
        raise Conflict(
            "An import with this idempotency key ran at the same time; send it again to get "
            "its report."
        ) from None


async def _course(conn: AsyncConnection, course_id: int) -> CourseRecord:
    row = (
        (await conn.execute(select(*COURSE_COLUMNS).where(m.Course.id == course_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound("No course has this ID.")
    return CourseRecord.from_row(row)


async def _require_rights(conn: AsyncConnection, viewer: Viewer, course: CourseRecord) -> None:
    """Admins and the course's instructors; a curriculum, as for ``assignCourse``: only
    administrators and instructors of every one of its courses."""
    if not viewer.manages(course.id):
        raise Forbidden("Only administrators and this course's instructors may import into it.")
    if course.kind is CourseKind.CURRICULUM and not viewer.is_admin:
        members = await conn.execute(
            select(m.CurriculumCourse.course_id).where(
                m.CurriculumCourse.curriculum_id == course.id
            )
        )
        if not all(viewer.manages(member) for member in members.scalars()):
            raise Forbidden(
                "Importing into this curriculum assigns its courses too; only administrators "
                "and instructors of every one of them may do it."
            )


def _fingerprint(request: ImportRequest, assignment: Assignment, file_hash: str) -> str:
    body = {
        "course_id": request.course_id,
        "assignment": assignment.assignment.value,
        "due_date": assignment.due_date.isoformat() if assignment.due_date else None,
        "message": assignment.message,
        "dry_run": request.dry_run,
        "file": file_hash,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def _replay(tx: Tx, key: str, fingerprint: str) -> ImportReportRecord | None:
    row = (
        await tx.db.execute(
            select(m.ImportReportRow.id, m.ImportReportRow.request_hash).where(
                m.ImportReportRow.actor_id == tx.viewer.id,
                m.ImportReportRow.idempotency_key == key,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict(
            "This idempotency key was already used for another upload (a different file or "
            "different options)."
        )
    return await load_report(tx.db, row.id, all_failures=True)


def _key(normalize: Any, text: str) -> str | None:
    """The identifier as stored, or ``None`` when it cannot be one (matches nobody)."""
    try:
        value: str | None = normalize(text)
    except BadInput:
        return None
    return value


async def _resolve(
    tx: Tx, course_id: int, rows: Sequence[tuple[int, list[str]]]
) -> tuple[list[int], list[ImportFailure]]:
    """The users to enroll (file order, each once) and the failed rows, in row order.

    Two statements whatever the file's size: the users named by any email or
    employee ID of the file, then which of them are already in the course.
    """
    parsed: list[tuple[int, str | None, str | None, str | None, str | None]] = []
    emails: set[str] = set()
    employee_ids: set[str] = set()
    for number, cells in rows:
        email = cells[0].strip() or None
        employee_id = (cells[1].strip() if len(cells) > 1 else "") or None
        email_key = _key(normalize_email, email) if email else None
        employee_key = _key(normalize_employee_id, employee_id) if employee_id else None
        if email_key:
            emails.add(email_key)
        if employee_key:
            employee_ids.add(employee_key)
        parsed.append((number, email, employee_id, email_key, employee_key))
    active: dict[int, bool] = {}
    by_email: dict[str, int] = {}
    by_employee_id: dict[str, int] = {}
    clauses = []
    if emails:
        clauses.append(texts_in(m.User.email, sorted(emails)))
    if employee_ids:
        clauses.append(texts_in(m.User.employee_id, sorted(employee_ids)))
    if clauses:
        query = select(m.User.id, m.User.email, m.User.employee_id, m.User.active).where(
            or_(*clauses)
        )
        for user_id, email, employee_id, is_active in await tx.db.execute(query):
            active[user_id] = bool(is_active)
            if email in emails:
                by_email[email] = user_id
            if employee_id in employee_ids:
                by_employee_id[employee_id] = user_id

    failures: list[ImportFailure] = []
    candidates: dict[int, tuple[int, str | None, str | None]] = {}
    seen: set[int] = set()
    for number, email, employee_id, email_key, employee_key in parsed:
        if email is None and employee_id is None:
            failures.append(ImportFailure(number, None, None, MISSING_ID))
            continue
        by_mail = by_email.get(email_key) if email_key else None
        by_id = by_employee_id.get(employee_key) if employee_key else None
        if (email is not None and by_mail is None) or (employee_id is not None and by_id is None):
            failures.append(ImportFailure(number, email, employee_id, NOT_FOUND))
            continue
        if by_mail is not None and by_id is not None and by_mail != by_id:
            failures.append(ImportFailure(number, email, employee_id, MISMATCH))
            continue
        user = by_mail if by_mail is not None else by_id
        assert user is not None
        if user in seen:
            continue  # listed again: imported (or refused) once
        seen.add(user)
        if not active[user]:
            failures.append(ImportFailure(number, email, employee_id, DEACTIVATED))
            continue
        candidates[user] = (number, email, employee_id)
    if candidates:
        assigned = set(
            (
                await tx.db.execute(
                    select(m.Enrollment.user_id).where(
                        m.Enrollment.course_id == course_id,
                        m.Enrollment.unassigned_at.is_(None),
                        ids_in(m.Enrollment.user_id, list(candidates)),
                    )
                )
            ).scalars()
        )
        for user_id in assigned:
            number, email, employee_id = candidates.pop(user_id)
            failures.append(ImportFailure(number, email, employee_id, ALREADY_ASSIGNED))
        failures.sort(key=lambda failure: failure.row)
    return list(candidates), failures


def report_message(imported: int, failed: int, dry_run: bool) -> str:
    if dry_run:
        if failed:
            return (
                f"Dry run completed: {imported} users would be imported and {failed} would "
                "fail. Nothing was imported."
            )
        return f"Dry run completed: {imported} users would be imported. Nothing was imported."
    if failed:
        return (
            f"Import process completed: {imported} users imported successfully and {failed} failed."
        )
    return f"Import process completed and {imported} users imported successfully."


async def _store(
    tx: Tx,
    request: ImportRequest,
    key: str | None,
    fingerprint: str,
    imported: int,
    failures: list[ImportFailure],
) -> ImportReportRecord:
    message = report_message(imported, len(failures), request.dry_run)
    printable = "".join(char for char in request.file_name if char.isprintable())  # no NUL
    file_name = posixpath.basename(printable.replace("\\", "/")).strip()[:255]
    file_name = file_name or "import.csv"
    report_id = (
        await tx.db.execute(
            insert(m.ImportReportRow)
            .values(
                course_id=request.course_id,
                actor_id=tx.actor_id,
                file_name=file_name,
                dry_run=request.dry_run,
                imported_count=imported,
                failed_count=len(failures),
                message=message,
                failures=[failure.to_json() for failure in failures],
                idempotency_key=key,
                request_hash=fingerprint,
                created_at=tx.now,
            )
            .returning(m.ImportReportRow.id)
        )
    ).scalar_one()
    return ImportReportRecord(
        id=report_id,
        course_id=request.course_id,
        actor_id=tx.actor_id,
        file_name=file_name,
        dry_run=request.dry_run,
        imported_count=imported,
        failed_count=len(failures),
        message=message,
        created_at=tx.now,
        failures=failures,
    )


# --- reading reports ----------------------------------------------------------------


async def load_report(
    db: AsyncConnection | RequestConnection, report_id: int, *, all_failures: bool = False
) -> ImportReportRecord | None:
    """A stored report. Its failures are read only when they will be shown: always with
    ``all_failures`` (the download), else only when fewer than ``FAILURE_LIST_LIMIT``."""
    r = m.ImportReportRow
    shown = (
        r.failures
        if all_failures
        else type_coerce(case((r.failed_count < FAILURE_LIST_LIMIT, r.failures)), JSON)
    )
    query = select(
        r.id,
        r.course_id,
        r.actor_id,
        r.file_name,
        r.dry_run,
        r.imported_count,
        r.failed_count,
        r.message,
        r.created_at,
        shown.label("failures"),
    ).where(r.id == report_id)
    row = (await db.execute(query)).one_or_none()
    if row is None:
        return None
    failures = (
        None if row.failures is None else [ImportFailure.from_json(item) for item in row.failures]
    )
    return ImportReportRecord(
        id=row.id,
        course_id=row.course_id,
        actor_id=row.actor_id,
        file_name=row.file_name,
        dry_run=bool(row.dry_run),
        imported_count=row.imported_count,
        failed_count=row.failed_count,
        message=row.message,
        created_at=row.created_at,
        failures=failures,
    )


async def visible_report(
    db: AsyncConnection | RequestConnection,
    viewer: Viewer,
    report_id: int,
    *,
    all_failures: bool = False,
) -> ImportReportRecord | None:
    """The report when the viewer is an admin or an instructor of its course, else ``None``."""
    if viewer.user is None or not (viewer.is_admin or viewer.instructs):
        return None
    report = await load_report(db, report_id, all_failures=all_failures)
    if report is None or not viewer.manages(report.course_id):
        return None
    return report
