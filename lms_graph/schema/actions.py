"""Learner actions: the menu types, ``Course.massActions`` and ``runAction``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from lms_graph.errors import BadInput
from lms_graph.ids import NO_ROW, decode_id, to_global_id
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
        return strawberry.ID(root.given_id or to_global_id("Enrollment", root.enrollment_pk))

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
    __slots__ = ("code", "enrollment_pk", "given_id", "message", "status")

    def __init__(
        self,
        enrollment_pk: int,
        status: OutcomeStatus,
        code: str | None,
        message: str | None,
        given_id: str | None = None,
    ) -> None:
        self.enrollment_pk = enrollment_pk
        self.status = status
        self.code = code
        self.message = message
        self.given_id = given_id


class _RunView:
    def __init__(self, result: RunResult, named: Sequence[tuple[str, int]] | None) -> None:
        self.action = result.action
        self.dry_run = result.dry_run
        self.outcomes = [
            _OutcomeView(eid, outcome.status, outcome.code, outcome.message)
            for eid, outcome in result.outcomes
        ]
        if named is not None and any(pk == NO_ROW for _, pk in named):
            self.outcomes = _each_as_named(self.outcomes, named)
        statuses = [view.status for view in self.outcomes]
        self.succeeded = statuses.count(OutcomeStatus.OK)
        self.skipped = statuses.count(OutcomeStatus.SKIPPED)
        self.failed = statuses.count(OutcomeStatus.FAILED)


def _each_as_named(
    views: list[_OutcomeView], named: Sequence[tuple[str, int]]
) -> list[_OutcomeView]:
    """The outcomes in the order the IDs were named, each ID past the largest key
    (``NO_ROW``, which the service answered once) with its own NOT_FOUND, echoing it."""
    by_pk = {view.enrollment_pk: view for view in views}
    unknown = by_pk.pop(NO_ROW)
    ordered: list[_OutcomeView] = []
    for given, pk in dict.fromkeys(named):
        if pk == NO_ROW:
            ordered.append(
                _OutcomeView(NO_ROW, unknown.status, unknown.code, unknown.message, given)
            )
        elif (view := by_pk.pop(pk, None)) is not None:
            ordered.append(view)
    return ordered + list(by_pk.values())


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
        named = (
            [(str(eid), decode_id(eid, "Enrollment")) for eid in input.enrollment_ids]
            if input.enrollment_ids is not None
            else None
        )
        request = ActionRequest(
            action=input.action,
            enrollment_ids=[pk for _, pk in named] if named is not None else None,
            course_id=decode_id(input.course_id, "Course") if input.course_id else None,
            filter=learner_query(input.filter, None) if input.filter else None,
            params=dict(input.params or {}),
            note=(input.note or "").strip() or None,
            dry_run=input.dry_run,
            idempotency_key=input.idempotency_key,
        )
        result = await run_action(ctx.lms, ctx.viewer, request)
        ctx.fresh_loaders()
        return _RunView(result, named)
