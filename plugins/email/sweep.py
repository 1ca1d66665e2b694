"""Mails found by looking, not told by a transaction: due-date reminders and certificates.

Every serving process sweeps now and then (``LMS_MAIL_SWEEP_SECONDS``); several may sweep
at once. Each finds what has no mail yet (reading, without a lock) and queues it with
``ON CONFLICT DO NOTHING`` on ``(kind, ref_id)``: whoever queues first wins, the others
queue nothing, so no mail is queued twice.

- A reminder before the due date: a learner whose current attempt is not complete, on
  or after ``due date - N days`` (N: the course's ``reminderDays``, else
  ``LMS_REMINDER_DAYS``; 0: none) and up to the due date; once per attempt.
- A reminder after it: from the day after the due date, for a week; once per attempt.
- Neither for a curriculum (its courses remind), for a learner who turned reminders
  off, or for an inactive user or one without an e-mail address.
- A certificate: each certificate issued in the last day and not revoked, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import exists, func, select

from lms_graph import LMS
from lms_graph_plugins.email.config import MailConfig
from lms_graph_plugins.email.outbox import NewMail, now, queue
from lms_graph_plugins.email.tables import (
    MailKind,
    attempts,
    certificates,
    courses,
    enrollments,
    mail_course_settings,
    mail_outbox,
    mail_preferences,
    users,
)

logger = logging.getLogger(__name__)

CHUNK = 2000
"""Rows found, and queued, per statement."""
AFTER_DAYS = 7
"""How long after the due date the after-reminder may still go (a service that was down
on the day sends it later, not never)."""
CERTIFICATE_WINDOW = dt.timedelta(days=1)


def _unmailed(kind: MailKind, ref: Any) -> Any:
    return ~exists().where(mail_outbox.c.kind == kind.value, mail_outbox.c.ref_id == ref)


def _reminder_candidates(kind: MailKind) -> Any:
    """Current, incomplete attempts with a due date between ``:first`` and ``:last``
    and no reminder of ``kind`` yet, of active learners who did not turn reminders off."""
    return (
        select(
            attempts.c.id.label("attempt_id"),
            enrollments.c.user_id,
            enrollments.c.course_id,
            enrollments.c.due_date,
            users.c.email,
            users.c.name,
            courses.c.title,
            mail_course_settings.c.reminder_days,
        )
        .select_from(attempts)
        .join(
            enrollments,
            (enrollments.c.id == attempts.c.enrollment_id)
            & (enrollments.c.attempt_number == attempts.c.number),
        )
        .join(users, users.c.id == enrollments.c.user_id)
        .join(courses, courses.c.id == enrollments.c.course_id)
        .outerjoin(mail_course_settings, mail_course_settings.c.course_id == courses.c.id)
        .outerjoin(mail_preferences, mail_preferences.c.user_id == users.c.id)
        .where(
            enrollments.c.unassigned_at.is_(None),
            attempts.c.completed_at.is_(None),
            courses.c.kind != "CURRICULUM",
            users.c.active.is_(True),
            users.c.email.is_not(None),
            func.coalesce(mail_preferences.c.reminders, True).is_(True),
            _unmailed(kind, attempts.c.id),
        )
        .order_by(attempts.c.id)
        .limit(CHUNK)
    )


async def _queue_reminders(
    lms: LMS,
    config: MailConfig,
    kind: MailKind,
    first: dt.date,
    last: dt.date,
    today: dt.date,
    at: dt.datetime,
) -> int:
    query = _reminder_candidates(kind).where(
        enrollments.c.due_date >= first, enrollments.c.due_date <= last
    )
    queued = 0
    after = 0
    while True:
        async with lms.db.reader() as conn:
            rows = (await conn.execute(query.where(attempts.c.id > after))).all()
        if not rows:
            return queued
        after = rows[-1].attempt_id
        mails = [
            _reminder(kind, row)
            for row in rows
            if kind is MailKind.REMINDER_AFTER or _in_window(config, row, today)
        ]
        async with lms.db.transaction() as conn:
            queued += await queue(conn, config, mails, at=now())
        if len(rows) < CHUNK:
            return queued


def _in_window(config: MailConfig, row: Any, today: dt.date) -> bool:
    days = config.reminder_days if row.reminder_days is None else row.reminder_days
    return days > 0 and row.due_date - dt.timedelta(days=days) <= today


def _reminder(kind: MailKind, row: Any) -> NewMail:
    if kind is MailKind.REMINDER_BEFORE:
        subject = f"Reminder: {row.title} is due on {row.due_date.isoformat()}"
    else:
        subject = f"Overdue: {row.title} was due on {row.due_date.isoformat()}"
    return NewMail(
        kind=kind,
        ref_id=row.attempt_id,
        user_id=row.user_id,
        recipient=row.email,
        subject=subject,
        content={
            "template": kind.value,
            "name": row.name,
            "course_id": row.course_id,
            "course_title": row.title,
            "due_date": row.due_date.isoformat(),
        },
    )


async def _horizon(lms: LMS, config: MailConfig) -> int:
    """The most days ahead any course reminds."""
    async with lms.db.reader() as conn:
        most = (await conn.execute(select(func.max(mail_course_settings.c.reminder_days)))).scalar()
    return max(config.reminder_days, most or 0)


CERTIFICATES = (
    select(
        certificates.c.id,
        certificates.c.user_id,
        certificates.c.course_id,
        certificates.c.code,
        users.c.email,
        users.c.name,
        courses.c.title,
    )
    .join(users, users.c.id == certificates.c.user_id)
    .join(courses, courses.c.id == certificates.c.course_id)
    .where(
        certificates.c.revoked_at.is_(None),
        users.c.active.is_(True),
        users.c.email.is_not(None),
        _unmailed(MailKind.CERTIFICATE, certificates.c.id),
    )
    .order_by(certificates.c.id)
    .limit(CHUNK)
)


async def _queue_certificates(lms: LMS, config: MailConfig, at: dt.datetime) -> int:
    queued = 0
    after = 0
    while True:
        async with lms.db.reader() as conn:
            rows = (
                await conn.execute(
                    CERTIFICATES.where(
                        certificates.c.issued_at >= at - CERTIFICATE_WINDOW,
                        certificates.c.id > after,
                    )
                )
            ).all()
        if not rows:
            return queued
        after = rows[-1].id
        mails = [
            NewMail(
                kind=MailKind.CERTIFICATE,
                ref_id=row.id,
                user_id=row.user_id,
                recipient=row.email,
                subject=f"Your certificate for {row.title}",
                content={
                    "template": "certificate",
                    "name": row.name,
                    "course_id": row.course_id,
                    "course_title": row.title,
                    "code": row.code,
                },
            )
            for row in rows
        ]
        async with lms.db.transaction() as conn:
            queued += await queue(conn, config, mails, at=now())
        if len(rows) < CHUNK:
            return queued


async def sweep(lms: LMS, config: MailConfig, at: dt.datetime, *, certificates_table: bool) -> int:
    """Queue every reminder and certificate mail due at ``at``; returns how many."""
    today = at.date()
    horizon = await _horizon(lms, config)
    queued = await _queue_reminders(
        lms,
        config,
        MailKind.REMINDER_BEFORE,
        today,
        today + dt.timedelta(days=horizon),
        today,
        at,
    )
    queued += await _queue_reminders(
        lms,
        config,
        MailKind.REMINDER_AFTER,
        today - dt.timedelta(days=AFTER_DAYS),
        today - dt.timedelta(days=1),
        today,
        at,
    )
    if certificates_table:
        queued += await _queue_certificates(lms, config, at)
    if queued:
        logger.info("queued %d reminder and certificate mails", queued)
    return queued
