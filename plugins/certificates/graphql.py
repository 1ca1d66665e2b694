"""``Enrollment.certificates`` (held now), ``Enrollment.certificateHistory`` (every one),
``Query.certificatesExpiring`` and ``Mutation.setCertificateValidity``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from weakref import WeakKeyDictionary

import strawberry
from sqlalchemy import and_, delete, insert, select
from strawberry.dataloader import DataLoader

from lms_graph import (
    BadInput,
    EnrollmentRecord,
    GraphQLExtension,
    NotFound,
    decode_id,
    ids_param,
    to_global_id,
)
from lms_graph.fields import SqlGlobalId, SqlList, SqlRows, batched, sql_field
from lms_graph.types import User
from lms_graph_plugins.certificates.access import download_url
from lms_graph_plugins.certificates.tables import certificate_settings, certificates, courses

MAX_VALID_DAYS = 36_500
COLUMNS = (
    certificates.c.id,
    certificates.c.enrollment_id,
    certificates.c.user_id,
    certificates.c.course_id,
    certificates.c.attempt_number,
    certificates.c.code,
    certificates.c.issued_at,
    certificates.c.revoked_at,
    certificates.c.expires_at,
    certificates.c.credits,
    certificates.c.revoked_by_id,
)


@strawberry.type(description="A certificate earned by completing an attempt of a course.")
class Certificate:
    pk: strawberry.Private[int]
    enrollment_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    course_pk: strawberry.Private[int]
    code: str = strawberry.field(
        description="The verification code: GET /certificates/verify/{code} confirms it."
    )
    issued_at: dt.datetime
    attempt_number: int = strawberry.field(description="The completed attempt it was earned by.")
    expires_at: dt.datetime | None = strawberry.field(
        description="When it stops being valid; null: it does not expire."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was removed (Remove Certificate, Mark as Incomplete); null if not."
    )
    credits: float = strawberry.field(description="The course's credits when it was issued.")
    revoked_by_pk: strawberry.Private[int | None] = None

    @strawberry.field(
        description=(
            "Who removed it; null when it is not revoked, or when no user did (the course "
            "type took the completion back)."
        )
    )
    def revoked_by(self, info: strawberry.Info) -> User | None:
        if self.revoked_by_pk is None:
            return None
        return info.context.loaders.users.load(self.revoked_by_pk)

    @strawberry.field(metadata=sql_field(SqlGlobalId("id", "Certificate")))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Certificate", self.pk))

    @strawberry.field(
        description="The enrollment it belongs to.",
        metadata=sql_field(SqlGlobalId("enrollment_id", "Enrollment")),
    )
    def enrollment_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Enrollment", self.enrollment_pk))

    @strawberry.field(
        description="The learner.", metadata=sql_field(SqlGlobalId("user_id", "User"))
    )
    def user_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.user_pk))

    @strawberry.field(
        description="The course.", metadata=sql_field(SqlGlobalId("course_id", "Course"))
    )
    def course_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Course", self.course_pk))

    @strawberry.field(description="Neither revoked nor expired.")
    def valid(self) -> bool:
        return self.valid_at(dt.datetime.now(dt.UTC))

    def valid_at(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @strawberry.field(
        description=(
            "A short-lived link to the certificate as a PDF, for the viewer; "
            "null when it is revoked."
        )
    )
    def download_url(self, info: strawberry.Info) -> str | None:
        viewer = info.context.viewer
        if self.revoked_at is not None or viewer.user is None:
            return None
        return download_url(info.context.lms, viewer.user.id, self.code)


def _certificate(row: Any) -> Certificate:
    return Certificate(
        pk=row.id,
        enrollment_pk=row.enrollment_id,
        user_pk=row.user_id,
        course_pk=row.course_id,
        code=row.code,
        issued_at=row.issued_at,
        attempt_number=row.attempt_number,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        credits=row.credits,
        revoked_by_pk=row.revoked_by_id,
    )


_ORDER = (certificates.c.attempt_number, certificates.c.issued_at, certificates.c.id)

# Built once (SQLAlchemy then reuses its compiled form): it runs on every dashboard page.
_BY_ENROLLMENT = (
    select(*COLUMNS)
    .where(ids_param(certificates.c.enrollment_id, "enrollment_ids"))
    .order_by(*_ORDER)
)


async def _load(db: Any, enrollment_ids: list[int]) -> list[list[Certificate]]:
    """Certificates of each enrollment, in key order: one SELECT."""
    rows = await db.execute(_BY_ENROLLMENT, {"enrollment_ids": enrollment_ids})
    found: dict[int, list[Certificate]] = defaultdict(list)
    for row in rows:
        found[row.enrollment_id].append(_certificate(row))
    return [found[enrollment_id] for enrollment_id in enrollment_ids]


def _by_enrollment(context: Any) -> DataLoader[int, list[Certificate]]:
    """This request's loader: one SELECT for every enrollment on the page."""
    db = context.db

    async def load(enrollment_ids: list[int]) -> list[list[Certificate]]:
        return await _load(db, enrollment_ids)

    return context.loaders.get("certificates.by_enrollment", load)


_READ: WeakKeyDictionary[Any, dict[int, list[Certificate]]] = WeakKeyDictionary()
"""Certificates a request has read already, by the request's connection: a page's menus
read its learners' certificates (``lms_learner_facts``), and the page's ``certificates``
field takes them from here instead of reading them again. Only the batched field (queries
only: nothing in the request writes) looks here."""


async def read_and_share(db: Any, enrollment_ids: list[int]) -> list[list[Certificate]]:
    """``_load``, remembered for the rest of the request on ``db``."""
    found = await _load(db, enrollment_ids)
    try:
        shared = _READ.setdefault(db, {})
    except TypeError:  # a connection that cannot be weakly referenced: nothing to share
        return found
    shared.update(zip(enrollment_ids, found, strict=True))
    return found


async def _record_of(context: Any, roots: list[EnrollmentRecord]) -> list[list[Certificate]]:
    """Every learner's certificates on a page at once: one awaitable, at most one SELECT."""
    ids = [root.id for root in roots]
    shared = _READ.get(context.db)
    if shared is not None and all(enrollment_id in shared for enrollment_id in ids):
        return [shared[enrollment_id] for enrollment_id in ids]
    return await _load(context.db, ids)


def _held(record: list[Certificate]) -> list[Certificate]:
    """The certificates the learner holds now: not revoked (an expired one is still held,
    with ``valid: false``, until a new one replaces it)."""
    return [certificate for certificate in record if certificate.revoked_at is None]


async def _held_of(context: Any, roots: list[EnrollmentRecord]) -> list[list[Certificate]]:
    # Most learners of a page hold none: their empty record is their answer as it is.
    return [_held(record) if record else record for record in await _record_of(context, roots)]


def _held_rows(enrollment: Any) -> SqlRows:
    """``certificates`` in SQL, when PostgreSQL renders a page of learners."""
    return SqlRows(
        columns=certificates.c,
        where=and_(
            certificates.c.enrollment_id == enrollment["id"], certificates.c.revoked_at.is_(None)
        ),
        order_by=_ORDER,
    )


def _record_rows(enrollment: Any) -> SqlRows:
    """``certificateHistory`` in SQL."""
    return SqlRows(
        columns=certificates.c,
        where=certificates.c.enrollment_id == enrollment["id"],
        order_by=_ORDER,
    )


@strawberry.type
class EnrollmentCertificates:
    @strawberry.field(
        description=(
            "The certificates the learner holds now in this course, oldest first: at most "
            "one per completed attempt. Removed and taken-back ones leave this list (see "
            "certificateHistory); an expired one stays, with valid: false, until a new one "
            "replaces it."
        ),
        metadata={**batched(_held_of), **sql_field(SqlList(_held_rows))},
    )
    async def certificates(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> list[Certificate]:
        return _held(await _by_enrollment(info.context).load(root.id))

    @strawberry.field(
        description=(
            "Every certificate issued in this course, oldest first: the held ones and the "
            "revoked ones (Remove Certificate, Mark as Incomplete, replaced after expiry), "
            "with revokedAt and revokedBy."
        ),
        metadata={**batched(_record_of), **sql_field(SqlList(_record_rows))},
    )
    async def certificate_history(
        self, root: strawberry.Parent[EnrollmentRecord], info: strawberry.Info
    ) -> list[Certificate]:
        return await _by_enrollment(info.context).load(root.id)


@strawberry.type
class CertificateQuery:
    @strawberry.field(
        description=(
            "Valid certificates expiring within the next `withinDays` days, soonest first "
            "(for recertification campaigns). Admins only."
        )
    )
    async def certificates_expiring(
        self, info: strawberry.Info, within_days: int
    ) -> list[Certificate]:
        ctx = info.context
        ctx.require_user()
        ctx.viewer.require_admin()
        if not 0 <= within_days <= MAX_VALID_DAYS:
            raise BadInput(f"withinDays must be between 0 and {MAX_VALID_DAYS}.")
        now = dt.datetime.now(dt.UTC)
        rows = await ctx.db.execute(
            select(*COLUMNS)
            .where(
                certificates.c.revoked_at.is_(None),
                certificates.c.expires_at > now,
                certificates.c.expires_at <= now + dt.timedelta(days=within_days),
            )
            .order_by(certificates.c.expires_at, certificates.c.id)
        )
        return [_certificate(row) for row in rows]


@strawberry.type(description="How long a course's certificates stay valid.")
class CertificateValidity:
    course_pk: strawberry.Private[int]
    valid_days: int | None = strawberry.field(
        description="Days a new certificate stays valid; null: certificates do not expire."
    )

    @strawberry.field
    def course_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Course", self.course_pk))


@strawberry.type
class CertificateMutation:
    @strawberry.mutation(
        description=(
            "How many days the course's certificates stay valid from now on (null: they do "
            "not expire). Certificates already issued keep their expiry. Admins only."
        )
    )
    async def set_certificate_validity(
        self, info: strawberry.Info, course_id: strawberry.ID, valid_days: int | None
    ) -> CertificateValidity:
        ctx = info.context
        ctx.require_user()
        ctx.viewer.require_admin()
        pk = decode_id(course_id, "Course")
        if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
            raise BadInput(f"validDays must be between 1 and {MAX_VALID_DAYS}, or null.")
        async with ctx.lms.db.transaction() as db:
            found = (await db.execute(select(courses.c.id).where(courses.c.id == pk))).first()
            if found is None:
                raise NotFound("There is no course with this ID.")
            await db.execute(
                delete(certificate_settings).where(certificate_settings.c.course_id == pk)
            )
            if valid_days is not None:
                await db.execute(
                    insert(certificate_settings).values(course_id=pk, valid_days=valid_days)
                )
        ctx.fresh_loaders()
        return CertificateValidity(course_pk=pk, valid_days=valid_days)


def extension() -> GraphQLExtension:
    return GraphQLExtension(
        query=CertificateQuery,
        mutation=CertificateMutation,
        fields={"Enrollment": [EnrollmentCertificates]},
    )
