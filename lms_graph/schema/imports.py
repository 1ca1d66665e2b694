"""The CSV import: ``importAssignments``, ``importReport(id)``, ``ImportReport``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload

from lms_graph.csvfiles import too_large
from lms_graph.downloads import sign
from lms_graph.errors import BadInput
from lms_graph.ids import decode_id
from lms_graph.import_links import SAMPLE_PATH, download_url
from lms_graph.resolvers import nodes
from lms_graph.schema.base import Info, Node, record_type_check
from lms_graph.services.imports import (
    FAILURE_LIST_LIMIT,
    ImportReportRecord,
    ImportRequest,
    import_assignments,
)
from lms_graph.values import AssignmentType

if TYPE_CHECKING:
    from lms_graph.schema.courses import Course

CourseRef = Annotated["Course", strawberry.lazy("lms_graph.schema.courses")]


@strawberry.type(description="A row of an import that was not imported.")
class ImportFailure:
    row: int = strawberry.field(description="The row number in the file (the headings are row 1).")
    email: str | None = strawberry.field(description="The Email ID as written; null when blank.")
    employee_id: str | None = strawberry.field(
        description="The Employee ID as written; null when blank."
    )
    code: str = strawberry.field(
        description="NOT_FOUND, DEACTIVATED, ALREADY_ASSIGNED, MISMATCH or MISSING_ID."
    )
    reason: str


@strawberry.type(description="What a CSV import did (or, for a dry run, would do).")
class ImportReport(Node):
    is_type_of = record_type_check("ImportReport")

    message: str
    imported_count: int = strawberry.field(
        description="Users assigned (a dry run: users who would be)."
    )
    failed_count: int
    file_name: str
    dry_run: bool = strawberry.field(description="True when nobody was assigned: a preview.")
    created_at: dt.datetime

    @strawberry.field(
        description=f"Each failed row when fewer than {FAILURE_LIST_LIMIT} failed; null from "
        f"{FAILURE_LIST_LIMIT} up (use downloadUrl)."
    )
    def failures(self, root: strawberry.Parent[ImportReportRecord]) -> list[ImportFailure] | None:
        return root.listed_failures

    @strawberry.field(
        description="A signed link (valid 5 minutes) to every failed row as "
        "Non_Imported_List_YYYY-MM-DD.csv; null when none failed."
    )
    def download_url(self, root: strawberry.Parent[ImportReportRecord], info: Info) -> str | None:
        return download_url(info.context.lms, info.context.viewer, root)

    @strawberry.field(description="The course imported into.")
    async def course(self, root: strawberry.Parent[ImportReportRecord], info: Info) -> CourseRef:
        return await info.context.loaders.courses.load(root.course_id)


@strawberry.input
class ImportAssignmentsInput:
    course_id: strawberry.ID
    file: Upload = strawberry.field(
        description="A UTF-8 CSV file with the headings 'Email ID,Employee ID'."
    )
    assignment: AssignmentType | None = strawberry.field(
        default=None,
        description="For every imported user; left out: REQUIRED with a due date, else OPTIONAL.",
    )
    due_date: dt.date | None = None
    message: str | None = strawberry.field(
        default=None, description="Sent to every imported user as a notification."
    )
    dry_run: bool = strawberry.field(
        default=False,
        description="Report what the import would do without assigning anyone.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="The same upload sent again with this key returns the first report; "
        "another upload with it is refused (CONFLICT).",
    )


@strawberry.type
class ImportQuery:
    @strawberry.field(
        description="A CSV import's report: administrators and the course's instructors; "
        "null for others."
    )
    async def import_report(self, info: Info, id: strawberry.ID) -> ImportReport | None:
        return await nodes.by_id(info.context, "ImportReport", id)

    @strawberry.field(
        description="A signed link (valid 5 minutes) to the sample import file, "
        "headings 'Email ID,Employee ID'."
    )
    def import_sample_url(self, info: Info) -> str:
        user = info.context.require_user()
        return sign(info.context.lms.settings, user.id, SAMPLE_PATH)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Assign a course to the users a CSV file names (GraphQL multipart request): "
        "administrators and the course's instructors."
    )
    async def import_assignments(self, info: Info, input: ImportAssignmentsInput) -> ImportReport:
        ctx = info.context
        upload = input.file
        try:
            ctx.require_user()
            course_id = decode_id(input.course_id, "Course")
            file = getattr(upload, "file", None)
            if file is None:
                raise BadInput(
                    "Send the file as a multipart upload (the GraphQL multipart request spec)."
                )
            limit = ctx.lms.settings.max_upload_bytes
            size = getattr(upload, "size", None)
            if isinstance(size, int) and size > limit:
                raise too_large(limit)
            request = ImportRequest(
                course_id=course_id,
                file_name=getattr(upload, "filename", None) or "import.csv",
                assignment=input.assignment,
                due_date=input.due_date,
                message=input.message,
                dry_run=input.dry_run,
                idempotency_key=input.idempotency_key,
            )
            report = await import_assignments(ctx.lms, ctx.viewer, request, file)
        finally:
            close = getattr(upload, "close", None)
            if close is not None:
                await close()  # the spooled upload: its memory or temporary file goes now
        ctx.fresh_loaders()
        return report
