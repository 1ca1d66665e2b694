"""lms-graph: the learner-management GraphQL service.

This module is the whole public surface for plugin authors: import ``hookimpl``
and the value types from here, nothing deeper.
"""

from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.downloads import download_viewer
from lms_graph.downloads import sign as sign_download
from lms_graph.errors import BadInput, Conflict, Forbidden, LMSError, NotFound
from lms_graph.hookspecs import hookimpl
from lms_graph.ids import decode_id, to_global_id
from lms_graph.models import NAMING_CONVENTION, UTCDateTime
from lms_graph.records import (
    ChapterRecord,
    CourseRecord,
    EnrollmentRecord,
    UserRecord,
)
from lms_graph.schema.base import Node
from lms_graph.schema.execution import RESOLVE, batched, from_parent
from lms_graph.services.actions import ActionContext
from lms_graph.services.journal import HistoryLine, Note, notify, record_history
from lms_graph.services.progress import refresh_learners
from lms_graph.services.tx import Tx, emit_event, write
from lms_graph.sql import ids_param
from lms_graph.values import (
    ActionDefinition,
    ActionKind,
    ActionParam,
    AssignmentType,
    ChapterKind,
    CourseKind,
    CourseType,
    Event,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    MenuLearner,
    MigrationSource,
    NotificationMessage,
    Outcome,
    OutcomeStatus,
    SQLExecutor,
)

__all__ = [
    "LMS",
    "NAMING_CONVENTION",
    "RESOLVE",
    "ActionContext",
    "ActionDefinition",
    "ActionKind",
    "ActionParam",
    "AssignmentType",
    "BadInput",
    "ChapterKind",
    "ChapterRecord",
    "Conflict",
    "CourseKind",
    "CourseRecord",
    "CourseType",
    "EnrollmentRecord",
    "Event",
    "Forbidden",
    "GraphQLExtension",
    "HistoryLine",
    "LMSError",
    "LearnerProgress",
    "LearnerRef",
    "LearnerState",
    "LearnerStatus",
    "MenuLearner",
    "MigrationSource",
    "Node",
    "NotFound",
    "Note",
    "NotificationMessage",
    "Outcome",
    "OutcomeStatus",
    "SQLExecutor",
    "Tx",
    "UTCDateTime",
    "UserRecord",
    "Viewer",
    "batched",
    "decode_id",
    "download_viewer",
    "emit_event",
    "from_parent",
    "hookimpl",
    "ids_param",
    "notify",
    "record_history",
    "refresh_learners",
    "sign_download",
    "to_global_id",
    "write",
]
