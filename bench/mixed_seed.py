"""The mixed load's data set: a few hundred learners in four courses, seeded through the
services (the way the demo seeds), on a fresh database.

Courses: two self-paced ones (five content chapters and a quiz of two questions), an
xAPI activity (three chapters) and a SCORM package. Each *active* learner (one per
learner client) is enrolled in one of the self-paced courses (alternately) and in the
xAPI and SCORM courses; *passive* learners, enrolled in all four, are what the admin
clients run mass actions on, so that admins and learners write to the same courses
at once without an admin completing a learner's attempt under them.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from lms_graph import models as m
from lms_graph.auth import Viewer, issue_token
from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph.services.assignments import Assignment, assign_course
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, create_course
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from lms_graph.settings import Settings
from lms_graph.values import AssignmentType, ChapterKind

PLUGINS = ("certificates", "scorm_xapi", "self_paced")
PASSIVE_PER_ADMIN = 10
"""Learners each admin client runs its mass actions on (its own, so admins never race)."""
MIN_LEARNERS = 300

SELF_PACED = ("Self-paced A", "Self-paced B")
XAPI = "xAPI activity"
SCORM = "SCORM package"


@dataclasses.dataclass(frozen=True, slots=True)
class Learner:
    user_id: int
    email: str
    token: str
    self_paced_course: int
    self_paced: int
    """Enrollment IDs: in the self-paced course, the xAPI course and the SCORM course."""
    xapi: int
    scorm: int


@dataclasses.dataclass(frozen=True, slots=True)
class World:
    admin_id: int
    admin_token: str
    courses: dict[str, int]
    """Course IDs by title."""
    chapters: dict[int, list[int]]
    """Content chapter IDs by course ID."""
    questions: dict[int, list[int]]
    """Quiz question IDs by course ID (self-paced courses)."""
    learners: list[Learner]
    """Active learners: learner client ``k`` acts as ``learners[k]``."""
    passive: dict[int, list[int]]
    """Passive learners' enrollment IDs by course ID, in user order."""


def learners_needed(max_clients: int, admins: int) -> int:
    return max(MIN_LEARNERS, (max_clients - admins) + admins * PASSIVE_PER_ADMIN)


def _courses() -> list[CourseSpec]:
    content = [ChapterSpec(f"Chapter {n}") for n in range(1, 6)]
    quiz = ChapterSpec(
        "Quiz",
        ChapterKind.QUIZ.value,
        [QuestionSpec(f"Question {n}", ["yes", "no"], 0) for n in (1, 2)],
    )
    specs = [CourseSpec(title, "self_paced", chapters=[*content, quiz]) for title in SELF_PACED]
    specs.append(CourseSpec(XAPI, "xapi", chapters=[ChapterSpec(f"Part {n}") for n in (1, 2, 3)]))
    specs.append(CourseSpec(SCORM, "scorm", chapters=[ChapterSpec("Package")]))
    return specs


async def seed(url: str, secret_key: str, active: int, total: int) -> World:
    """Migrate ``url`` and seed it: ``active`` learners for the learner clients among
    ``total``; the rest are passive."""
    settings = Settings(database_url=url, secret_key=secret_key, plugins=PLUGINS)
    lms = LMS(settings)
    try:
        await upgrade(lms)
        async with write(lms, Viewer(user=None)) as tx:
            admin = await insert_user(
                tx, name="Bench Admin", email="admin@bench.test", is_admin=True
            )
            users = [
                await insert_user(tx, name=f"Learner {n:04d}", email=f"learner{n}@bench.test")
                for n in range(total)
            ]
        everyone = [user.id for user in users]
        active_ids, passive_ids = everyone[:active], everyone[active:]
        async with write(lms, Viewer(user=admin)) as tx:
            course_ids = {spec.title: (await create_course(tx, spec)).id for spec in _courses()}
            given = Assignment(AssignmentType.OPTIONAL, assigned_by_id=admin.id)
            first, second = (course_ids[title] for title in SELF_PACED)
            await assign_course(tx, first, [*active_ids[0::2], *passive_ids], given)
            await assign_course(tx, second, [*active_ids[1::2], *passive_ids], given)
            for title in (XAPI, SCORM):
                await assign_course(tx, course_ids[title], everyone, given)
        return await _world(lms, settings, admin.id, course_ids, active_ids, passive_ids)
    finally:
        await lms.close()


async def _world(
    lms: LMS,
    settings: Settings,
    admin_id: int,
    course_ids: dict[str, int],
    active_ids: list[int],
    passive_ids: list[int],
) -> World:
    async with lms.db.reader() as conn:
        enrollments = {
            (row.user_id, row.course_id): row.id
            for row in await conn.execute(
                select(m.Enrollment.id, m.Enrollment.user_id, m.Enrollment.course_id)
            )
        }
        chapters: dict[int, list[int]] = {}
        for row in await conn.execute(
            select(m.Chapter.id, m.Chapter.course_id)
            .where(m.Chapter.kind == ChapterKind.CONTENT.value)
            .order_by(m.Chapter.position)
        ):
            chapters.setdefault(row.course_id, []).append(row.id)
        questions: dict[int, list[int]] = {}
        for row in await conn.execute(
            select(m.Question.id, m.Chapter.course_id)
            .join(m.Chapter, m.Chapter.id == m.Question.chapter_id)
            .order_by(m.Question.id)
        ):
            questions.setdefault(row.course_id, []).append(row.id)
        emails = dict((await conn.execute(select(m.User.id, m.User.email))).tuples().all())
    self_paced = [course_ids[title] for title in SELF_PACED]
    learners = []
    for number, user_id in enumerate(active_ids):
        course = self_paced[number % 2]
        learners.append(
            Learner(
                user_id=user_id,
                email=emails[user_id] or "",
                token=issue_token(settings, user_id),
                self_paced_course=course,
                self_paced=enrollments[(user_id, course)],
                xapi=enrollments[(user_id, course_ids[XAPI])],
                scorm=enrollments[(user_id, course_ids[SCORM])],
            )
        )
    return World(
        admin_id=admin_id,
        admin_token=issue_token(settings, admin_id),
        courses=course_ids,
        chapters=chapters,
        questions=questions,
        learners=learners,
        passive={
            course: [enrollments[(user_id, course)] for user_id in passive_ids]
            for course in course_ids.values()
        },
    )
