"""The outbox: queuing mails, claiming the due ones, recording how each attempt went.

Queuing happens inside the transaction that decides the mail (``queue``), so a mail
exists exactly when what it tells does. Claiming is one statement that marks a batch of
due mails ``SENDING`` with a lease; on PostgreSQL its ``FOR UPDATE SKIP LOCKED`` lets
several processes claim at once without ever taking the same mail, and SQLite has one
writer at a time anyway. A sender that dies leaves its mails ``SENDING`` until the lease
ends; another process then sends them again, with the same ``Message-ID``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import LMS
from lms_graph_plugins.email.compose import Outgoing, new_message_id
from lms_graph_plugins.email.config import MailConfig
from lms_graph_plugins.email.tables import MailKind, MailState, mail_outbox

MAX_BACKOFF_SECONDS = 3600.0


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class NewMail:
    kind: MailKind
    ref_id: int
    user_id: int
    recipient: str
    subject: str
    content: Mapping[str, Any]
    notification_id: int | None = None


def _values(mail: NewMail, config: MailConfig, at: dt.datetime) -> dict[str, Any]:
    return {
        "kind": mail.kind.value,
        "ref_id": mail.ref_id,
        "user_id": mail.user_id,
        "notification_id": mail.notification_id,
        "recipient": mail.recipient,
        "subject": mail.subject,
        "content": dict(mail.content),
        "message_id": new_message_id(uuid.uuid4().hex, config),
        "state": MailState.QUEUED.value,
        "attempts": 0,
        "created_at": at,
        "queued_at": at,
        "next_attempt_at": at,
    }


async def queue(
    db: AsyncConnection, config: MailConfig, mails: Sequence[NewMail], *, at: dt.datetime
) -> int:
    """Queue ``mails`` in the caller's transaction, due at once. A mail already queued
    for the same ``(kind, ref_id)`` is left as it is (another process found it first).
    Returns how many were queued."""
    if not mails:
        return 0
    dialect = postgresql if db.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(mail_outbox)
        .on_conflict_do_nothing(index_elements=[mail_outbox.c.kind, mail_outbox.c.ref_id])
        .returning(mail_outbox.c.id)
    )
    result = await db.execute(statement, [_values(mail, config, at) for mail in mails])
    return len(result.all())  # the rows inserted (asyncpg counts none for a batch)


def _due(at: dt.datetime) -> Any:
    return mail_outbox.c.state.in_([MailState.QUEUED.value, MailState.SENDING.value]) & (
        mail_outbox.c.next_attempt_at <= at
    )


async def anything_due(lms: LMS, at: dt.datetime) -> bool:
    """One indexed read, outside any transaction: SQLite's writer is only taken when
    there is something to claim."""
    async with lms.db.reader() as conn:
        found = await conn.execute(select(mail_outbox.c.id).where(_due(at)).limit(1))
        return found.first() is not None


async def claim(lms: LMS, config: MailConfig, at: dt.datetime) -> list[Claimed]:
    """Take up to ``config.batch`` due mails for this process: ``SENDING`` until the lease
    ends, one more attempt counted."""
    due = (
        select(mail_outbox.c.id)
        .where(_due(at))
        .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
        .limit(config.batch)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(mail_outbox)
        .where(mail_outbox.c.id.in_(due.scalar_subquery()))
        .values(
            state=MailState.SENDING.value,
            attempts=mail_outbox.c.attempts + 1,
            next_attempt_at=at + dt.timedelta(seconds=config.lease_seconds),
        )
        .returning(
            mail_outbox.c.id,
            mail_outbox.c.user_id,
            mail_outbox.c.recipient,
            mail_outbox.c.subject,
            mail_outbox.c.content,
            mail_outbox.c.message_id,
            mail_outbox.c.created_at,
            mail_outbox.c.queued_at,
            mail_outbox.c.attempts,
        )
    )
    async with lms.db.transaction() as conn:
        rows = (await conn.execute(statement)).all()
    return [_claimed(row) for row in sorted(rows, key=lambda row: row.id)]


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed(Outgoing):
    attempts: int
    """This attempt's number (the claim counted it)."""
    queued_at: dt.datetime


def _claimed(row: Row[Any]) -> Claimed:
    return Claimed(
        id=row.id,
        user_id=row.user_id,
        recipient=row.recipient,
        subject=row.subject,
        content=row.content,
        message_id=row.message_id,
        created_at=row.created_at,
        attempts=row.attempts,
        queued_at=row.queued_at,
    )


def _ours(mail: Claimed) -> Any:
    """Still this process's claim (not taken over after its lease ended)."""
    return (
        (mail_outbox.c.id == mail.id)
        & (mail_outbox.c.state == MailState.SENDING.value)
        & (mail_outbox.c.attempts == mail.attempts)
    )


async def mark_sent(lms: LMS, mail: Claimed, at: dt.datetime) -> None:
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(mail_outbox)
            .where(_ours(mail))
            .values(state=MailState.SENT.value, sent_at=at, last_error=None)
        )


async def mark_failed(lms: LMS, mail: Claimed, error: str) -> None:
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(mail_outbox)
            .where(_ours(mail))
            .values(state=MailState.FAILED.value, last_error=error[:2000])
        )


def backoff(config: MailConfig, attempts: int) -> dt.timedelta:
    """The wait after attempt number ``attempts`` failed: ``retry_seconds``, doubling."""
    seconds = config.retry_seconds * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


async def mark_retry(
    lms: LMS, config: MailConfig, mails: Sequence[Claimed], error: str, at: dt.datetime
) -> dt.datetime | None:
    """Queue ``mails`` again after their backoff, or fail those whose day is over.
    Returns the soonest retry."""
    soonest: dt.datetime | None = None
    give_up = dt.timedelta(seconds=config.give_up_seconds)
    async with lms.db.transaction() as conn:
        for mail in mails:
            retry_at = at + backoff(config, mail.attempts)
            if retry_at > mail.queued_at + give_up:
                values: dict[str, Any] = {
                    "state": MailState.FAILED.value,
                    "last_error": f"gave up after {mail.attempts} attempts: {error}"[:2000],
                }
            else:
                values = {
                    "state": MailState.QUEUED.value,
                    "next_attempt_at": retry_at,
                    "last_error": error[:2000],
                }
                soonest = retry_at if soonest is None else min(soonest, retry_at)
            await conn.execute(update(mail_outbox).where(_ours(mail)).values(**values))
    return soonest


async def requeue_failed(lms: LMS) -> int:
    """Queue every failed mail again, due at once with a new day to get through
    (``lms-graph mail retry``). Returns how many."""
    at = now()
    async with lms.db.transaction() as conn:
        result = await conn.execute(
            update(mail_outbox)
            .where(mail_outbox.c.state == MailState.FAILED.value)
            .values(state=MailState.QUEUED.value, queued_at=at, next_attempt_at=at)
        )
    return max(result.rowcount, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class Backlog:
    queued: int = 0
    sending: int = 0
    failed: int = 0
    oldest_queued_at: dt.datetime | None = None


async def backlog(conn: Any) -> Backlog:
    """Mails not sent yet, by state (one statement on the state index)."""
    rows = await conn.execute(
        select(mail_outbox.c.state, func.count(), func.min(mail_outbox.c.created_at))
        .where(
            mail_outbox.c.state.in_(
                [MailState.QUEUED.value, MailState.SENDING.value, MailState.FAILED.value]
            )
        )
        .group_by(mail_outbox.c.state)
    )
    counts: dict[str, int] = {}
    oldest: dt.datetime | None = None
    for state, count, first in rows:
        counts[state] = count
        if state != MailState.FAILED.value and first is not None:
            oldest = first if oldest is None else min(oldest, first)
    return Backlog(
        queued=counts.get(MailState.QUEUED.value, 0),
        sending=counts.get(MailState.SENDING.value, 0),
        failed=counts.get(MailState.FAILED.value, 0),
        oldest_queued_at=oldest,
    )
