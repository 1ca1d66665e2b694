"""lms-graph: the learner-management GraphQL service.

This module is the whole public surface for plugin authors: import ``hookimpl``
and the value types from here, nothing deeper.
"""

from lms_graph.core import LMS
from lms_graph.hookspecs import hookimpl
from lms_graph.records import (
    ChapterRecord,
    CourseRecord,
    EnrollmentRecord,
    UserRecord,
)
from lms_graph.values import (
    AssignmentType,
    ChapterKind,
    CourseKind,
    CourseType,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    MigrationSource,
    NotificationMessage,
)

__all__ = [
    "LMS",
    "AssignmentType",
    "ChapterKind",
    "ChapterRecord",
    "CourseKind",
    "CourseRecord",
    "CourseType",
    "EnrollmentRecord",
    "GraphQLExtension",
    "LearnerProgress",
    "LearnerRef",
    "LearnerState",
    "LearnerStatus",
    "MigrationSource",
    "NotificationMessage",
    "UserRecord",
    "hookimpl",
]
