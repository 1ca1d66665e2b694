"""Learner actions: the menu types, ``Course.massActions`` and ``runAction``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from lms_graph.errors import BadInput
from lms_graph.ids import decode_id, to_global_id
from lms_graph.schema.base import Info
from lms_graph.schema.courses import LearnerFilter, learner_query
from lms_graph.services.actions import ActionRequest, RunResult, run_action
from lms_graph.values import ActionKind, OutcomeStatus

if TYPE_CHECKING:
    from lms_graph.schema.enrollments import Enrollment

EnrollmentRef = Annotated["Enrollment", strawberry.lazy("lms_graph.schema.enrollments")]

ActionKindEnum = strawberry.enum(ActionKind, name="ActionKind")
OutcomeStatusEnum = strawberry.enum(OutcomeStatus, name="OutcomeStatus")


@strawberry.type
class ActionParam:
    name: str
    type: str
    required: bool
    label: str
    choices: list[str] | None


@strawberry.type
class Action:
    key: str
    label: str
    description: str | None
    kind: ActionKind
    destructive: bool
    confirm: str | None
    params: list[ActionParam]


@strawberry.type
class ActionOutcome:
    status: OutcomeStatus
    code: str | None
    message: str | None

    @strawberry.field
    def enrollment_id(self, root: strawberry.Parent[Any]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Enrollment", root.enrollment_pk))

    @strawberry.field(description="The learner as they are now; null once removed.")
    async def enrollment(self, root: strawberry.Parent[Any], info: Info) -> EnrollmentRef | None:
        return await info.context.loaders.enrollments.load(root.enrollment_pk)


@strawberry.type
class ActionRun:
    action: str
    dry_run: bool
    succeeded: int
    skipped: int
    failed: int
    outcomes: list[ActionOutcome]


@strawberry.input
class RunActionInput:
    action: str
    enrollment_ids: list[strawberry.ID] | None = None
    course_id: strawberry.ID | None = None
    filter: LearnerFilter | None = None
    params: JSON | None = None
    note: str | None = None
    dry_run: bool = False
    idempotency_key: str | None = None


class _OutcomeView:
    __slots__ = ("code", "enrollment_pk", "message", "status")

    def __init__(
        self, enrollment_pk: int, status: OutcomeStatus, code: str | None, message: str | None
    ) -> None:
        self.enrollment_pk = enrollment_pk
        self.status = status
        self.code = code
        self.message = message


class _RunView:
    def __init__(self, result: RunResult) -> None:
        self.action = result.action
        self.dry_run = result.dry_run
        self.succeeded = result.count(OutcomeStatus.OK)
        self.skipped = result.count(OutcomeStatus.SKIPPED)
        self.failed = result.count(OutcomeStatus.FAILED)
        self.outcomes = [
            _OutcomeView(eid, outcome.status, outcome.code, outcome.message)
            for eid, outcome in result.outcomes
        ]


@strawberry.type
class ActionMutation:
    @strawberry.mutation(
        description="Run an action on learners: by `enrollmentIds`, or `courseId` + `filter`."
    )
    async def run_action(self, info: Info, input: RunActionInput) -> ActionRun:
        ctx = info.context
        ctx.require_user()
        if input.params is not None and not isinstance(input.params, dict):
            raise BadInput("`params` must be a JSON object.")
        request = ActionRequest(
            action=input.action,
            enrollment_ids=(
                [decode_id(eid, "Enrollment") for eid in input.enrollment_ids]
                if input.enrollment_ids is not None
                else None
            ),
            course_id=decode_id(input.course_id, "Course") if input.course_id else None,
            filter=learner_query(input.filter, None) if input.filter else None,
            params=dict(input.params or {}),
            note=(input.note or "").strip() or None,
            dry_run=input.dry_run,
            idempotency_key=input.idempotency_key,
        )
        result = await run_action(ctx.lms, ctx.viewer, request)
        ctx.fresh_loaders()
        return _RunView(result)
