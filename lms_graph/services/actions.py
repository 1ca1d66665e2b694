"""``runAction``: one learner or ten thousand, one transaction, an outcome per learner.

The steps, in order: validate params; resolve targets (IDs, or a course and a
filter); refuse the whole run if the viewer does not manage every course
involved; skip learners the action does not apply to (NOT_APPLICABLE, or what
their course type withholds: ``lms_withhold_actions``), that a plugin vetoes, and
those for whom it would write to courses the viewer does not manage (FORBIDDEN,
``lms_action_reach``); claim the rest with a version check (those changed since
they were read are STALE); run the action on what was claimed, set-based; write
one history line per OK learner. ``dryRun`` does all of it and rolls back.

Which learners an action applies to is decided one of two ways. An action whose rule
is plain states (``applies_in_states``), unless a plugin concerned with the learners'
course types may read their facts (``mass_claims.decided_in_sql``), reads its targets
as rows in one statement and decides on their state: no ``MenuLearner`` is built unless
someone looks at one (``learner_columns``). Any other reads each learner as a
``MenuLearner`` with every plugin's facts and asks the action's ``applies``. The rest
of the run is the same; on either path, an implementation of ``lms_withhold_actions``,
``lms_veto_action`` or ``lms_perform_action`` declared for other course types
(``hook_scope.for_course_types``) is not called.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, Select, case, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.errors import BadInput, Conflict, Forbidden
from lms_graph.learners import LearnerQuery, learners_select
from lms_graph.services.journal import record_history_for
from lms_graph.services.learner_columns import (
    LearnerColumns,
    LearnerLike,
    LearnerRow,
    keep,
    rows_of,
    without,
)
from lms_graph.services.mass_claims import (
    by_ids,
    by_query,
    concerned,
    decided_in_sql,
    read_learners,
)
from lms_graph.services.menus import load_learners
from lms_graph.services.reach import beyond_rights, forbidden, reach
from lms_graph.services.tx import Tx, write
from lms_graph.services.withhold import withheld
from lms_graph.sql import ids_in, pairs_in
from lms_graph.values import (
    ActionDefinition,
    ActionKind,
    LearnerState,
    MenuLearner,
    Outcome,
    OutcomeStatus,
)

if TYPE_CHECKING:
    from lms_graph.core import LMS

OK = Outcome.ok()
NOT_FOUND = Outcome(OutcomeStatus.FAILED, "NOT_FOUND", "No learner has this enrollment ID.")
STALE = Outcome.skipped("STALE", "The learner changed while the action ran; look again.")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionRequest:
    action: str
    enrollment_ids: Sequence[int] | None = None
    course_id: int | None = None
    filter: LearnerQuery | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str | None = None
    dry_run: bool = False
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        body = {
            "action": self.action,
            "enrollment_ids": list(self.enrollment_ids or []),
            "course_id": self.course_id,
            "filter": dataclasses.asdict(self.filter) if self.filter else None,
            "params": self.params,
            "note": self.note,
            "dry_run": self.dry_run,
        }
        raw = json.dumps(body, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()


@dataclasses.dataclass(slots=True)
class RunResult:
    action: str
    dry_run: bool
    outcomes: list[tuple[int, Outcome]]

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for _, outcome in self.outcomes if outcome.status is status)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "outcomes": [[eid, o.status.value, o.code, o.message] for eid, o in self.outcomes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            action=data["action"],
            dry_run=data["dry_run"],
            outcomes=[
                (eid, Outcome(OutcomeStatus(status), code, message))
                for eid, status, code, message in data["outcomes"]
            ],
        )


@dataclasses.dataclass(slots=True)
class ActionContext:
    """What an action's ``run`` receives: the transaction, the params and the note."""

    tx: Tx
    action: ActionDefinition
    params: Mapping[str, Any]
    note: str | None
    moved_on: Collection[int] = frozenset()
    """Learners whose attempt number the claim already advanced
    (``ActionDefinition.new_attempt_in_claim``)."""

    @property
    def lms(self) -> LMS:
        return self.tx.lms

    @property
    def db(self) -> Any:
        return self.tx.db

    @property
    def now(self) -> dt.datetime:
        return self.tx.now


class _DryRun(Exception):
    def __init__(self, result: RunResult) -> None:
        self.result = result


def validate_params(
    action: ActionDefinition, raw: Mapping[str, Any] | None, today: dt.date
) -> dict[str, Any]:
    """Params by the action's declaration: required ones present, types and choices right."""
    raw = dict(raw or {})
    known = {param.name for param in action.params}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BadInput(f"{action.key} takes no parameter {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    for param in action.params:
        value = raw.get(param.name)
        if value is None:
            if param.required and param.name not in raw:
                raise BadInput(f"{action.key} needs `{param.name}` ({param.label}).")
            values[param.name] = param.choices[0] if param.choices and param.required else None
            continue
        if param.type == "Date":
            try:
                values[param.name] = dt.date.fromisoformat(str(value))
            except ValueError:
                raise BadInput(f"`{param.name}` must be a date like 2026-12-31.") from None
            if values[param.name] < today:
                raise BadInput(f"`{param.name}` cannot be in the past.")
        elif param.type == "Boolean":
            if not isinstance(value, bool):
                raise BadInput(f"`{param.name}` must be true or false.")
            values[param.name] = value
        else:
            if not isinstance(value, str):
                raise BadInput(f"`{param.name}` must be a string.")
            if param.choices is not None and value not in param.choices:
                raise BadInput(f"`{param.name}` must be one of {', '.join(param.choices)}.")
            values[param.name] = value
    return values


def _require_manager(tx: Tx, course_id: int) -> None:
    if not tx.viewer.manages(course_id):
        raise Forbidden("Only administrators and the course's instructors may act on its learners.")


def _named_ids(request: ActionRequest) -> list[int] | None:
    """The ``enrollmentIds`` named (each once), or None for a course and a filter."""
    if request.enrollment_ids is not None:
        if request.course_id is not None or request.filter is not None:
            raise BadInput(
                "Name learners by `enrollmentIds` or by `courseId` + `filter`, not both."
            )
        return list(dict.fromkeys(request.enrollment_ids))
    if request.course_id is None:
        raise BadInput("Name the learners: `enrollmentIds`, or `courseId` with a `filter`.")
    return None


def _course_targets(tx: Tx, request: ActionRequest) -> Select[*tuple[Any, ...]]:
    """The learners of ``courseId`` + ``filter``, once the viewer may act on them."""
    assert request.course_id is not None
    # Rights first: whether a course has (matching) learners is not for outsiders.
    _require_manager(tx, request.course_id)
    return learners_select(request.course_id, request.filter or LearnerQuery(), tx.now.date())


def _checked(ids: list[int], limit: int) -> list[int]:
    if not ids:
        raise BadInput("No learner matches: nothing to do.")
    if len(ids) > limit:
        raise BadInput(f"An action runs on at most {limit} learners at once; narrow the filter.")
    return ids


async def _target_ids(tx: Tx, request: ActionRequest) -> list[int]:
    limit = tx.lms.settings.max_action_targets
    ids = _named_ids(request)
    if ids is None:
        query = _course_targets(tx, request).with_only_columns(m.Enrollment.id)
        ids = list(
            (await tx.db.execute(query.order_by(m.Enrollment.id).limit(limit + 1))).scalars()
        )
    return _checked(ids, limit)


def _one_of(tx: Tx, ids: list[int]) -> ColumnElement[bool]:
    """``enrollments.id`` among ``ids``, tested per row against a set made once (in an
    expression, PostgreSQL's ``= ANY(array)`` would scan the array for every row)."""
    if tx.lms.db.is_sqlite:
        return ids_in(m.Enrollment.id, ids)
    return m.Enrollment.id.in_(select(func.unnest(literal(ids, postgresql.ARRAY(Integer)))))


async def _claim(
    tx: Tx, learners: Sequence[LearnerLike], moving_states: frozenset[LearnerState] = frozenset()
) -> tuple[set[int], frozenset[int]]:
    """Bump the version of learners still as they were read; the rest changed meanwhile.
    Those in ``moving_states`` also get their attempt number advanced. The learners
    claimed, and those of them moved on."""
    if not learners:
        return set(), frozenset()
    values: dict[str, Any] = {"version": m.Enrollment.version + 1}
    moving = [learner.enrollment_id for learner in learners if learner.state in moving_states]
    if moving:
        values["attempt_number"] = (
            m.Enrollment.attempt_number + 1
            if len(moving) == len(learners)
            else case(
                (_one_of(tx, moving), m.Enrollment.attempt_number + 1),
                else_=m.Enrollment.attempt_number,
            )
        )
    ids = [learner.enrollment_id for learner in learners]
    if tx.lms.db.is_sqlite:
        # The write transaction began IMMEDIATE and read the learners itself: no one else
        # wrote since, so every learner is still as read (the IDs are enough), and the
        # count of rows updated says so without RETURNING them (which costs SQLite as
        # much again as the update: it buffers every row returned).
        done = await tx.db.execute(
            update(m.Enrollment).where(ids_in(m.Enrollment.id, ids)).values(**values)
        )
        if done.rowcount == len(ids):
            return set(ids), frozenset(moving)
        # Something of this transaction removed some of them (a hook): those not here.
        rows = await tx.db.execute(select(m.Enrollment.id).where(ids_in(m.Enrollment.id, ids)))
        claimed = set(rows.scalars().all())
        return claimed, frozenset(claimed.intersection(moving))
    as_read = pairs_in(
        m.Enrollment.id,
        m.Enrollment.version,
        [(learner.enrollment_id, learner.version) for learner in learners],
    )
    # Rows are locked in ID order, so runs over overlapping learners queue behind each
    # other instead of deadlocking (SQLite has one writer at a time anyway); the update
    # joins the locked rows (``IN`` would make PostgreSQL deduplicate them first).
    locked = (
        select(m.Enrollment.id).where(as_read).order_by(m.Enrollment.id).with_for_update()
    ).cte("locked")
    rows = await tx.db.execute(
        update(m.Enrollment)
        .where(m.Enrollment.id == locked.c.id)
        .values(**values)
        .returning(m.Enrollment.id)
    )
    claimed = set(rows.scalars().all())
    return claimed, frozenset(claimed.intersection(moving))


async def _replay(tx: Tx, request: ActionRequest) -> RunResult | None:
    if request.idempotency_key is None:
        return None
    row = (
        await tx.db.execute(
            select(m.ActionRunRecord.request_hash, m.ActionRunRecord.result).where(
                m.ActionRunRecord.actor_id == tx.viewer.id,
                m.ActionRunRecord.idempotency_key == request.idempotency_key,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != request.fingerprint():
        raise Conflict("This idempotency key was already used for a different request.")
    return RunResult.from_json(row.result)


async def run_action(lms: LMS, viewer: Viewer, request: ActionRequest) -> RunResult:
    viewer.require_user()
    action = lms.actions.get(request.action)
    if action is None:
        raise BadInput(f"Unknown action {request.action!r}.")
    if action.kind is not ActionKind.MUTATION or action.run is None:
        raise BadInput(f"{action.key} is a view: read it through its field, not runAction.")
    try:
        async with write(lms, viewer) as tx:
            replayed = await _replay(tx, request)
            if replayed is not None:
                return replayed
            params = validate_params(action, request.params, tx.now.date())
            result, all_ok = await _run(tx, action, request, params)
            if all_ok is not None:  # the usual mass run: no pass over its outcomes
                tally = Counter({OutcomeStatus.OK: len(all_ok)})
                succeeded = list(all_ok)
            else:
                tally = Counter(outcome.status for _, outcome in result.outcomes)
                succeeded = [
                    eid for eid, outcome in result.outcomes if outcome.status is OutcomeStatus.OK
                ]
            tx.emit(
                "action_run",
                action=action.key,
                actor_id=viewer.id,
                succeeded=tally[OutcomeStatus.OK],
                skipped=tally[OutcomeStatus.SKIPPED],
                failed=tally[OutcomeStatus.FAILED],
                enrollment_ids=succeeded,
            )
            if request.idempotency_key is not None and not request.dry_run:
                await tx.db.execute(
                    insert(m.ActionRunRecord).values(
                        actor_id=viewer.id,
                        idempotency_key=request.idempotency_key,
                        request_hash=request.fingerprint(),
                        result=result.to_json(),
                        created_at=tx.now,
                    )
                )
            if request.dry_run:
                raise _DryRun(result)
    except _DryRun as dry:
        return dry.result
    except IntegrityError:
        if request.idempotency_key is None:
            raise
        # Another request with this key committed first: nothing of ours was written.
        raise Conflict(
            "A request with this idempotency key ran at the same time; send it again "
            "to get its result."
        ) from None
    return result


Decided = tuple[list[int], dict[int, Outcome], Sequence[MenuLearner], frozenset[str]]
"""The targets in order, the outcomes known so far, the learners the action applies to,
their course types."""


async def _run(
    tx: Tx, action: ActionDefinition, request: ActionRequest, params: dict[str, Any]
) -> tuple[RunResult, list[int] | None]:
    """The run's result, and the targets in order when every outcome is OK (else None)."""
    decided: Decided | list[int] | None = None
    if decided_in_sql(tx.lms, action):
        decided = await _decide_by_state(tx, action, request)
    if not isinstance(decided, tuple):
        decided = await _decide_per_learner(tx, action, request, decided)
    ids, outcomes, fitting, course_types = decided
    if concerned(tx.lms, "lms_withhold_actions", course_types):
        held = await withheld(tx.lms, tx.db, [action.key], fitting)
        for eid, by_key in held.items():
            outcomes[eid] = by_key[action.key]
        fitting = without(fitting, held)
    if fitting and concerned(tx.lms, "lms_veto_action", course_types):
        for _plugin, vetoes in await tx.lms.call_hook(
            "lms_veto_action",
            db=tx.db,
            action=action.key,
            viewer=tx.viewer,
            learners=fitting,
            params=params,
        ):
            for eid, outcome in vetoes.items():
                if outcome.status is not OutcomeStatus.OK:  # a veto cannot pass a learner
                    outcomes.setdefault(eid, outcome)
    candidates = without(fitting, outcomes)
    if candidates and not tx.viewer.is_admin:
        found = (await reach(tx.lms, tx.db, [action.key], candidates)).get(action.key, {})
        if found:
            for learner in candidates:
                if beyond_rights(tx.viewer, found, learner):
                    outcomes[learner.enrollment_id] = forbidden(action.label)
            candidates = without(candidates, outcomes)
    moving_states = action.new_attempt_in_claim
    if moving_states and concerned(tx.lms, "lms_perform_action", course_types):
        moving_states = None
    claimed, moved_on = await _claim(tx, rows_of(candidates), moving_states or frozenset())
    runnable = candidates
    if len(claimed) < len(candidates):
        for row in rows_of(candidates):
            if row.enrollment_id not in claimed:
                outcomes[row.enrollment_id] = STALE
        runnable = keep(candidates, claimed)
    if runnable:
        assert action.run is not None
        context = ActionContext(
            tx=tx, action=action, params=params, note=request.note, moved_on=moved_on
        )
        handled = await _performed_by_plugins(context, runnable, course_types)
        outcomes.update(handled)
        rest = without(runnable, handled)
        if rest:
            for eid, outcome in (await action.run(context, rest) or {}).items():
                outcomes[eid] = outcome
    # No outcome set: every target was found, applied, claimed and run, each OK (every
    # other path leaves an outcome), and the run's learners are the targets in order.
    all_ok = ids if not outcomes else None
    ok = (
        all_ok
        if all_ok is not None
        else [
            row.enrollment_id
            for row in rows_of(runnable)
            if outcomes.get(row.enrollment_id, OK).status is OutcomeStatus.OK
        ]
    )
    if action.summary is not None:
        summary = action.summary(params)
        await record_history_for(
            tx, ok, action.key, summary, note=request.note, details=_jsonable(params)
        )
    result = RunResult(
        action=action.key,
        dry_run=request.dry_run,
        outcomes=(
            list(zip(ids, repeat(OK)))
            if all_ok is not None
            else [(eid, outcomes.get(eid, OK)) for eid in ids]
        ),
    )
    return result, all_ok


async def _decide_per_learner(
    tx: Tx, action: ActionDefinition, request: ActionRequest, ids: list[int] | None = None
) -> Decided:
    """Each learner loaded as a ``MenuLearner`` with every plugin's facts, then the
    action's own rule. ``ids``: the targets, when already found."""
    if ids is None:
        ids = await _target_ids(tx, request)
    learners = await load_learners(tx.lms, tx.db, tx.viewer, ids)
    for course_id in sorted({learner.course_id for learner in learners.values()}):
        _require_manager(tx, course_id)
    outcomes: dict[int, Outcome] = {eid: NOT_FOUND for eid in ids if eid not in learners}
    fitting: list[MenuLearner] = []
    for eid in ids:
        learner = learners.get(eid)
        if learner is None:
            continue
        if action.applies(learner):
            fitting.append(learner)
        else:
            outcomes[eid] = Outcome.skipped("NOT_APPLICABLE", _not_applicable(action, learner))
    course_types = frozenset(learner.course_type for learner in learners.values())
    return ids, outcomes, fitting, course_types


async def _decide_by_state(
    tx: Tx, action: ActionDefinition, request: ActionRequest
) -> Decided | list[int]:
    """The targets read as rows in one statement, the action's states decided on them
    (``applies_in_states``): no ``MenuLearner`` built (``services.mass_claims``). Only
    the target IDs when the learners' course types call for their facts after all."""
    states = action.applies_in_states
    assert states is not None
    limit = tx.lms.settings.max_action_targets
    ids = _named_ids(request)
    if ids is None:
        query = by_query(_course_targets(tx, request)).limit(limit + 1)
        learners = await read_learners(tx.db, tx.viewer, query)
        ids = _checked([row.enrollment_id for row in learners.rows], limit)
    else:
        learners = await read_learners(tx.db, tx.viewer, by_ids(_checked(ids, limit)))
    for course_id in sorted({row.course_id for row in learners.rows}):
        _require_manager(tx, course_id)
    course_types = frozenset(row.course_type for row in learners.rows)
    if not decided_in_sql(tx.lms, action, course_types):
        return ids
    outcomes: dict[int, Outcome] = {}
    rows: Sequence[LearnerRow] = learners.rows
    if request.enrollment_ids is not None:  # in the order named, the unknown ones left out
        found = {row.enrollment_id: row for row in rows}
        outcomes.update((eid, NOT_FOUND) for eid in ids if eid not in found)
        rows = [found[eid] for eid in ids if eid in found]
    fitting = [row for row in rows if row.state in states]
    if len(fitting) < len(rows):
        shared: dict[LearnerState, Outcome] = {}  # one outcome per state, not per learner
        for row in rows:
            if row.state in states:
                continue
            if action.not_applicable is not None:
                learner = LearnerColumns([row], learners.details)[0]
                message = action.not_applicable(learner)
                outcomes[row.enrollment_id] = Outcome.skipped("NOT_APPLICABLE", message)
                continue
            outcome = shared.get(row.state)
            if outcome is None:
                outcome = shared[row.state] = Outcome.skipped(
                    "NOT_APPLICABLE", _not_applicable_in(action, row.state)
                )
            outcomes[row.enrollment_id] = outcome
    return ids, outcomes, LearnerColumns(fitting, learners.details), course_types


def _not_applicable(action: ActionDefinition, learner: MenuLearner) -> str:
    if action.not_applicable is not None:
        return action.not_applicable(learner)
    return _not_applicable_in(action, learner.state)


def _not_applicable_in(action: ActionDefinition, state: LearnerState) -> str:
    described = state.value.replace("_", " ").lower()
    return f"{action.label} does not apply to a learner who is {described}."


async def _performed_by_plugins(
    context: ActionContext, learners: Sequence[MenuLearner], course_types: frozenset[str]
) -> dict[int, Outcome]:
    """What course-type plugins did of the action themselves (``lms_perform_action``):
    the learners they answered for, first answer first."""
    handled: dict[int, Outcome] = {}
    if not concerned(context.lms, "lms_perform_action", course_types):
        return handled
    ours = {learner.enrollment_id for learner in learners}
    for _plugin, answer in await context.lms.call_hook(
        "lms_perform_action", ctx=context, learners=learners
    ):
        for eid, outcome in answer.items():
            if eid in ours:
                handled.setdefault(eid, outcome)
    return handled


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any] | None:
    if not params:
        return None
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in params.items()
    }
