"""Issuing and revoking certificates, one batch at a time (a constant number of statements)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import bindparam, exists, insert, or_, select, update

from lms_graph import SQLExecutor, emit_event, ids_param
from lms_graph_plugins.certificates.tables import (
    attempts,
    certificate_settings,
    certificates,
    courses,
    enrollments,
)


class LearnerLike(Protocol):
    """What ``LearnerRef`` and ``MenuLearner`` share, and what issuing needs."""

    @property
    def enrollment_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def course_id(self) -> int: ...
    @property
    def attempt_number(self) -> int: ...


def new_code() -> str:
    """A random, URL-safe verification code (128 bits)."""
    return secrets.token_urlsafe(16)


def _attempt_ids(learners: Sequence[object]) -> list[int]:
    return sorted({a for a in (getattr(lr, "attempt_id", None) for lr in learners) if a})


_UNREVOKED = (certificates.c.attempt_id == attempts.c.id, certificates.c.revoked_at.is_(None))
_UNEXPIRED = or_(certificates.c.expires_at.is_(None), certificates.c.expires_at > bindparam("now"))

_TO_ISSUE = (
    select(
        attempts.c.id,
        courses.c.credits,
        certificate_settings.c.valid_days,
        exists().where(*_UNREVOKED, _UNEXPIRED).label("held"),
        exists().where(*_UNREVOKED).label("unrevoked"),
    )
    .select_from(attempts)
    .join(enrollments, enrollments.c.id == attempts.c.enrollment_id)
    .join(courses, courses.c.id == enrollments.c.course_id)
    .outerjoin(certificate_settings, certificate_settings.c.course_id == courses.c.id)
    .where(ids_param(attempts.c.id, "attempt_ids"))
)
"""What issuing needs of each attempt (built once; a mass completion binds its up to
10,000 attempt IDs as one parameter)."""

_REVOKE = (
    update(certificates)
    .where(ids_param(certificates.c.attempt_id, "attempt_ids"), certificates.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"), revoked_by_id=bindparam("actor_id"))
)

_REPLACE_EXPIRED = (
    update(certificates)
    .where(
        ids_param(certificates.c.attempt_id, "attempt_ids"),
        certificates.c.revoked_at.is_(None),
        certificates.c.expires_at <= bindparam("now"),
    )
    .values(revoked_at=bindparam("now"), revoked_by_id=bindparam("actor_id"))
)
"""An expired certificate that a new one replaces leaves the held ones (one valid or
expired certificate per attempt); verification keeps answering EXPIRED for it."""


async def issue(
    db: SQLExecutor,
    learners: Sequence[LearnerLike],
    now: dt.datetime,
    actor_id: int | None = None,
) -> set[int]:
    """A certificate for each learner's ``attempt_id`` that holds no valid one yet.

    Two statements for the whole batch: one read (credits, validity, what exists),
    one INSERT; a third only when expired certificates are replaced (revoked, by
    ``actor_id``). Returns the enrollment IDs that got a certificate.
    """
    attempt_ids = _attempt_ids(learners)
    if not attempt_ids:
        return set()
    rows = await db.execute(_TO_ISSUE, {"attempt_ids": attempt_ids, "now": now})
    found = {row.id: row for row in rows}
    expired = sorted(row.id for row in found.values() if row.unrevoked and not row.held)
    if expired:
        await db.execute(
            _REPLACE_EXPIRED, {"attempt_ids": expired, "now": now, "actor_id": actor_id}
        )
    values = []
    issued: set[int] = set()
    for learner in learners:
        attempt_id = getattr(learner, "attempt_id", None)
        row = found.get(attempt_id) if attempt_id else None
        if row is None or row.held or learner.enrollment_id in issued:
            continue
        issued.add(learner.enrollment_id)
        values.append(
            {
                "enrollment_id": learner.enrollment_id,
                "attempt_id": attempt_id,
                "attempt_number": learner.attempt_number,
                "user_id": learner.user_id,
                "course_id": learner.course_id,
                "code": new_code(),
                "issued_at": now,
                "expires_at": (
                    now + dt.timedelta(days=row.valid_days) if row.valid_days is not None else None
                ),
                "credits": float(row.credits or 0.0),
            }
        )
    if values:
        await db.execute(insert(certificates), values)
    for value in values:
        emit_event(
            "certificate_issued",
            enrollment_id=value["enrollment_id"],
            user_id=value["user_id"],
            course_id=value["course_id"],
            attempt_number=value["attempt_number"],
            code=value["code"],
        )
    return issued


async def revoke(
    db: SQLExecutor, learners: Sequence[object], now: dt.datetime, actor_id: int | None = None
) -> None:
    """Revoke the certificates of these learners' ``attempt_id`` (one UPDATE), recording
    who did (``actor_id``; None: the course type itself)."""
    attempt_ids = _attempt_ids(learners)
    if not attempt_ids:
        return
    await db.execute(_REVOKE, {"attempt_ids": attempt_ids, "now": now, "actor_id": actor_id})


_HOLDING = select(certificates.c.attempt_id).where(
    ids_param(certificates.c.attempt_id, "attempt_ids"),
    certificates.c.revoked_at.is_(None),
    or_(certificates.c.expires_at.is_(None), certificates.c.expires_at > bindparam("now")),
)
"""Built once: every page's menus ask it (``lms_learner_facts``)."""


async def holding(db: SQLExecutor, attempt_ids: Sequence[int], now: dt.datetime) -> set[int]:
    """The attempts among ``attempt_ids`` that hold a valid certificate (one SELECT)."""
    if not attempt_ids:
        return set()
    rows = await db.execute(_HOLDING, {"attempt_ids": sorted(set(attempt_ids)), "now": now})
    return set(rows.scalars())
