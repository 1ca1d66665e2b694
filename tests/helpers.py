"""Test helpers: a world builder; the GraphQL client and the SQL statement counter are
``lms_graph.testing``'s, re-exported under the names this suite imports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import insert

from lms_graph import models as m
from lms_graph.auth import Viewer, issue_token, load_viewer
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from lms_graph.records import CourseRecord, UserRecord
from lms_graph.services.assignments import Assignment, assign_course
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, insert_course
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from lms_graph.testing import GraphQLClient, StatementCounter
from lms_graph.values import AssignmentType, ChapterKind, CourseKind

__all__ = ["Actor", "GraphQLClient", "StatementCounter", "World", "gid"]


@dataclasses.dataclass
class Actor:
    user: UserRecord
    token: str

    @property
    def id(self) -> str:
        return to_global_id("User", self.user.id)


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


class World:
    """Builds users, courses and enrollments through the services, quickly."""

    def __init__(self, lms: LMS) -> None:
        self.lms = lms
        self._n = 0

    async def user(
        self,
        name: str | None = None,
        *,
        email: str | None = None,
        employee_id: str | None = None,
        admin: bool = False,
    ) -> Actor:
        self._n += 1
        name = name or f"User {self._n}"
        if email is None and employee_id is None:
            email = f"user{self._n}@example.com"
        async with write(self.lms, Viewer(user=None)) as tx:
            user = await insert_user(
                tx, name=name, email=email, employee_id=employee_id, is_admin=admin
            )
        return Actor(user, issue_token(self.lms.settings, user.id))

    async def admin(self, name: str = "Admin") -> Actor:
        return await self.user(name, admin=True)

    async def course(
        self,
        title: str = "Safety basics",
        *,
        course_type: str = "self_paced",
        chapters: int = 2,
        quiz: bool = False,
        credits: float = 1.0,
    ) -> CourseRecord:
        specs = [ChapterSpec(f"Chapter {i + 1}") for i in range(chapters)]
        if quiz:
            specs.append(
                ChapterSpec(
                    "Quiz",
                    ChapterKind.QUIZ.value,
                    [
                        QuestionSpec("2 + 2?", ["3", "4"], 1),
                        QuestionSpec("Sky?", ["blue", "red"], 0),
                    ],
                )
            )
        async with write(self.lms, Viewer(user=None)) as tx:
            return await insert_course(
                tx, CourseSpec(title, course_type, CourseKind.COURSE, credits, specs)
            )

    async def curriculum(self, title: str, courses: Sequence[CourseRecord]) -> CourseRecord:
        async with write(self.lms, Viewer(user=None)) as tx:
            return await insert_course(
                tx,
                CourseSpec(
                    title,
                    "self_paced",
                    CourseKind.CURRICULUM,
                    0.0,
                    course_ids=[course.id for course in courses],
                ),
            )

    async def instructor(self, course: CourseRecord, actor: Actor) -> None:
        async with self.lms.db.transaction() as conn:
            await conn.execute(
                insert(m.CourseInstructor).values(
                    course_id=course.id, user_id=actor.user.id, granted_at=dt.datetime.now(dt.UTC)
                )
            )

    async def assign(
        self,
        course: CourseRecord,
        learners: Sequence[Actor],
        by: Actor,
        *,
        due: dt.date | None = None,
        message: str | None = None,
    ) -> list[int]:
        async with self.lms.db.reader() as conn:
            viewer = await load_viewer(conn, by.user.id)
        async with write(self.lms, viewer) as tx:
            ids, _ = await assign_course(
                tx,
                course.id,
                [learner.user.id for learner in learners],
                Assignment(
                    AssignmentType.REQUIRED if due else AssignmentType.OPTIONAL,
                    due,
                    message,
                    by.user.id,
                ),
            )
        return ids
