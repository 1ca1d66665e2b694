"""Which stored notifications are mailed, and with what: queued in their transaction.

Mailed: the core's ``assignment`` notifications (an assignment with a message, by
``assignCourse`` or the CSV import), the ILT plugin's ``ilt_no_show`` (the no-show's
private message), and any notification whose ``Note`` carries ``{"email": True}`` in its
data. Each to one user, if active and with an e-mail address; three statements for a
batch of any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import NotificationMessage, ids_param
from lms_graph_plugins.email.config import MailConfig
from lms_graph_plugins.email.outbox import NewMail, now, queue
from lms_graph_plugins.email.tables import MailKind, courses, enrollments, users

TEMPLATES = {"assignment": "assignment", "ilt_no_show": "notice"}
"""Notification kinds mailed without being asked, and the template each uses."""

PEOPLE = select(users.c.id, users.c.email, users.c.name).where(
    ids_param(users.c.id, "ids"), users.c.active.is_(True), users.c.email.is_not(None)
)
ASSIGNMENTS = (
    select(
        enrollments.c.id,
        enrollments.c.course_id,
        enrollments.c.assignment,
        enrollments.c.due_date,
        courses.c.title,
    )
    .join(courses, courses.c.id == enrollments.c.course_id)
    .where(ids_param(enrollments.c.id, "ids"))
)


def _mailed(notification: NotificationMessage) -> bool:
    return notification.kind in TEMPLATES or notification.data.get("email") is True


async def queue_notifications(
    db: AsyncConnection, config: MailConfig, notifications: Sequence[NotificationMessage]
) -> int:
    chosen = [notification for notification in notifications if _mailed(notification)]
    if not chosen:
        return 0
    people = {
        row.id: row
        for row in await db.execute(
            PEOPLE, {"ids": sorted({notification.user_id for notification in chosen})}
        )
    }
    enrollment_ids = sorted(
        {
            int(notification.data["enrollment_id"])
            for notification in chosen
            if notification.kind == "assignment" and "enrollment_id" in notification.data
        }
    )
    assigned = (
        {row.id: row for row in await db.execute(ASSIGNMENTS, {"ids": enrollment_ids})}
        if enrollment_ids
        else {}
    )
    mails: list[NewMail] = []
    for notification in chosen:
        person = people.get(notification.user_id)
        if person is None:
            continue
        content: dict[str, Any] = {
            "template": TEMPLATES.get(notification.kind, "notice"),
            "name": person.name,
            "subject": notification.subject,
            "body": notification.body,
        }
        enrollment = assigned.get(notification.data.get("enrollment_id"))
        if enrollment is not None:
            content |= {
                "course_id": enrollment.course_id,
                "course_title": enrollment.title,
                "assignment": str(enrollment.assignment),
                "due_date": enrollment.due_date.isoformat() if enrollment.due_date else None,
            }
        elif isinstance(notification.data.get("course_id"), int):
            content["course_id"] = notification.data["course_id"]
        mails.append(
            NewMail(
                kind=MailKind.NOTIFICATION,
                ref_id=notification.id,
                notification_id=notification.id,
                user_id=notification.user_id,
                recipient=person.email,
                subject=notification.subject,
                content=content,
            )
        )
    return await queue(db, config, mails, at=now())
