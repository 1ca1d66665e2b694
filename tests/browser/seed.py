"""The data the browser tests (and the screenshots) see: two courses, 30 learners.

Built through the services in one transaction, like ``lms-graph demo`` but small,
so a test session starts in a few seconds. Names and emails follow the demo's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.demo import employee_id, learner_email, learner_name
from lms_graph.records import UserRecord
from lms_graph.services.assignments import Assignment, assign_course
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, insert_course
from lms_graph.services.learning import answer_quiz, complete_chapter, start_course
from lms_graph.services.tx import Tx, write
from lms_graph.services.users import insert_user
from lms_graph.values import AssignmentType, ChapterKind

ADMIN_EMAIL = "admin@example.com"
MAIN_COURSE = "Workplace Safety Essentials"
OTHER_COURSE = "Giving Effective Feedback"
LEARNERS = 30
DEACTIVATED = 2
"""The last learners are deactivated."""
NOT_STARTED = 10
"""Of the main course's learners, in name order of creation: the first 10 have not
started, the next 6 started, the next 6 are in progress (3 completed the first chapter,
3 answered one of the quiz's two questions), the rest completed."""
STARTED = 6
IN_PROGRESS = 6
QUIZ_STARTED = 3
"""The last in-progress learners answered one question and completed no chapter."""
OVERDUE = (1, 4, 11)
"""Learner numbers whose due date in the main course is a week ago."""
OTHER_ASSIGNED = range(1, 6)
"""Learner numbers already assigned to the other course."""
ILT_COURSE = "Fire Warden Training (classroom)"
"""Seeded when the ILT plugin is loaded, learners 1 to 3 assigned, no sessions yet."""


async def seed(lms: LMS) -> UserRecord:
    async with write(lms, Viewer(user=None)) as tx:
        admin = await insert_user(tx, name="Ada Admin", email=ADMIN_EMAIL, is_admin=True)
        await _seed(dataclasses.replace(tx, viewer=Viewer(user=admin)), admin)
    return admin


async def _seed(tx: Tx, admin: UserRecord) -> None:
    today = dt.date.today()
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
                        QuestionSpec("Who may report a hazard?", ["Only managers", "Anyone"], 1),
                        QuestionSpec(
                            "Where is a near miss written down?", ["Nowhere", "The log"], 1
                        ),
                    ],
                ),
            ],
        ),
    )
    other = await insert_course(
        tx, CourseSpec(OTHER_COURSE, "self_paced", chapters=[ChapterSpec("The SBI model")])
    )
    if "ilt" in tx.lms.course_types:
        ilt = await insert_course(tx, CourseSpec(ILT_COURSE, "ilt"))
        await assign_course(
            tx,
            ilt.id,
            [learner.id for learner in learners[:3]],
            Assignment(AssignmentType.OPTIONAL, None, assigned_by_id=admin.id),
        )
    ids = [learner.id for learner in active]
    half = len(ids) // 2
    due = today + dt.timedelta(days=14)
    await assign_course(
        tx, main.id, ids[:half], Assignment(AssignmentType.REQUIRED, due, assigned_by_id=admin.id)
    )
    await assign_course(
        tx, main.id, ids[half:], Assignment(AssignmentType.OPTIONAL, None, assigned_by_id=admin.id)
    )
    await assign_course(
        tx,
        other.id,
        [learners[n - 1].id for n in OTHER_ASSIGNED],
        Assignment(AssignmentType.OPTIONAL, None, assigned_by_id=admin.id),
    )
    chapters = (
        await tx.db.execute(
            select(m.Chapter.id).where(m.Chapter.course_id == main.id).order_by(m.Chapter.position)
        )
    ).scalars()
    content = list(chapters)[:2]
    questions = (
        await tx.db.execute(
            select(m.Question.id)
            .join(m.Chapter)
            .where(m.Chapter.course_id == main.id)
            .order_by(m.Question.position)
        )
    ).scalars()
    first, second = questions
    for index, learner in enumerate(active):
        if index < NOT_STARTED:
            continue
        learner_tx = dataclasses.replace(tx, viewer=Viewer(user=learner))
        enrollment_id = await start_course(learner_tx, main.id)
        if index < NOT_STARTED + STARTED:
            continue
        if index >= NOT_STARTED + STARTED + IN_PROGRESS - QUIZ_STARTED and index < (
            NOT_STARTED + STARTED + IN_PROGRESS
        ):
            await answer_quiz(learner_tx, enrollment_id, first, 1)
            continue
        await complete_chapter(learner_tx, enrollment_id, content[0])
        if index < NOT_STARTED + STARTED + IN_PROGRESS:
            continue
        await complete_chapter(learner_tx, enrollment_id, content[1])
        await answer_quiz(learner_tx, enrollment_id, first, 1)
        await answer_quiz(learner_tx, enrollment_id, second, 1)
    overdue = [learners[n - 1].id for n in OVERDUE]
    await tx.db.execute(
        update(m.Enrollment)
        .where(m.Enrollment.course_id == main.id, m.Enrollment.user_id.in_(overdue))
        .values(due_date=today - dt.timedelta(days=7), version=m.Enrollment.version + 1)
    )
