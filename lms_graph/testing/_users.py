"""People for tests (an administrator, a course's instructor, learners) and their tokens,
made through the service's own user service and signed as the service signs them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import insert

from lms_graph import models as m
from lms_graph.auth import Viewer, issue_token
from lms_graph.core import LMS
from lms_graph.ids import decode_id, to_global_id
from lms_graph.services.tx import write
from lms_graph.services.users import insert_user


@dataclasses.dataclass(frozen=True)
class Person:
    id: int
    """The user's primary key."""
    global_id: str
    """The user's GraphQL ID."""
    name: str
    email: str
    token: str
    """A bearer token for ``Authorization: Bearer ...``."""


class Users:
    """``await lms_users.admin()``, ``.instructor(course)``, ``.learner()``: each a new user
    with a token; ``.token(user)`` signs one for any user."""

    def __init__(self, lms: LMS) -> None:
        self.lms = lms
        self._made = 0

    async def admin(self, name: str = "Admin", email: str | None = None) -> Person:
        return await self._user(name, email, admin=True)

    async def learner(self, name: str | None = None, email: str | None = None) -> Person:
        return await self._user(name, email)

    async def instructor(
        self, course: int | str, name: str = "Instructor", email: str | None = None
    ) -> Person:
        """A new user who instructs ``course`` (its primary key or its GraphQL ID)."""
        person = await self._user(name, email)
        course_id = course if isinstance(course, int) else decode_id(course, "Course")
        async with self.lms.db.transaction() as conn:
            await conn.execute(
                insert(m.CourseInstructor).values(
                    course_id=course_id, user_id=person.id, granted_at=dt.datetime.now(dt.UTC)
                )
            )
        return person

    def token(self, user: int | str) -> str:
        """A bearer token for ``user`` (its primary key or its GraphQL ID)."""
        user_id = user if isinstance(user, int) else decode_id(user, "User")
        return issue_token(self.lms.settings, user_id)

    async def _user(self, name: str | None, email: str | None, *, admin: bool = False) -> Person:
        self._made += 1
        name = name or f"Learner {self._made}"
        email = email or f"user{self._made}@example.com"
        async with write(self.lms, Viewer(user=None)) as tx:
            user = await insert_user(tx, name=name, email=email, is_admin=admin)
        return Person(
            id=user.id,
            global_id=to_global_id("User", user.id),
            name=user.name,
            email=email,
            token=self.token(user.id),
        )
