"""Actions every course type shares (CONTRACT section 5), set-based.

Course-type plugins add theirs (sessions, certificates, activity) through
``lms_register_actions``; this module is registered like a plugin and uses only
the public value types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lms_graph import models as m
from lms_graph.hook_scope import ignores_facts
from lms_graph.hookspecs import hookimpl
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.services.actions import ActionContext
from lms_graph.services.journal import HistoryLine, record_audit, record_history, tell_completed
from lms_graph.services.learner_columns import LearnerLike, rows_of
from lms_graph.services.menus import load_learners
from lms_graph.services.progress import refresh_statuses
from lms_graph.sql import ids_in, pairs_in
from lms_graph.values import (
    ActionDefinition,
    ActionKind,
    ActionParam,
    AssignmentType,
    CourseKind,
    LearnerRef,
    LearnerState,
    MenuLearner,
    Outcome,
)

S = LearnerState
ALL_STATES = frozenset(S)
RESETTABLE = frozenset({S.STARTED, S.IN_PROGRESS, S.COMPLETED})
OPEN = frozenset({S.NOT_STARTED, S.STARTED, S.IN_PROGRESS, S.ENROLLED_IN_SESSION})
COMPLETED = frozenset({S.COMPLETED})


def _in(states: frozenset[LearnerState]) -> Callable[[MenuLearner], bool]:
    """The rule of an action that applies in ``states`` (also its ``applies_in_states``)."""
    return lambda learner: learner.state in states


def _refs(
    learners: Sequence[LearnerLike], new_attempts: Mapping[int, int] | None = None
) -> list[LearnerRef]:
    """Hook arguments; ``new_attempts`` maps learners who moved on to a new attempt to it."""
    new = new_attempts or {}
    return [
        LearnerRef(
            enrollment_id=learner.enrollment_id,
            user_id=learner.user_id,
            course_id=learner.course_id,
            course_type=learner.course_type,
            attempt_id=new.get(learner.enrollment_id, learner.attempt_id),
            attempt_number=learner.attempt_number + (1 if learner.enrollment_id in new else 0),
        )
        for learner in learners
    ]


async def _emit(
    ctx: ActionContext,
    hook: str,
    learners: Sequence[LearnerLike],
    new_attempts: Mapping[int, int] | None = None,
) -> None:
    """Tell lifecycle plugins, building their arguments only when someone listens."""
    if ctx.lms.implements(hook):
        await ctx.lms.call_hook(
            hook, db=ctx.db, learners=_refs(learners, new_attempts), actor_id=ctx.tx.actor_id
        )


CASCADES: Mapping[str, frozenset[LearnerState]] = {
    "reset_progress": frozenset(ALL_STATES - {S.NOT_STARTED}),
    "mark_complete": frozenset(ALL_STATES - {S.COMPLETED}),
}
"""Actions that a curriculum learner's run carries to their member courses, and the
member-course states they act on there."""


async def _member_rows(db: Any, learners: Sequence[MenuLearner]) -> list[Any]:
    """(curriculum enrollment ID, member enrollment ID, member course ID, member state) of
    the curriculum learners among ``learners``: one statement, none without curricula."""
    curricula = [
        learner for learner in rows_of(learners) if learner.course_kind is CourseKind.CURRICULUM
    ]
    if not curricula:
        return []
    member = m.Enrollment.__table__.alias("member")
    attempt = m.Attempt.__table__.alias("member_attempt")
    rows = await db.execute(
        select(m.Enrollment.id, member.c.id, member.c.course_id, attempt.c.state)
        .select_from(m.Enrollment)
        .join(m.CurriculumCourse, m.CurriculumCourse.curriculum_id == m.Enrollment.course_id)
        .join(
            member,
            (member.c.course_id == m.CurriculumCourse.course_id)
            & (member.c.user_id == m.Enrollment.user_id)
            & member.c.unassigned_at.is_(None),
        )
        .join(
            attempt,
            (attempt.c.enrollment_id == member.c.id)
            & (attempt.c.number == member.c.attempt_number),
        )
        .where(ids_in(m.Enrollment.id, [learner.enrollment_id for learner in curricula]))
    )
    return list(rows)


async def _members(
    ctx: ActionContext, learners: Sequence[MenuLearner], states: frozenset[LearnerState]
) -> list[MenuLearner]:
    """The member-course learners of curriculum learners, in the given states, leaving
    out those the action names itself (they are acted on once)."""
    rows = await _member_rows(ctx.db, learners)
    if not rows:
        return []
    named = {learner.enrollment_id for learner in rows_of(learners)}
    ids = [row[1] for row in rows if row[1] not in named and LearnerState(row[3]) in states]
    found = await load_learners(ctx.lms, ctx.db, ctx.tx.viewer, ids)
    return [learner for learner in found.values() if learner.state in states]


def _with_members(
    learners: Sequence[MenuLearner], members: Sequence[MenuLearner]
) -> Sequence[LearnerLike]:
    """The learners named and the member-course learners their run carries to."""
    rows = rows_of(learners)
    return [*rows, *members] if members else rows


@hookimpl
@ignores_facts
async def lms_action_reach(
    db: Any, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Mapping[str, Mapping[int, Iterable[int]]] | None:
    """A curriculum learner's Reset Progress and Mark as Complete write to their member
    courses (those in a state the action changes)."""
    cascading = [key for key in actions if key in CASCADES]
    if not cascading:
        return None
    rows = await _member_rows(db, learners)
    if not rows:
        return None
    found: dict[str, dict[int, set[int]]] = {}
    for key in cascading:
        states = CASCADES[key]
        reached = found[key] = {}
        for curriculum_enrollment, _, course_id, state in rows:
            if LearnerState(state) in states:
                reached.setdefault(curriculum_enrollment, set()).add(course_id)
    return found


async def _member_history(ctx: ActionContext, members: Sequence[MenuLearner]) -> None:
    """Member courses acted on through their curriculum get a history line of their own."""
    if not members or ctx.action.summary is None:
        return
    summary = ctx.action.summary(ctx.params)
    await record_history(
        ctx.tx,
        [
            HistoryLine(learner.enrollment_id, ctx.action.key, summary, note=ctx.note)
            for learner in members
        ],
    )


async def _refresh_curricula(ctx: ActionContext, learners: Sequence[LearnerLike]) -> None:
    """Curricula follow their courses: recompute those holding courses acted on here, as
    when learners make progress themselves (a curriculum's completion sticks). Which of
    the courses belong to a curriculum is asked first: usually none, and then the
    learners are not looked up one by one."""
    courses = {
        learner.course_id for learner in learners if learner.course_kind is CourseKind.COURSE
    }
    if not courses:
        return
    members = set(
        (
            await ctx.db.execute(
                select(m.CurriculumCourse.course_id)
                .where(ids_in(m.CurriculumCourse.course_id, sorted(courses)))
                .distinct()
            )
        ).scalars()
    )
    if not members:
        return
    pairs = {
        (learner.user_id, learner.course_id)
        for learner in learners
        if learner.course_id in members and learner.course_kind is CourseKind.COURSE
    }
    rows = await ctx.db.execute(
        select(m.Enrollment.id, m.Enrollment.user_id, m.CurriculumCourse.course_id)
        .join(m.CurriculumCourse, m.CurriculumCourse.curriculum_id == m.Enrollment.course_id)
        .where(
            ids_in(m.Enrollment.user_id, sorted({user_id for user_id, _ in pairs})),
            ids_in(m.CurriculumCourse.course_id, sorted(members)),
            ACTIVE_ENROLLMENT,
        )
    )
    curricula = {row.id for row in rows if (row.user_id, row.course_id) in pairs}
    if curricula:
        await refresh_statuses(ctx.tx, curricula)


@ignores_facts
async def _update_due_date(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    due = ctx.params.get("dueDate")
    ids = [learner.enrollment_id for learner in rows_of(learners)]
    values: dict[str, Any] = (
        {
            "due_date": due,
            "assignment": AssignmentType.REQUIRED,
            "assigned_by_id": func.coalesce(m.Enrollment.assigned_by_id, ctx.tx.actor_id),
        }
        if due is not None
        else {"due_date": None, "assignment": AssignmentType.OPTIONAL}
    )
    await ctx.db.execute(update(m.Enrollment).where(ids_in(m.Enrollment.id, ids)).values(**values))


@ignores_facts
async def _reset(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    members = await _members(ctx, learners, CASCADES["reset_progress"])
    everyone = _with_members(learners, members)
    completed = [learner for learner in everyone if learner.state is S.COMPLETED]
    open_ = [learner for learner in everyone if learner.state is not S.COMPLETED]
    new_attempts: dict[int, int] = {}
    if open_:
        attempt_ids = [learner.attempt_id for learner in open_]
        await ctx.db.execute(
            delete(m.ChapterProgress).where(ids_in(m.ChapterProgress.attempt_id, attempt_ids))
        )
        await ctx.db.execute(
            delete(m.QuizAnswer).where(ids_in(m.QuizAnswer.attempt_id, attempt_ids))
        )
        await ctx.db.execute(
            update(m.Attempt)
            .where(ids_in(m.Attempt.id, attempt_ids))
            .values(state=S.NOT_STARTED, progress=0, started_at=None, completed_at=None)
        )
    if completed:
        moved_on = ctx.moved_on
        behind = [
            learner.enrollment_id for learner in completed if learner.enrollment_id not in moved_on
        ]
        if behind:  # those the claim did not advance: member courses, or no fold
            await ctx.db.execute(
                update(m.Enrollment)
                .where(ids_in(m.Enrollment.id, behind))
                .values(attempt_number=m.Enrollment.attempt_number + 1)
            )
        new_attempt = ids_in(m.Enrollment.id, [learner.enrollment_id for learner in completed])
        await ctx.db.execute(
            insert(m.Attempt).from_select(
                ["enrollment_id", "number", "state", "progress", "created_at"],
                select(
                    m.Enrollment.id,
                    m.Enrollment.attempt_number,
                    literal(S.NOT_STARTED.value),
                    literal(0),
                    literal(ctx.now, m.Attempt.created_at.type),
                ).where(new_attempt),
            )
        )
        if ctx.lms.implements("lms_on_reset"):
            rows = await ctx.db.execute(
                select(m.Attempt.id, m.Attempt.enrollment_id)
                .join(m.Enrollment, CURRENT_ATTEMPT)
                .where(new_attempt)
            )
            new_attempts = {row.enrollment_id: row.id for row in rows}
    await _emit(ctx, "lms_on_reset", everyone, new_attempts)
    await _member_history(ctx, members)
    await _refresh_curricula(ctx, everyone)


@ignores_facts
async def _mark_complete(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    members = await _members(ctx, learners, CASCADES["mark_complete"])
    everyone = _with_members(learners, members)
    await ctx.db.execute(
        update(m.Attempt)
        .where(ids_in(m.Attempt.id, [learner.attempt_id for learner in everyone]))
        .values(
            state=S.COMPLETED,
            progress=100,
            completed_at=ctx.now,
            started_at=func.coalesce(m.Attempt.started_at, ctx.now),
        )
    )
    if ctx.lms.implements("lms_on_events"):
        tell_completed(ctx.tx, _refs(everyone))
    await _emit(ctx, "lms_on_completed", everyone)
    await _member_history(ctx, members)
    await _refresh_curricula(ctx, everyone)


async def _reopen_last_chapters(ctx: ActionContext, attempt_ids: Sequence[int]) -> None:
    """Reopen each attempt's chapter completed last: the learner finishes it again to
    complete the course again (nothing else of their work is undone)."""
    rows = await ctx.db.execute(
        select(m.ChapterProgress.attempt_id, m.ChapterProgress.chapter_id)
        .where(
            ids_in(m.ChapterProgress.attempt_id, attempt_ids),
            m.ChapterProgress.status == "COMPLETED",
        )
        .order_by(m.ChapterProgress.completed_at, m.ChapterProgress.chapter_id)
    )
    last: dict[int, int] = {row[0]: row[1] for row in rows}  # the later completion wins
    if last:
        await ctx.db.execute(
            update(m.ChapterProgress)
            .where(
                pairs_in(
                    m.ChapterProgress.attempt_id, m.ChapterProgress.chapter_id, list(last.items())
                )
            )
            .values(status="STARTED", progress=0, completed_at=None, updated_at=ctx.now)
        )


@ignores_facts
async def _mark_incomplete(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    rows = rows_of(learners)
    attempt_ids = [learner.attempt_id for learner in rows]
    await ctx.db.execute(
        update(m.Attempt)
        .where(ids_in(m.Attempt.id, attempt_ids))
        .values(
            state=case(
                (m.Attempt.started_at.is_(None), S.NOT_STARTED.value),
                else_=S.IN_PROGRESS.value,
            ),
            completed_at=None,
        )
    )
    await _reopen_last_chapters(ctx, attempt_ids)
    await _emit(ctx, "lms_on_incomplete", rows)
    # State and progress as the course type sees the reopened attempt (short of complete).
    await refresh_statuses(ctx.tx, [learner.enrollment_id for learner in rows], reopened=True)
    await _refresh_curricula(ctx, rows)


async def _make_instructor(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    dialect = postgresql if ctx.db.dialect.name == "postgresql" else sqlite
    pairs = {(learner.course_id, learner.user_id) for learner in rows_of(learners)}
    await ctx.db.execute(
        dialect.insert(m.CourseInstructor).on_conflict_do_nothing(),
        [
            {
                "course_id": course_id,
                "user_id": user_id,
                "granted_at": ctx.now,
                "granted_by_id": ctx.tx.actor_id,
            }
            for course_id, user_id in sorted(pairs)
        ],
    )


async def _remove_instructor(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    await ctx.db.execute(
        delete(m.CourseInstructor).where(
            pairs_in(
                m.CourseInstructor.course_id,
                m.CourseInstructor.user_id,
                sorted({(learner.course_id, learner.user_id) for learner in rows_of(learners)}),
            )
        )
    )


@ignores_facts
async def _unassign(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    rows = rows_of(learners)
    await _emit(ctx, "lms_on_unassigned", rows)
    await ctx.db.execute(
        delete(m.Attempt).where(ids_in(m.Attempt.id, [learner.attempt_id for learner in rows]))
    )
    await ctx.db.execute(
        update(m.Enrollment)
        .where(ids_in(m.Enrollment.id, [learner.enrollment_id for learner in rows]))
        .values(unassigned_at=ctx.now)
    )


@ignores_facts
async def _remove(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    rows = rows_of(learners)
    await _emit(ctx, "lms_on_removed", rows)
    await record_audit(
        ctx.tx,
        "remove",
        [
            (
                learner.user_id,
                learner.course_id,
                {
                    "enrollment_id": learner.enrollment_id,
                    "scope": ctx.params.get("scope"),
                    "note": ctx.note,
                },
            )
            for learner in rows
        ],
    )
    await ctx.db.execute(
        delete(m.Enrollment).where(
            ids_in(m.Enrollment.id, [learner.enrollment_id for learner in rows])
        )
    )
    removed = Outcome.ok("Removed for good.")
    return {learner.enrollment_id: removed for learner in rows}


def _due_summary(params: Mapping[str, Any]) -> str:
    due = params.get("dueDate")
    return f"Due date set to {due.isoformat()}." if due else "Due date removed; now optional."


ACTIONS: tuple[ActionDefinition, ...] = (
    ActionDefinition(
        key="update_due_date",
        label="Update/Add Course Due Date",
        kind=ActionKind.MUTATION,
        position=10,
        applies=lambda learner: True,
        applies_in_states=ALL_STATES,
        run=_update_due_date,
        description="A date makes the course required; no date makes it optional.",
        # Required: it must be sent, so a forgotten param never clears due dates; null removes.
        params=(ActionParam("dueDate", "Date", True, "Due date (empty removes it)"),),
        summary=_due_summary,
        mass=True,
    ),
    ActionDefinition(
        key="reset_progress",
        label="Reset Progress",
        kind=ActionKind.MUTATION,
        position=30,
        applies=_in(RESETTABLE),
        applies_in_states=RESETTABLE,
        new_attempt_in_claim=COMPLETED,  # the claim advances their attempt number
        run=_reset,
        description="Clears the latest attempt's progress; a completed attempt stays on record.",
        destructive=True,
        confirm="Reset this learner's progress? Their current attempt's work is cleared.",
        summary=lambda params: "Progress reset.",
        mass=True,
    ),
    ActionDefinition(
        key="view_history",
        label="View History",
        kind=ActionKind.VIEW,
        position=40,
        applies=lambda learner: True,
        description="Everything that happened to this learner in this course.",
    ),
    ActionDefinition(
        key="mark_complete",
        label="Mark as Complete",
        kind=ActionKind.MUTATION,
        position=50,
        applies=_in(OPEN),
        applies_in_states=OPEN,
        run=_mark_complete,
        description="Completes the latest attempt, with its certificates and credits.",
        summary=lambda params: "Marked as complete.",
        mass=True,
    ),
    ActionDefinition(
        key="mark_incomplete",
        label="Mark as Incomplete",
        kind=ActionKind.MUTATION,
        position=55,
        applies=_in(COMPLETED),
        applies_in_states=COMPLETED,
        run=_mark_incomplete,
        description="Takes back the latest attempt's completion, certificate and credits.",
        destructive=True,
        confirm="Take back this completion, with its certificate and credits?",
        summary=lambda params: "Marked as incomplete.",
        in_menu=False,
        mass=True,
    ),
    ActionDefinition(
        key="view_chapter_insights",
        label="View Chapter Insights",
        kind=ActionKind.VIEW,
        position=80,
        applies=lambda learner: learner.has_chapters and learner.state is not S.ENROLLED_IN_SESSION,
        description="Each chapter's status and progress.",
    ),
    ActionDefinition(
        key="view_quiz_insights",
        label="View Quiz Insights",
        kind=ActionKind.VIEW,
        position=90,
        applies=lambda learner: learner.has_quiz and learner.state is not S.ENROLLED_IN_SESSION,
        description="Each quiz answer and whether it was right.",
    ),
    ActionDefinition(
        key="make_instructor",
        label="Make Instructor",
        kind=ActionKind.MUTATION,
        position=100,
        applies=lambda learner: not learner.is_instructor,
        run=_make_instructor,
        description="Grants instructor rights on this course.",
        summary=lambda params: "Made an instructor of this course.",
        not_applicable=lambda learner: "This learner is an instructor of this course already.",
    ),
    # Offered instead of make_instructor to a learner who holds the rights (same place).
    ActionDefinition(
        key="remove_instructor",
        label="Remove Instructor Rights",
        kind=ActionKind.MUTATION,
        position=100,
        applies=lambda learner: learner.is_instructor,
        run=_remove_instructor,
        description="Takes back instructor rights on this course; the learner stays enrolled.",
        destructive=True,
        confirm="Remove this learner's instructor rights on this course?",
        summary=lambda params: "Instructor rights on this course removed.",
        not_applicable=lambda learner: "This learner is not an instructor of this course.",
    ),
    ActionDefinition(
        key="unassign",
        label="Unassign User",
        kind=ActionKind.MUTATION,
        position=110,
        applies=_in(OPEN),
        applies_in_states=OPEN,
        run=_unassign,
        description="Drops the latest attempt; the course leaves the learner's My Learning.",
        destructive=True,
        confirm="Unassign this learner? Their current attempt and its progress are dropped.",
        summary=lambda params: "Unassigned.",
    ),
    ActionDefinition(
        key="remove",
        label="Remove User",
        kind=ActionKind.MUTATION,
        position=120,
        applies=lambda learner: True,
        applies_in_states=ALL_STATES,
        run=_remove,
        description="Deletes every record of this learner in this course. Cannot be undone.",
        destructive=True,
        confirm="Remove this learner for good? Everything they did in this course is deleted.",
        params=(ActionParam("scope", "Enum", False, "What to remove", ("COURSE",)),),
        mass=True,
    ),
)


@hookimpl
def lms_register_actions() -> Iterable[ActionDefinition]:
    return ACTIONS
