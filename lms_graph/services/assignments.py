"""Assigning courses to learners: the set-based primitive shared by ``assignCourse``,
the CSV import and self-enrolment."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Integer, insert, literal, select, update

from lms_graph import models as m
from lms_graph.errors import BadInput, Forbidden, NotFound
from lms_graph.queries import COURSE_COLUMNS
from lms_graph.records import CourseRecord
from lms_graph.services.journal import Note, notify, record_history_for
from lms_graph.services.tx import Tx
from lms_graph.sql import ids_in
from lms_graph.values import AssignmentType, CourseKind, LearnerRef, LearnerState

REASON_NOT_FOUND = "Employee ID or Email ID not found"
REASON_DEACTIVATED = "User with the given Email ID or Employee ID is deactivated"
REASON_ALREADY_ASSIGNED = "User is already assigned to this course"
REASON_DIFFERENT_USERS = "Email ID and Employee ID belong to different users"


@dataclasses.dataclass(frozen=True, slots=True)
class Assignment:
    """What an assignment gives every learner it names."""

    assignment: AssignmentType
    due_date: dt.date | None = None
    message: str | None = None
    assigned_by_id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Skip:
    user_id: int
    reason: str


def resolve_assignment(
    assignment: AssignmentType | None, due_date: dt.date | None, today: dt.date
) -> AssignmentType:
    """The assignment type, checked against the due date (none given: REQUIRED iff due)."""
    if due_date is not None and due_date < today:
        raise BadInput("The due date cannot be in the past.")
    if assignment is None:
        return AssignmentType.REQUIRED if due_date is not None else AssignmentType.OPTIONAL
    return assignment


async def load_course(tx: Tx, course_id: int, *, lock: bool = False) -> CourseRecord:
    """The course, or NOT_FOUND. ``lock`` holds its row until commit, so that concurrent
    enrollments in one course queue instead of colliding (PostgreSQL; SQLite writers
    queue anyway): take it before reading who is enrolled."""
    query = select(*COURSE_COLUMNS).where(m.Course.id == course_id)
    if lock:
        query = query.with_for_update(key_share=True)
    row = (await tx.db.execute(query)).mappings().one_or_none()
    if row is None:
        raise NotFound("No course has this ID.")
    return CourseRecord.from_row(row)


async def assign_course(
    tx: Tx, course_id: int, user_ids: Sequence[int], assignment: Assignment
) -> tuple[list[int], list[Skip]]:
    """Assign ``user_ids`` to a course. Unknown users fail the whole request; deactivated
    and already assigned ones are skipped with a reason. Returns new enrollment IDs."""
    course = await load_course(tx, course_id, lock=True)
    tx.viewer.require_manager(course.id)
    if course.kind is CourseKind.CURRICULUM and not tx.viewer.is_admin:
        members = await tx.db.execute(
            select(m.CurriculumCourse.course_id).where(
                m.CurriculumCourse.curriculum_id == course.id
            )
        )
        if not all(tx.viewer.manages(member) for member in members.scalars()):
            raise Forbidden(
                "Assigning this curriculum assigns its courses too; only administrators "
                "and instructors of every one of them may do it."
            )
    if not user_ids:
        raise BadInput("Name at least one user to assign.")
    if len(user_ids) > tx.lms.settings.max_action_targets:
        raise BadInput(
            f"At most {tx.lms.settings.max_action_targets} users can be assigned at once."
        )
    wanted = list(dict.fromkeys(user_ids))
    users = {
        row.id: row.active
        for row in (
            await tx.db.execute(select(m.User.id, m.User.active).where(m.User.id.in_(wanted)))
        ).all()
    }
    missing = [user_id for user_id in wanted if user_id not in users]
    if missing:
        raise NotFound(f"{len(missing)} of the users named do not exist.")
    skips = [Skip(user_id, REASON_DEACTIVATED) for user_id in wanted if not users[user_id]]
    active = [user_id for user_id in wanted if users[user_id]]
    assigned = await active_learners(tx, course.id, active)
    skips += [Skip(user_id, REASON_ALREADY_ASSIGNED) for user_id in active if user_id in assigned]
    to_enroll = [user_id for user_id in active if user_id not in assigned]
    enrollment_ids = await enroll(tx, course, to_enroll, assignment)
    return enrollment_ids, skips


async def active_learners(tx: Tx, course_id: int, user_ids: Sequence[int]) -> set[int]:
    rows = await tx.db.execute(
        select(m.Enrollment.user_id).where(
            m.Enrollment.course_id == course_id,
            ids_in(m.Enrollment.user_id, user_ids),
            m.Enrollment.unassigned_at.is_(None),
        )
    )
    return set(rows.scalars())


async def enroll(
    tx: Tx, course: CourseRecord, user_ids: Sequence[int], assignment: Assignment
) -> list[int]:
    """Enroll users not actively enrolled (new or previously unassigned), in bulk.

    A curriculum also enrolls them in each member course they are not in yet.
    Returns the enrollment IDs, in ``user_ids`` order.
    """
    if not user_ids:
        return []
    existing = {
        row.user_id: (row.id, row.attempt_number)
        for row in (
            await tx.db.execute(
                select(m.Enrollment.id, m.Enrollment.user_id, m.Enrollment.attempt_number).where(
                    m.Enrollment.course_id == course.id, ids_in(m.Enrollment.user_id, user_ids)
                )
            )
        ).all()
    }
    # Set-based: each table is written with one INSERT ... SELECT binding the IDs as one
    # parameter, whatever the number of users (the CSV import enrolls 100,000 at once).
    fresh = [user_id for user_id in user_ids if user_id not in existing]
    if fresh:
        rows = (
            await tx.db.execute(
                insert(m.Enrollment)
                .from_select(
                    [
                        "user_id",
                        "course_id",
                        "assignment",
                        "due_date",
                        "assigned_by_id",
                        "assigned_at",
                        "message",
                        "attempt_number",
                        "version",
                    ],
                    select(
                        m.User.id,
                        literal(course.id, Integer),
                        literal(assignment.assignment, m.Enrollment.assignment.type),
                        literal(assignment.due_date, m.Enrollment.due_date.type),
                        literal(assignment.assigned_by_id, Integer),
                        literal(tx.now, m.Enrollment.assigned_at.type),
                        literal(assignment.message, m.Enrollment.message.type),
                        literal(1, Integer),
                        literal(1, Integer),
                    ).where(ids_in(m.User.id, fresh)),
                )
                .returning(m.Enrollment.id, m.Enrollment.user_id)
            )
        ).all()
        if len(rows) != len(fresh):
            raise NotFound(f"{len(fresh) - len(rows)} of the users named do not exist.")
        existing.update({row.user_id: (row.id, 1) for row in rows})
    inserted = set(fresh)
    returning = [user_id for user_id in user_ids if user_id not in inserted]
    if returning:
        await tx.db.execute(
            update(m.Enrollment)
            .where(ids_in(m.Enrollment.id, [existing[user_id][0] for user_id in returning]))
            .values(
                assignment=assignment.assignment,
                due_date=assignment.due_date,
                assigned_by_id=assignment.assigned_by_id,
                assigned_at=tx.now,
                message=assignment.message,
                unassigned_at=None,
                version=m.Enrollment.version + 1,
            )
        )
    enrollment_ids = [existing[user_id][0] for user_id in user_ids]
    add_attempts = insert(m.Attempt).from_select(
        ["enrollment_id", "number", "state", "progress", "created_at"],
        select(
            m.Enrollment.id,
            m.Enrollment.attempt_number,
            literal(LearnerState.NOT_STARTED, m.Attempt.state.type),
            literal(0, Integer),
            literal(tx.now, m.Attempt.created_at.type),
        ).where(ids_in(m.Enrollment.id, enrollment_ids)),
    )
    # The attempts' IDs are for ``lms_on_assigned``: not read back when no plugin listens.
    hooked = tx.lms.implements("lms_on_assigned")
    if not hooked:
        await tx.db.execute(add_attempts)
    else:
        attempts = await tx.db.execute(
            add_attempts.returning(m.Attempt.id, m.Attempt.enrollment_id)
        )
        attempt_of = {enrollment_id: attempt_id for attempt_id, enrollment_id in attempts}
    summary = (
        f"Assigned as {assignment.assignment.value.lower()}"
        + (f", due {assignment.due_date.isoformat()}" if assignment.due_date else "")
        + "."
        if assignment.assigned_by_id is not None
        else "Enrolled on their own."
    )
    await record_history_for(
        tx,
        enrollment_ids,
        "assigned",
        summary,
        details={"message": assignment.message} if assignment.message else None,
    )
    if assignment.message:
        await notify(
            tx,
            [
                Note(
                    user_id,
                    "assignment",
                    f"You have been assigned {course.title}",
                    assignment.message,
                    {"course_id": course.id, "enrollment_id": existing[user_id][0]},
                )
                for user_id in user_ids
            ],
        )
    if hooked:
        await tx.lms.call_hook(
            "lms_on_assigned",
            db=tx.db,
            learners=[
                LearnerRef(
                    enrollment_id=existing[user_id][0],
                    user_id=user_id,
                    course_id=course.id,
                    course_type=course.course_type,
                    attempt_id=attempt_of[existing[user_id][0]],
                    attempt_number=existing[user_id][1],
                )
                for user_id in user_ids
            ],
        )
    if course.kind is CourseKind.CURRICULUM:
        await _enroll_in_members(tx, course, user_ids, assignment)
    return enrollment_ids


async def _enroll_in_members(
    tx: Tx, curriculum: CourseRecord, user_ids: Sequence[int], assignment: Assignment
) -> None:
    members = (
        (
            await tx.db.execute(
                select(*COURSE_COLUMNS)
                .join(m.CurriculumCourse, m.CurriculumCourse.course_id == m.Course.id)
                .where(m.CurriculumCourse.curriculum_id == curriculum.id)
                .order_by(m.Course.id)  # locked in one order, as ``load_course(lock=True)``
                .with_for_update(key_share=True, of=m.Course)
            )
        )
        .mappings()
        .all()
    )
    for row in members:
        member = CourseRecord.from_row(row)
        already = await active_learners(tx, member.id, user_ids)
        await enroll(
            tx,
            member,
            [user_id for user_id in user_ids if user_id not in already],
            dataclasses.replace(assignment, message=None),
        )
