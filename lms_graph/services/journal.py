"""History entries, audit entries and notifications: written in bulk, inside the transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Integer, String, insert, literal, select

from lms_graph import models as m
from lms_graph.services.tx import Tx
from lms_graph.sql import ids_in
from lms_graph.values import LearnerRef, MenuLearner, NotificationMessage


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryLine:
    enrollment_id: int
    action: str
    summary: str
    note: str | None = None
    details: Mapping[str, Any] | None = None


async def record_history(tx: Tx, lines: Sequence[HistoryLine]) -> None:
    """One history row per line, in one statement; actor and time come from ``tx``."""
    if not lines:
        return
    await tx.db.execute(
        insert(m.HistoryEntry),
        [
            {
                "enrollment_id": line.enrollment_id,
                "actor_id": tx.actor_id,
                "at": tx.now,
                "action": line.action,
                "summary": line.summary,
                "note": line.note,
                "details": dict(line.details) if line.details else None,
            }
            for line in lines
        ],
    )


async def record_history_for(
    tx: Tx,
    enrollment_ids: Sequence[int],
    action: str,
    summary: str,
    *,
    note: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The same history line for many learners, in one ``INSERT ... SELECT``."""
    if not enrollment_ids:
        return
    await tx.db.execute(
        insert(m.HistoryEntry).from_select(
            ["enrollment_id", "actor_id", "at", "action", "summary", "note", "details"],
            select(
                m.Enrollment.id,
                literal(tx.actor_id, Integer),
                literal(tx.now, m.HistoryEntry.at.type),
                literal(action, String),
                literal(summary, String),
                literal(note, String),
                literal(dict(details) if details else None, JSON),
            ).where(ids_in(m.Enrollment.id, enrollment_ids)),
        )
    )


async def record_audit(
    tx: Tx, action: str, rows: Sequence[tuple[int | None, int | None, Mapping[str, Any]]]
) -> None:
    """Audit rows ``(subject user id, course id, details)``; they survive removals."""
    if not rows:
        return
    await tx.db.execute(
        insert(m.AuditEntry),
        [
            {
                "at": tx.now,
                "actor_id": tx.actor_id,
                "action": action,
                "subject_user_id": user_id,
                "course_id": course_id,
                "details": dict(details),
            }
            for user_id, course_id, details in rows
        ],
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    user_id: int
    kind: str
    subject: str
    body: str | None = None
    data: Mapping[str, Any] | None = None
    """Not stored: handed to deliveries as ``NotificationMessage.data`` (JSON-ready values,
    e.g. the ``course_id`` an assignment is about; ``{"email": True}`` asks the ``email``
    plugin to mail it)."""


async def notify(tx: Tx, notes: Sequence[Note]) -> None:
    """Store notifications now (telling ``lms_on_notified`` plugins, in the transaction);
    hand them to ``lms_notify`` plugins after commit."""
    if not notes:
        return
    rows = (
        (
            await tx.db.execute(
                insert(m.Notification).returning(
                    m.Notification.id,
                    m.Notification.user_id,
                    m.Notification.kind,
                    m.Notification.subject,
                    m.Notification.body,
                    m.Notification.created_at,
                    sort_by_parameter_order=True,
                ),
                [
                    {
                        "user_id": note.user_id,
                        "kind": note.kind,
                        "subject": note.subject,
                        "body": note.body,
                        "created_at": tx.now,
                    }
                    for note in notes
                ],
            )
        )
        .mappings()
        .all()
    )
    messages = [
        NotificationMessage(**row, data=note.data or {})
        for row, note in zip(rows, notes, strict=True)
    ]
    lms = tx.lms
    if lms.implements("lms_on_notified"):
        await lms.call_hook("lms_on_notified", db=tx.db, notifications=messages)

    async def deliver() -> None:
        await lms.call_hook("lms_notify", isolate=True, notifications=messages)

    tx.after_commit(deliver)


def tell_completed(tx: Tx, learners: Iterable[LearnerRef | MenuLearner]) -> None:
    """One ``learner_completed`` event per learner, for ``lms_on_events`` after commit."""
    if not tx.lms.implements("lms_on_events"):
        return
    for learner in learners:
        tx.emit(
            "learner_completed",
            enrollment_id=learner.enrollment_id,
            user_id=learner.user_id,
            course_id=learner.course_id,
            attempt_number=learner.attempt_number,
        )
