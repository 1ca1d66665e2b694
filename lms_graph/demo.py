"""Demo data for ``lms-graph demo``: a small organisation with a few courses and ~200 learners.

Everything is created through the services (the same rules as the API), in one
write transaction, so a seed either happens completely or not at all. Seeding is
idempotent: when the demo admin already exists nothing else is done.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from sqlalchemy import insert, select, update

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.records import CourseRecord, UserRecord
from lms_graph.services.assignments import Assignment, assign_course
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, insert_course
from lms_graph.services.learning import answer_quiz, complete_chapter, start_course
from lms_graph.services.tx import Tx, write
from lms_graph.services.users import insert_user, user_by_email
from lms_graph.values import AssignmentType, ChapterKind, CourseKind

ADMIN_EMAIL = "admin@example.com"
ADMIN_NAME = "Ada Admin"
INSTRUCTOR_EMAIL = "instructor@example.com"
INSTRUCTOR_NAME = "Ian Instructor"
LEARNERS = 200
DEACTIVATED = 5
"""The last learners are deactivated before anything is assigned to them."""

_FIRST_NAMES = (
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemi", "Liam", "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tara",
)  # fmt: skip
_LAST_NAMES = (
    "Anderson", "Baptiste", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
    "Ivanova", "Jensen", "Kowalski",
)  # fmt: skip

MAIL_FOLDER = "demo-mail"
FEEDBACK_MESSAGE = (
    "Optional, and well worth an hour: how to give feedback that helps. Start with the SBI model."
)

MAIN_COURSE = "Workplace Safety Essentials"
PLUGIN_COURSES = {
    "ilt": "Fire Warden Training (classroom)",
    "scorm": "Data Protection (SCORM package)",
    "xapi": "Customer Conversations (xAPI)",
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Chapters:
    """A course's chapters as the seed needs them: content chapter IDs, quiz answers."""

    content: list[int]
    quiz: list[tuple[int, int]]
    """``(question ID, correct choice)`` in order."""


def learner_name(number: int) -> str:
    """Deterministic, varied names: ``Alice Anderson``, ``Bruno Baptiste`` ..."""
    first = _FIRST_NAMES[(number - 1) % len(_FIRST_NAMES)]
    last = _LAST_NAMES[(number - 1) % len(_LAST_NAMES)]
    return f"{first} {last}"


def learner_email(number: int) -> str:
    return f"learner{number:03d}@example.com"


def employee_id(number: int) -> str:
    return f"E{number:04d}"


def mail_settings(environ: MutableMapping[str, str]) -> str:
    """Where the demo's e-mails go, said in one line. Without ``LMS_SMTP_URL`` (or
    ``LMS_MAIL_DIR``) the ``email`` plugin writes them as ``.eml`` files into
    ``./demo-mail``, and sweeps for reminders and certificates 10 s after start."""
    if environ.get("LMS_SMTP_URL"):
        return "sent through LMS_SMTP_URL"
    if not environ.get("LMS_MAIL_DIR"):
        environ["LMS_MAIL_DIR"] = MAIL_FOLDER
        environ.setdefault("LMS_MAIL_SWEEP_SECONDS", "10")
    folder = Path(environ["LMS_MAIL_DIR"]).resolve()
    return f"written to {folder}/ as .eml files (set LMS_SMTP_URL to send them)"


async def seed(lms: LMS) -> UserRecord:
    """Seed the demo (once) and return its admin, ``admin@example.com``."""
    existing = await user_by_email(lms, ADMIN_EMAIL)
    if existing is not None:
        return existing
    async with write(lms, Viewer(user=None)) as tx:
        admin = await insert_user(tx, name=ADMIN_NAME, email=ADMIN_EMAIL, is_admin=True)
        tx = dataclasses.replace(tx, viewer=Viewer(user=admin))
        await _seed(tx, admin)
    return admin


async def _seed(tx: Tx, admin: UserRecord) -> None:
    today = dt.date.today()
    instructor = await insert_user(tx, name=INSTRUCTOR_NAME, email=INSTRUCTOR_EMAIL)
    learners = [
        await insert_user(
            tx, name=learner_name(n), email=learner_email(n), employee_id=employee_id(n)
        )
        for n in range(1, LEARNERS + 1)
    ]
    inactive = [learner.id for learner in learners[-DEACTIVATED:]]
    await tx.db.execute(update(m.User).where(m.User.id.in_(inactive)).values(active=False))
    active = learners[:-DEACTIVATED]

    main = await insert_course(
        tx,
        CourseSpec(
            MAIN_COURSE,
            "self_paced",
            credits=2.0,
            chapters=[
                ChapterSpec("Hazards around you"),
                ChapterSpec("Reporting incidents"),
                ChapterSpec(
                    "Check your knowledge",
                    ChapterKind.QUIZ.value,
                    [
                        QuestionSpec(
                            "Who may report a hazard?",
                            ["Only managers", "Anyone", "Only safety officers"],
                            1,
                        ),
                        QuestionSpec(
                            "A colleague is injured. What comes first?",
                            ["Call for first aid", "Finish your task", "Write a report"],
                            0,
                        ),
                    ],
                ),
            ],
        ),
    )
    security = await insert_course(
        tx,
        CourseSpec(
            "Information Security Basics",
            "self_paced",
            credits=1.5,
            chapters=[
                ChapterSpec("Passwords and passphrases"),
                ChapterSpec("Phishing"),
                ChapterSpec(
                    "Quiz",
                    ChapterKind.QUIZ.value,
                    [QuestionSpec("Is it safe to reuse a password?", ["Yes", "No"], 1)],
                ),
            ],
        ),
    )
    conduct = await insert_course(
        tx,
        CourseSpec(
            "Code of Conduct",
            "self_paced",
            credits=1.0,
            chapters=[ChapterSpec("Our values"), ChapterSpec("Speaking up")],
        ),
    )
    feedback = await insert_course(
        tx,
        CourseSpec(
            "Giving Effective Feedback",
            "self_paced",
            credits=0.5,
            chapters=[ChapterSpec("Why feedback matters"), ChapterSpec("The SBI model")],
        ),
    )
    onboarding = await insert_course(
        tx,
        CourseSpec(
            "New Hire Onboarding",
            "self_paced",
            kind=CourseKind.CURRICULUM,
            course_ids=[security.id, conduct.id],
        ),
    )
    plugin_courses = [
        await insert_course(tx, CourseSpec(title, course_type))
        for course_type, title in PLUGIN_COURSES.items()
        if course_type in tx.lms.course_types
    ]
    await tx.db.execute(
        insert(m.CourseInstructor),
        [
            {
                "course_id": course.id,
                "user_id": instructor.id,
                "granted_at": tx.now,
                "granted_by_id": admin.id,
            }
            for course in [main, *plugin_courses]
        ],
    )

    # Main course: everyone (the deactivated are skipped), in batches with various due dates.
    everyone = [learner.id for learner in learners]
    await _assign(tx, main, everyone[:60], AssignmentType.REQUIRED, today + dt.timedelta(days=14))
    await _assign(
        tx, main, everyone[60:120], AssignmentType.REQUIRED, today + dt.timedelta(days=30)
    )
    await _assign(tx, main, everyone[120:], AssignmentType.OPTIONAL, None)
    await _assign(
        tx, onboarding, everyone[:100], AssignmentType.REQUIRED, today + dt.timedelta(days=60)
    )
    await _assign(tx, feedback, everyone[100:150], AssignmentType.OPTIONAL, None, FEEDBACK_MESSAGE)

    # Each plugin course type: 24 learners, then its plugin makes the course look lived-in.
    for offset, course in enumerate(plugin_courses):
        cohort = everyone[offset * 24 : (offset + 1) * 24]
        await _assign(tx, course, cohort, AssignmentType.REQUIRED, today + dt.timedelta(days=21))
        by_user = await _enrollments(tx, course.id)
        await tx.lms.call_hook(
            "lms_seed_demo",
            tx=tx,
            course=course,
            enrollment_ids=[by_user[user_id] for user_id in cohort],
            instructor_id=instructor.id,
        )

    # Progress in the main course, every self-paced state: of each 20 learners, 8 have not
    # started, 4 only opened the course, 5 are in progress and 3 completed it.
    chapters = await _chapters(tx, main.id)
    enrollments = await _enrollments(tx, main.id)
    for index, learner in enumerate(active):
        enrollment_id = enrollments[learner.id]
        step = index % 20
        if step < 8:
            continue  # NOT_STARTED
        if step < 12:
            await start_course(_as(tx, learner), main.id)  # STARTED
        elif step < 17:  # IN_PROGRESS: a chapter done, or a first quiz answer
            if step % 2:
                await complete_chapter(_as(tx, learner), enrollment_id, chapters.content[0])
            else:
                question, correct = chapters.quiz[0]
                await answer_quiz(_as(tx, learner), enrollment_id, question, correct)
        else:  # COMPLETED, some with a wrong answer on the way
            await _complete(_as(tx, learner), enrollment_id, chapters, wrong=step == 19)

    # Onboarding curriculum: some finished Code of Conduct, a few finished both courses.
    conduct_chapters = await _chapters(tx, conduct.id)
    security_chapters = await _chapters(tx, security.id)
    conduct_enrollments = await _enrollments(tx, conduct.id)
    security_enrollments = await _enrollments(tx, security.id)
    for index, learner in enumerate(active[:100]):
        if index % 8 == 0:
            await _complete(_as(tx, learner), conduct_enrollments[learner.id], conduct_chapters)
        if index % 25 == 0:
            await _complete(_as(tx, learner), security_enrollments[learner.id], security_chapters)

    # Feedback course: some assigned learners started; a few others enrolled on their own.
    for learner in active[100:150:10]:
        await start_course(_as(tx, learner), feedback.id)
    for learner in active[150:155]:
        await start_course(_as(tx, learner), feedback.id)

    # Overdue learners: due dates in the past cannot be given, so move some afterwards.
    overdue = [learners[n].id for n in range(0, 60, 3)]
    await tx.db.execute(
        update(m.Enrollment)
        .where(m.Enrollment.course_id == main.id, m.Enrollment.user_id.in_(overdue))
        .values(due_date=today - dt.timedelta(days=7), version=m.Enrollment.version + 1)
    )


def _as(tx: Tx, user: UserRecord) -> Tx:
    """The same transaction, acting as ``user`` (a learner's own actions)."""
    return dataclasses.replace(tx, viewer=Viewer(user=user))


async def _assign(
    tx: Tx,
    course: CourseRecord,
    user_ids: Sequence[int],
    assignment: AssignmentType,
    due_date: dt.date | None,
    message: str | None = None,
) -> None:
    await assign_course(
        tx, course.id, user_ids, Assignment(assignment, due_date, message, tx.actor_id)
    )


async def _chapters(tx: Tx, course_id: int) -> _Chapters:
    rows = (
        await tx.db.execute(
            select(m.Chapter.id, m.Chapter.kind, m.Question.id, m.Question.correct_choice)
            .outerjoin(m.Question, m.Question.chapter_id == m.Chapter.id)
            .where(m.Chapter.course_id == course_id)
            .order_by(m.Chapter.position, m.Question.position)
        )
    ).all()
    content = [row[0] for row in rows if row[1] != ChapterKind.QUIZ.value]
    quiz = [(row[2], row[3]) for row in rows if row[1] == ChapterKind.QUIZ.value]
    return _Chapters(content=content, quiz=quiz)


async def _enrollments(tx: Tx, course_id: int) -> dict[int, int]:
    rows = await tx.db.execute(
        select(m.Enrollment.user_id, m.Enrollment.id).where(m.Enrollment.course_id == course_id)
    )
    return {row.user_id: row.id for row in rows}


async def _complete(
    tx: Tx, enrollment_id: int, chapters: _Chapters, *, wrong: bool = False
) -> None:
    """Complete every chapter and answer every question (a wrong first answer if asked)."""
    for chapter_id in chapters.content:
        await complete_chapter(tx, enrollment_id, chapter_id)
    for position, (question_id, correct) in enumerate(chapters.quiz):
        choice = (correct + 1) % 2 if wrong and position == 0 else correct
        await answer_quiz(tx, enrollment_id, question_id, choice)
