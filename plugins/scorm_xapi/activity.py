"""``Enrollment.activity``: View SCORM/xAPI Activity, the statements and CMI commits of a
learner's latest attempt, newest first, keyset paged over (time, source, id)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
from typing import Any

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON

from lms_graph import BadInput, EnrollmentRecord, Forbidden
from lms_graph_plugins.scorm_xapi.bodies import readable
from lms_graph_plugins.scorm_xapi.iris import MAX_ID
from lms_graph_plugins.scorm_xapi.tables import scorm_commits, xapi_statements

DEFAULT_PAGE = 20


@strawberry.enum(description="Where a learner's activity record came from.")
class ActivityKind(enum.Enum):
    STATEMENT = "STATEMENT"
    CMI = "CMI"


_RANK = {ActivityKind.CMI: 0, ActivityKind.STATEMENT: 1}
"""Tie-break between the two sources at the same instant (newest first: statements)."""


@strawberry.type(description="One xAPI statement or SCORM CMI commit of a learner's attempt.")
class LearnerActivity:
    pk: strawberry.Private[int]
    kind: ActivityKind
    at: dt.datetime = strawberry.field(description="When it was stored.")
    statement_id: str | None = strawberry.field(description="The statement's id (statements).")
    verb: str | None = strawberry.field(description="The verb IRI (statements).")
    activity_id: str | None = strawberry.field(description="The object's activity IRI, if any.")
    statement: JSON | None = strawberry.field(description="The statement as stored.")
    data: JSON | None = strawberry.field(description="The CMI elements committed (SCORM).")


@strawberry.type(name="LearnerActivityPageInfo")
class ActivityPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class LearnerActivityEdge:
    cursor: str
    node: LearnerActivity


@strawberry.type
class LearnerActivityConnection:
    edges: list[LearnerActivityEdge]
    page_info: ActivityPageInfo
    total_count: int


def _cursor(item: LearnerActivity) -> str:
    raw = f"{item.at.isoformat()}|{_RANK[item.kind]}|{item.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[dt.datetime, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rank, pk = raw.split("|")
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None or not 0 <= int(pk) <= MAX_ID:
            raise ValueError
        return moment, int(rank), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput("`after` is not a cursor of this list.") from None


def _after(at: Any, pk: Any, rank: int, cursor: tuple[dt.datetime, int, int] | None) -> list[Any]:
    """Keyset condition for one source (constant ``rank``), newest first."""
    if cursor is None:
        return []
    c_at, c_rank, c_pk = cursor
    if rank < c_rank:
        return [at <= c_at]
    if rank > c_rank:
        return [at < c_at]
    return [(at < c_at) | ((at == c_at) & (pk < c_pk))]


async def activity_page(
    db: Any, enrollment: EnrollmentRecord, first: int, after: str | None
) -> LearnerActivityConnection:
    cursor = _read_cursor(after) if after else None
    s, c = xapi_statements.c, scorm_commits.c
    mine_s = [s.enrollment_id == enrollment.id, s.attempt_id == enrollment.attempt_id]
    mine_s.append(s.voided_at.is_(None))
    mine_c = [c.enrollment_id == enrollment.id, c.attempt_id == enrollment.attempt_id]
    mine_c.append(c.voided_at.is_(None))
    statements = await db.execute(
        select(s.id, s.stored, s.statement_id, s.verb_id, s.activity_id, s.body)
        .where(*mine_s, *_after(s.stored, s.id, 1, cursor))
        .order_by(s.stored.desc(), s.id.desc())
        .limit(first + 1)
    )
    commits = await db.execute(
        select(c.id, c.committed_at, c.data)
        .where(*mine_c, *_after(c.committed_at, c.id, 0, cursor))
        .order_by(c.committed_at.desc(), c.id.desc())
        .limit(first + 1)
    )
    items = [
        LearnerActivity(
            pk=row.id,
            kind=ActivityKind.STATEMENT,
            at=row.stored,
            statement_id=row.statement_id,
            verb=row.verb_id,
            activity_id=row.activity_id,
            statement=readable(row.body),
            data=None,
        )
        for row in statements
    ] + [
        LearnerActivity(
            pk=row.id,
            kind=ActivityKind.CMI,
            at=row.committed_at,
            statement_id=None,
            verb=None,
            activity_id=None,
            statement=None,
            data=readable(row.data),
        )
        for row in commits
    ]
    items.sort(key=lambda item: (item.at, _RANK[item.kind], item.pk), reverse=True)
    page = items[:first]
    total = (
        await db.execute(
            select(
                select(func.count()).where(*mine_s).scalar_subquery()
                + select(func.count()).select_from(scorm_commits).where(*mine_c).scalar_subquery()
            )
        )
    ).scalar_one()
    return LearnerActivityConnection(
        edges=[LearnerActivityEdge(cursor=_cursor(item), node=item) for item in page],
        page_info=ActivityPageInfo(
            has_next_page=len(items) > first, end_cursor=_cursor(page[-1]) if page else None
        ),
        total_count=int(total),
    )


@strawberry.type
class EnrollmentActivity:
    @strawberry.field(
        description=(
            "View SCORM/xAPI Activity: the xAPI statements and SCORM CMI commits of the "
            "latest attempt, newest first (voided and reset ones left out). "
            "Administrators only."
        )
    )
    async def activity(
        self,
        root: strawberry.Parent[EnrollmentRecord],
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
    ) -> LearnerActivityConnection:
        ctx = info.context
        ctx.require_user()
        if not ctx.viewer.is_admin:
            raise Forbidden("Only administrators may view SCORM/xAPI activity.")
        maximum = ctx.lms.settings.max_page_size
        size = DEFAULT_PAGE if first is None else first
        if not 1 <= size <= maximum:
            raise BadInput(f"`first` must be between 1 and {maximum}.")
        return await activity_page(ctx.db, root, size, after)
