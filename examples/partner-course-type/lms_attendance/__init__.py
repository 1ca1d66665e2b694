"""External training: a course held elsewhere (a webinar, a classroom day at a partner).

Learners attend it outside the LMS and submit a proof of attendance (a link to a
certificate, a recording, a signed sheet); an instructor approves it, which
completes the course. What this plugin brings, through lms-graph's hooks alone:

- the course type ``external_training`` and its state rule: a learner who
  submitted a proof awaiting review is IN_PROGRESS, an approved one COMPLETED;
- its own table, ``attendance_proofs``, on its own Alembic branch;
- ``Enrollment.attendanceProof`` and the learner's mutation ``submitAttendanceProof``;
- the menu action ``approve_attendance`` (with an optional ``comment`` param),
  shown for learners whose proof awaits review, and offered as a mass action
  of external-training courses; ``withdraw_approval`` for completed learners
  whose proof was approved, which re-opens the course through the state rule
  (``LearnerStatus(reopen=True)``: the core takes the completion back, with its
  certificate and credits);
- its menus (``lms_withhold_actions``): Mark as Complete is withheld while a proof
  awaits review (approve it instead), chapter and quiz insights where the course
  has no chapters;
- lifecycle reactions: reset, unassign and remove delete the learner's proofs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import strawberry
from lms_graph import (
    ActionContext,
    ActionDefinition,
    ActionKind,
    ActionParam,
    BadInput,
    Conflict,
    CourseRecord,
    CourseType,
    EnrollmentRecord,
    Forbidden,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    MenuLearner,
    MigrationSource,
    NotFound,
    Outcome,
    SQLExecutor,
    decode_id,
    for_course_types,
    hookimpl,
    refresh_learners,
    write,
)
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

KEY = "external_training"
PENDING = "PENDING"
APPROVED = "APPROVED"
WITHDRAWN = "WITHDRAWN"

# --- the course type and its state rule ----------------------------------------------------


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [
        CourseType(
            KEY,
            "External training",
            "Attended elsewhere; completed when an instructor approves the proof of attendance.",
        )
    ]


def _decide(learner: LearnerProgress, proof_status: str | None) -> LearnerStatus | None:
    if learner.completed_at is not None:
        # Completion sticks, except one this course type decided and then withdrew (an
        # administrator's Mark as Complete is not ours to take back).
        if proof_status == WITHDRAWN:
            return LearnerStatus(LearnerState.STARTED, 0, reopen=True)
        return None
    if proof_status == APPROVED:
        return LearnerStatus(LearnerState.COMPLETED, 100)
    if proof_status == PENDING:  # meaningful progress: a proof awaits review
        return LearnerStatus(LearnerState.IN_PROGRESS, 50)
    if learner.started_at is None:
        return LearnerStatus(LearnerState.NOT_STARTED, 0)
    return LearnerStatus(LearnerState.STARTED, 0)  # chapters alone never complete it


@hookimpl
async def lms_learner_status(
    db: AsyncConnection, course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    if course_type != KEY:
        return None
    statuses = await _proof_statuses(db, [learner.attempt_id for learner in learners])
    decided = {
        learner.enrollment_id: _decide(learner, statuses.get(learner.attempt_id))
        for learner in learners
    }
    return {enrollment_id: status for enrollment_id, status in decided.items() if status}


# --- tables and migrations -----------------------------------------------------------------

metadata = MetaData()
# No foreign keys into the core's tables, on purpose: the lifecycle hooks below keep
# this table consistent (and the tests prove they do; a cascade would hide a missing hook).
proofs = Table(
    "attendance_proofs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("enrollment_id", Integer, nullable=False, index=True),
    Column("attempt_id", Integer, nullable=False, unique=True),
    Column("proof_url", String(500), nullable=False),
    Column("status", String(16), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("reviewed_by_id", Integer, nullable=True),
    Column("review_comment", String(500), nullable=True),
)


@hookimpl
def lms_register_migrations() -> MigrationSource:
    return MigrationSource(
        branch="attendance", versions=Path(__file__).parent / "migrations", metadata=metadata
    )


async def _proof_statuses(db: SQLExecutor, attempt_ids: Sequence[int]) -> dict[int, str]:
    """``{attempt_id: status}`` for a whole batch, in one statement."""
    if not attempt_ids:
        return {}
    rows = await db.execute(
        select(proofs.c.attempt_id, proofs.c.status).where(proofs.c.attempt_id.in_(attempt_ids))
    )
    return {row.attempt_id: row.status for row in rows}


# --- lifecycle -----------------------------------------------------------------------------


@hookimpl
async def lms_on_reset(db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    # A completed learner's reset starts a new attempt: its approved proof stays on record.
    attempt_ids = [learner.attempt_id for learner in learners if learner.attempt_id is not None]
    await db.execute(delete(proofs).where(proofs.c.attempt_id.in_(attempt_ids)))


@hookimpl
async def lms_on_unassigned(db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    attempt_ids = [learner.attempt_id for learner in learners if learner.attempt_id is not None]
    await db.execute(delete(proofs).where(proofs.c.attempt_id.in_(attempt_ids)))


@hookimpl
async def lms_on_removed(db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    enrollment_ids = [learner.enrollment_id for learner in learners]
    await db.execute(delete(proofs).where(proofs.c.enrollment_id.in_(enrollment_ids)))


# --- the menu action, and the mass actions of an external training ----------------------------


@hookimpl
async def lms_learner_facts(
    db: SQLExecutor, learners: Sequence[LearnerRef]
) -> Mapping[int, Mapping[str, Any]]:
    statuses = await _proof_statuses(
        db, [learner.attempt_id for learner in learners if learner.attempt_id is not None]
    )
    return {
        learner.enrollment_id: {
            "attendance.proof_pending": learner.attempt_id is not None
            and statuses.get(learner.attempt_id) == PENDING,
            "attendance.proof_approved": learner.attempt_id is not None
            and statuses.get(learner.attempt_id) == APPROVED,
        }
        for learner in learners
    }


PROOF_PENDING = Outcome.skipped(
    "PROOF_PENDING",
    "A proof of attendance awaits review: approve it (Approve Attendance) instead.",
)


@hookimpl
@for_course_types(KEY)
def lms_withhold_actions(
    course_type: str, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Mapping[int, Mapping[str, Outcome]] | None:
    """What does not apply to this course type's learners, whoever registered it: menus,
    mass-action previews and runs all follow (one rule, no statement)."""
    if course_type != KEY:
        return None
    if "mark_complete" not in actions:
        return None
    return {
        learner.enrollment_id: {"mark_complete": PROOF_PENDING}
        for learner in learners
        if learner.facts.get("attendance.proof_pending")
    }


async def _approve(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    await ctx.db.execute(
        update(proofs)
        .where(proofs.c.attempt_id.in_([learner.attempt_id for learner in learners]))
        .values(
            status=APPROVED,
            reviewed_at=ctx.now,
            reviewed_by_id=ctx.tx.actor_id,
            review_comment=ctx.params.get("comment"),
        )
    )
    # Approval completes the attempt exactly as "Mark as Complete" does (state, history,
    # lms_on_completed for certificates and credits): reuse the core action's ``run``.
    complete = ctx.lms.actions["mark_complete"].run
    assert complete is not None
    await complete(ctx, learners)
    return {learner.enrollment_id: Outcome.ok("Attendance approved.") for learner in learners}


async def _withdraw(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    await ctx.db.execute(
        update(proofs)
        .where(proofs.c.attempt_id.in_([learner.attempt_id for learner in learners]))
        .values(
            status=WITHDRAWN,
            reviewed_at=ctx.now,
            reviewed_by_id=ctx.tx.actor_id,
            review_comment=ctx.params.get("comment"),
        )
    )
    # The state rule now re-opens these completions (``reopen=True``): the core takes
    # them back as Mark as Incomplete does, in this transaction.
    await refresh_learners(ctx.lms, ctx.db, [learner.enrollment_id for learner in learners])
    return {
        learner.enrollment_id: Outcome.ok("Approval withdrawn; the course is open again.")
        for learner in learners
    }


@hookimpl
def lms_register_actions() -> Iterable[ActionDefinition]:
    return [
        ActionDefinition(
            key="approve_attendance",
            label="Approve Attendance",
            kind=ActionKind.MUTATION,
            position=45,
            applies=lambda learner: (
                learner.course_type == KEY
                and learner.state is not LearnerState.COMPLETED
                and bool(learner.facts.get("attendance.proof_pending"))
            ),
            run=_approve,
            description="Accepts the learner's proof of attendance and completes the course.",
            params=(ActionParam("comment", "String", False, "Comment for the learner"),),
            summary=lambda params: (
                "Attendance approved." + (f" {params['comment']}" if params.get("comment") else "")
            ),
        ),
        ActionDefinition(
            key="withdraw_approval",
            label="Withdraw Attendance Approval",
            kind=ActionKind.MUTATION,
            position=46,
            applies=lambda learner: (
                learner.course_type == KEY
                and learner.state is LearnerState.COMPLETED
                and bool(learner.facts.get("attendance.proof_approved"))
            ),
            run=_withdraw,
            description=(
                "Takes back the approval of the learner's proof, and with it the completion "
                "(certificate and credits); the learner may submit a new proof."
            ),
            destructive=True,
            confirm="Withdraw this approval? The course is no longer complete for the learner.",
            params=(ActionParam("comment", "String", False, "Why (for the learner)"),),
            summary=lambda params: (
                "Attendance approval withdrawn."
                + (f" {params['comment']}" if params.get("comment") else "")
            ),
        ),
    ]


@hookimpl
def lms_mass_actions(course: CourseRecord) -> Sequence[str] | None:
    if course.course_type != KEY:
        return None  # other course types keep their default list
    return ["approve_attendance", "update_due_date", "mark_complete", "remove"]


# --- GraphQL -------------------------------------------------------------------------------


@strawberry.type(description="A learner's proof of attending an external training.")
class AttendanceProof:
    proof_url: str
    status: str = strawberry.field(description="PENDING until an instructor approves it.")
    submitted_at: dt.datetime
    reviewed_at: dt.datetime | None
    review_comment: str | None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _proof(row: Any) -> AttendanceProof:
    submitted = _utc(row.submitted_at)
    assert submitted is not None
    return AttendanceProof(
        proof_url=row.proof_url,
        status=row.status,
        submitted_at=submitted,
        reviewed_at=_utc(row.reviewed_at),
        review_comment=row.review_comment,
    )


def _proofs_by_attempt(info: strawberry.Info) -> DataLoader[int, AttendanceProof | None]:
    """This request's loader: one SELECT for every enrollment on the page."""
    db = info.context.db

    async def load(attempt_ids: list[int]) -> list[AttendanceProof | None]:
        rows = await db.execute(select(proofs).where(proofs.c.attempt_id.in_(attempt_ids)))
        found = {row.attempt_id: _proof(row) for row in rows}
        return [found.get(attempt_id) for attempt_id in attempt_ids]

    loader: DataLoader[int, AttendanceProof | None] = info.context.loaders.get(
        "attendance.proofs_by_attempt", load
    )
    return loader


@strawberry.type
class EnrollmentAttendance:
    @strawberry.field(description="The proof of attendance of the current attempt, if any.")
    async def attendance_proof(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> AttendanceProof | None:
        return await _proofs_by_attempt(info).load(root.attempt_id)


@strawberry.type
class AttendanceMutation:
    @strawberry.mutation(
        description="The viewer submits (or replaces) the proof of attendance of their own "
        "enrollment in an external training; it then awaits an instructor's approval."
    )
    async def submit_attendance_proof(
        self, info: strawberry.Info, enrollment_id: strawberry.ID, proof_url: str
    ) -> AttendanceProof:
        ctx = info.context
        user = ctx.require_user()  # UNAUTHENTICATED without a valid token
        proof_url = proof_url.strip()
        if not proof_url.startswith(("https://", "http://")) or len(proof_url) > 500:
            raise BadInput("A proof of attendance is a link (http or https, 500 characters).")
        enrollment = await ctx.loaders.enrollments.load(decode_id(enrollment_id, "Enrollment"))
        if enrollment is None:
            raise NotFound("No enrollment has this ID.")
        if enrollment.user_id != user.id:
            raise Forbidden("Only the learner submits their proof of attendance.")
        course = await ctx.loaders.courses.load(enrollment.course_id)
        if course is None or course.course_type != KEY:
            raise BadInput("This course takes no proof of attendance.")
        if enrollment.completed_at is not None:
            raise Conflict("This attempt is already completed.")
        # write(): events and notifications the refresh causes are told once it commits.
        async with write(ctx.lms, ctx.viewer) as tx:
            db = tx.db
            await db.execute(delete(proofs).where(proofs.c.attempt_id == enrollment.attempt_id))
            await db.execute(
                insert(proofs).values(
                    enrollment_id=enrollment.id,
                    attempt_id=enrollment.attempt_id,
                    proof_url=proof_url,
                    status=PENDING,
                    submitted_at=tx.now,
                )
            )
            # Progress of our own: the core asks the state rule again and stores its
            # answer (IN_PROGRESS for a pending proof), in this same transaction.
            await refresh_learners(ctx.lms, db, [enrollment.id])
            row = (
                await db.execute(select(proofs).where(proofs.c.attempt_id == enrollment.attempt_id))
            ).one()
        ctx.fresh_loaders()
        return _proof(row)


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return GraphQLExtension(
        mutation=AttendanceMutation, fields={"Enrollment": [EnrollmentAttendance]}
    )
