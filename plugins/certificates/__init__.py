"""Certificates: a plugin that is not a course type.

Every completed attempt earns a certificate (with the course's credits, a random
verification code and, when the course sets one, an expiry date), whether the
learner finished on their own or was marked complete. Mark as Incomplete revokes
the latest attempt's certificate (Generate Certificate replaces an expired one); a
reset keeps the completed attempt's one on record; removing a learner deletes theirs
(foreign keys cascade).

What it adds, through the public hooks only:

- menu items for COMPLETED learners (position 130): ``remove_certificate`` when
  the latest attempt holds a valid certificate, ``generate_certificate``
  otherwise; both act on the latest attempt only;
- ``Enrollment.certificates`` (held now: revoked ones leave it),
  ``Enrollment.certificateHistory`` (every one, with who revoked it and when),
  ``Query.certificatesExpiring(withinDays)`` and
  ``Mutation.setCertificateValidity(courseId, validDays)`` (admins);
- ``GET /certificates/{code}.pdf`` (signed link or bearer token) and
  ``GET /certificates/verify/{code}`` (no token).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal, or_, select
from starlette.routing import BaseRoute

from lms_graph import (
    LMS,
    ActionContext,
    ActionDefinition,
    ActionKind,
    GraphQLExtension,
    LearnerRef,
    LearnerState,
    MenuLearner,
    MigrationSource,
    Outcome,
    SQLExecutor,
    facts_in_sql,
    hookimpl,
)
from lms_graph_plugins.certificates.graphql import extension, read_and_share
from lms_graph_plugins.certificates.http import routes
from lms_graph_plugins.certificates.issuing import holding, issue, revoke
from lms_graph_plugins.certificates.tables import certificates, metadata

FACT = "certificates.latest"
"""Menu fact: the learner's latest attempt holds a valid certificate."""

SHARED_READ_MAX = 500
"""Up to this many learners (a page), the menu facts read the learners' certificates and
share them with the page's ``certificates`` field; more (a mass action) ask only which
attempts hold one."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- tables ------------------------------------------------------------------------------


@hookimpl
def lms_register_migrations() -> MigrationSource:
    return MigrationSource(
        branch="certificates",
        versions=Path(__file__).parent / "migrations" / "versions",
        metadata=metadata,
    )


# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
async def lms_on_completed(db: Any, learners: Sequence[LearnerRef]) -> None:
    await issue(db, learners, _now())


@hookimpl
async def lms_on_incomplete(db: Any, learners: Sequence[LearnerRef], actor_id: int | None) -> None:
    await revoke(db, learners, _now(), actor_id)


# lms_on_removed: nothing to do; certificates reference the enrollment with ON DELETE
# CASCADE, so the core's DELETE of the enrollment deletes them (tested).
# lms_on_reset: nothing to do; the completed attempt keeps its certificate.


# --- the menu ----------------------------------------------------------------------------


def _holds_in_sql(learner: Mapping[str, Any]) -> Mapping[str, Any]:
    """``FACT`` as SQL, for a page of learners read with it (``facts_in_sql``): a held,
    unexpired certificate of the learner's current attempt. A scalar subquery with
    ``LIMIT 1`` rather than an ``EXISTS``: PostgreSQL may plan an ``EXISTS`` (with or
    without a limit) as a hash of every valid certificate, built on each page (a scan
    of the whole table), where this is one index probe per learner."""
    held = (
        select(literal(1, literal_execute=True))
        .where(
            certificates.c.enrollment_id == learner["id"],
            certificates.c.attempt_number == learner["attempt_number"],
            certificates.c.revoked_at.is_(None),
            or_(certificates.c.expires_at.is_(None), certificates.c.expires_at > func.now()),
        )
        .limit(literal(1, literal_execute=True))
    )
    return {FACT: held.scalar_subquery().is_not(None)}


@hookimpl
@facts_in_sql(_holds_in_sql)
async def lms_learner_facts(
    db: SQLExecutor, learners: Sequence[LearnerRef]
) -> Mapping[int, Mapping[str, Any]]:
    now = _now()
    if len(learners) <= SHARED_READ_MAX:
        # A page: read its certificates once, for the menus here and for the page's
        # ``certificates`` field later in the request.
        found = await read_and_share(db, [learner.enrollment_id for learner in learners])
        return {
            learner.enrollment_id: {
                FACT: any(
                    certificate.attempt_number == learner.attempt_number
                    and certificate.valid_at(now)
                    for certificate in held
                )
            }
            for learner, held in zip(learners, found, strict=True)
        }
    held_by = await holding(
        db, [learner.attempt_id for learner in learners if learner.attempt_id], now
    )
    return {learner.enrollment_id: {FACT: learner.attempt_id in held_by} for learner in learners}


def _completed(learner: MenuLearner) -> bool:
    return learner.state is LearnerState.COMPLETED


async def _generate(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    issued = await issue(ctx.db, learners, ctx.now, ctx.tx.actor_id)
    return {
        learner.enrollment_id: (
            Outcome.ok("Certificate generated.")
            if learner.enrollment_id in issued
            else Outcome.skipped("NOT_APPLICABLE", "The latest attempt already has a certificate.")
        )
        for learner in learners
    }


async def _remove(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    await revoke(ctx.db, learners, ctx.now, ctx.tx.actor_id)
    return {learner.enrollment_id: Outcome.ok("Certificate removed.") for learner in learners}


ACTIONS = (
    ActionDefinition(
        key="generate_certificate",
        label="Generate Certificate",
        kind=ActionKind.MUTATION,
        position=130,
        applies=lambda learner: _completed(learner) and not learner.facts.get(FACT),
        run=_generate,
        description="Issues a certificate for the latest attempt; progress is untouched.",
        summary=lambda params: "Certificate generated.",
    ),
    ActionDefinition(
        key="remove_certificate",
        label="Remove Certificate",
        kind=ActionKind.MUTATION,
        position=130,
        applies=lambda learner: _completed(learner) and bool(learner.facts.get(FACT)),
        run=_remove,
        description=(
            "Revokes the latest attempt's certificate; its code no longer verifies. "
            "Progress is untouched."
        ),
        destructive=True,
        confirm="Remove this learner's certificate? Its verification code stops being valid.",
        summary=lambda params: "Certificate removed.",
    ),
)


@hookimpl
def lms_register_actions() -> Iterable[ActionDefinition]:
    return ACTIONS


# --- GraphQL and HTTP --------------------------------------------------------------------


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return extension()


@hookimpl
def lms_register_routes(lms: LMS) -> Iterable[BaseRoute]:
    return routes(lms)
