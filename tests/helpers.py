"""Test helpers: a GraphQL client over HTTP, a world builder, a SQL statement counter."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from httpx import AsyncClient
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from lms_graph import models as m
from lms_graph.auth import Viewer, issue_token, load_viewer
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from lms_graph.records import CourseRecord, UserRecord
from lms_graph.services.assignments import Assignment, assign_course
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, insert_course
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user
from lms_graph.values import AssignmentType, ChapterKind, CourseKind


class GraphQLClient:
    def __init__(self, http: AsyncClient) -> None:
        self.http = http

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self(query, variables, token)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The first error of a request that must fail; returns it (message, extensions)."""
        body = await self(query, variables, token)
        assert body.get("errors"), f"expected an error, got {body}"
        error: dict[str, Any] = body["errors"][0]
        return error


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


class StatementCounter:
    """Counts SQL statements sent on engines (BEGIN and pragmas included)."""

    def __init__(self, *engines: AsyncEngine) -> None:
        self.engines = [engine.sync_engine for engine in engines]
        self.statements: list[str] = []
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)

    def close(self) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._seen)
