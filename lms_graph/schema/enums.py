"""GraphQL enums (the value types' enums, exposed as they are)."""

from __future__ import annotations

import enum

import strawberry

from lms_graph.values import AssignmentType, ChapterKind, CourseKind, LearnerState

LearnerStateEnum = strawberry.enum(LearnerState, name="LearnerState")
AssignmentTypeEnum = strawberry.enum(AssignmentType, name="AssignmentType")
CourseKindEnum = strawberry.enum(CourseKind, name="CourseKind")
ChapterKindEnum = strawberry.enum(ChapterKind, name="ChapterKind")


@strawberry.enum
class LearnerOrderField(enum.Enum):
    NAME = "NAME"
    DUE_DATE = "DUE_DATE"
    PROGRESS = "PROGRESS"
    ASSIGNED_AT = "ASSIGNED_AT"


@strawberry.enum
class Direction(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"
