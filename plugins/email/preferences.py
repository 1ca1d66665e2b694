"""Who wants reminders, and how many days ahead each course reminds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from lms_graph import LMS, BadInput, NotFound, ids_param
from lms_graph_plugins.email.tables import courses, mail_course_settings, mail_preferences, users

MAX_REMINDER_DAYS = 365


def _insert(conn: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


async def set_reminders(lms: LMS, user_id: int, enabled: bool) -> bool:
    """Turn a user's reminder mails on or off; False when there is no such user."""
    async with lms.db.transaction() as conn:
        found = (await conn.execute(select(users.c.id).where(users.c.id == user_id))).first()
        if found is None:
            return False
        statement = _insert(conn)(mail_preferences).values(
            user_id=user_id, reminders=enabled, updated_at=dt.datetime.now(dt.UTC)
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[mail_preferences.c.user_id],
                set_={"reminders": enabled, "updated_at": statement.excluded.updated_at},
            )
        )
    return True


async def set_course_reminder_days(lms: LMS, course_id: int, days: int | None) -> None:
    """How many days before the due date a course's learners are reminded (0: not at
    all; None: ``LMS_REMINDER_DAYS``)."""
    if days is not None and not 0 <= days <= MAX_REMINDER_DAYS:
        raise BadInput(f"days must be between 0 and {MAX_REMINDER_DAYS}, or null.")
    async with lms.db.transaction() as conn:
        found = (await conn.execute(select(courses.c.id).where(courses.c.id == course_id))).first()
        if found is None:
            raise NotFound("There is no course with this ID.")
        await conn.execute(
            delete(mail_course_settings).where(mail_course_settings.c.course_id == course_id)
        )
        if days is not None:
            await conn.execute(
                _insert(conn)(mail_course_settings).values(course_id=course_id, reminder_days=days)
            )


_REMINDERS_OFF = select(mail_preferences.c.user_id).where(
    ids_param(mail_preferences.c.user_id, "ids"), mail_preferences.c.reminders.is_(False)
)
_COURSE_DAYS = select(mail_course_settings.c.course_id, mail_course_settings.c.reminder_days).where(
    ids_param(mail_course_settings.c.course_id, "ids")
)


async def reminders_off(db: Any, user_ids: Sequence[int]) -> set[int]:
    return set((await db.execute(_REMINDERS_OFF, {"ids": list(user_ids)})).scalars())


async def course_days(db: Any, course_ids: Sequence[int]) -> dict[int, int]:
    return {
        row.course_id: row.reminder_days
        for row in await db.execute(_COURSE_DAYS, {"ids": list(course_ids)})
    }
