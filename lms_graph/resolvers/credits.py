"""``User.credits`` as the viewer may see it: an instructor sees only what the user
earned in courses the instructor teaches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from lms_graph import models as m
from lms_graph.context import Context
from lms_graph.queries import CURRENT_ATTEMPT
from lms_graph.sql import ids_in


def _taught_by_viewer(ctx: Context) -> Any:
    """This request's loader: credits of each user over the viewer's courses, one SELECT."""
    taught = sorted(ctx.viewer.instructs)

    async def load(user_ids: list[int]) -> list[float]:
        rows = await ctx.db.execute(
            select(
                m.Enrollment.user_id,
                func.coalesce(func.sum(m.Course.credits), 0.0).label("credits"),
            )
            .join(m.Course, m.Course.id == m.Enrollment.course_id)
            .join(m.Attempt, CURRENT_ATTEMPT)
            .where(
                ids_in(m.Enrollment.user_id, user_ids),
                ids_in(m.Enrollment.course_id, taught),
                m.Attempt.completed_at.is_not(None),
            )
            .group_by(m.Enrollment.user_id)
        )
        found = {row.user_id: float(row.credits) for row in rows}
        return [found.get(user_id, 0.0) for user_id in user_ids]

    return ctx.loaders.get("credits.taught_by_viewer", load)


async def user_credits(ctx: Context, user_id: int) -> float:
    """Every credit for admins and the user themself (CONTRACT: the courses whose current
    attempt is completed, once per course); for an instructor, those of the courses they
    teach only."""
    viewer = ctx.viewer
    if viewer.is_admin or (viewer.user is not None and viewer.user.id == user_id):
        credits: float = await ctx.loaders.credits_by_user.load(user_id)
        return credits
    if not viewer.instructs:
        return 0.0
    taught: float = await _taught_by_viewer(ctx).load(user_id)
    return taught
