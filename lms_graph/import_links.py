"""Where the CSV import's files are served, and the signed links to them.

Both sides name these paths: the routes that serve the files (``imports_http``) and
the GraphQL fields that hand out links to them (``ImportReport.downloadUrl``,
``importSampleUrl``), so they live below both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lms_graph.downloads import sign
from lms_graph.ids import to_global_id

if TYPE_CHECKING:
    from lms_graph.auth import Viewer
    from lms_graph.core import LMS
    from lms_graph.services.imports import ImportReportRecord

SAMPLE_PATH = "/imports/sample.csv"


def failures_path(report_id: int) -> str:
    return f"/imports/reports/{to_global_id('ImportReport', report_id)}/failures.csv"


def download_url(lms: LMS, viewer: Viewer, report: ImportReportRecord) -> str | None:
    """A signed link (five minutes) to the non-imported list; ``None`` when none failed."""
    if report.failed_count == 0 or viewer.user is None:
        return None
    return sign(lms.settings, viewer.user.id, failures_path(report.id))
