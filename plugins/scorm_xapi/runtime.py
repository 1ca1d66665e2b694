"""SCORM runtime commits: the CMI data a package's API adapter sends on ``Commit``
(SCORM 1.2 ``LMSCommit``, SCORM 2004 ``Commit``), kept as activity and merged into
the attempt's SCORM state, which the status rule reads.

Every ``cmi.*``/``adl.*`` element is kept in the commit as sent; the ones that
drive progress are checked against their SCORM vocabulary and ranges.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import LMS, BadInput, Forbidden, NotFound, Viewer, refresh_learners, write
from lms_graph_plugins.scorm_xapi.tables import (
    attempts,
    courses,
    enrollments,
    scorm_commits,
    scorm_state,
)

COURSE_TYPES = ("scorm", "xapi")
MAX_ELEMENTS = 2000
MAX_SUSPEND_DATA = 64_000
LESSON_STATUS = ("passed", "completed", "failed", "incomplete", "browsed", "not attempted")
COMPLETION_STATUS = ("completed", "incomplete", "not attempted", "unknown")
SUCCESS_STATUS = ("passed", "failed", "unknown")

_VOCABULARY = {
    "cmi.core.lesson_status": ("lesson_status", LESSON_STATUS),
    "cmi.completion_status": ("completion_status", COMPLETION_STATUS),
    "cmi.success_status": ("success_status", SUCCESS_STATUS),
}
_NUMBERS = {
    # element: (column, low, high); None: unbounded
    "cmi.core.score.raw": ("score_raw", None, None),
    "cmi.core.score.min": ("score_min", None, None),
    "cmi.core.score.max": ("score_max", None, None),
    "cmi.score.raw": ("score_raw", None, None),
    "cmi.score.min": ("score_min", None, None),
    "cmi.score.max": ("score_max", None, None),
    "cmi.score.scaled": ("score_scaled", -1.0, 1.0),
    "cmi.progress_measure": ("progress_measure", 0.0, 1.0),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Committed:
    enrollment_id: int
    state: str
    progress: int


def _number(element: str, value: Any) -> float:
    if isinstance(value, bool):
        raise BadInput(f"{element} must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{element} must be a number, not {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadInput(f"{element} must be a finite number.")
    return number


def parse_commit(data: Any) -> dict[str, Any]:
    """The SCORM state columns a commit sets; ``BadInput`` for anything invalid.

    An empty string leaves an element unset (adapters send them for blank values).
    """
    if not isinstance(data, dict) or not data:
        raise BadInput("Send the committed CMI data as a non-empty JSON object.")
    if len(data) > MAX_ELEMENTS:
        raise BadInput(f"A commit holds at most {MAX_ELEMENTS} elements.")
    values: dict[str, Any] = {}
    for element, value in data.items():
        if not element.startswith(("cmi.", "adl.")) or len(element) > 255:
            raise BadInput(f"{element!r} is not a SCORM data model element (cmi.* or adl.*).")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise BadInput(f"{element} must be a string or a number.")
        if value == "" or value is None:
            continue
        if element in _VOCABULARY:
            column, allowed = _VOCABULARY[element]
            if value not in allowed:
                raise BadInput(f"{element} must be one of: {', '.join(allowed)}.")
            values[column] = value
        elif element in _NUMBERS:
            column, low, high = _NUMBERS[element]
            number = _number(element, value)
            if low is not None and high is not None and not low <= number <= high:
                raise BadInput(f"{element} must be between {low:g} and {high:g}.")
            values[column] = number
        elif element == "cmi.suspend_data":
            if not isinstance(value, str) or len(value) > MAX_SUSPEND_DATA:
                raise BadInput(
                    f"cmi.suspend_data must be text of at most {MAX_SUSPEND_DATA} characters."
                )
            values["suspend_data"] = value
    low, high, raw = values.get("score_min"), values.get("score_max"), values.get("score_raw")
    if low is not None and high is not None and low > high:
        raise BadInput("The score's min must not be above its max.")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise BadInput("The raw score must lie between min and max.")
    return values


async def commit(
    lms: LMS, viewer: Viewer, enrollment_id: int, data: Mapping[str, Any]
) -> Committed:
    """Record one commit for the learner's latest attempt; state and progress follow."""
    user = viewer.require_user()
    values = parse_commit(data)
    async with write(lms, viewer) as tx:
        row = (
            await tx.db.execute(
                select(
                    enrollments.c.user_id,
                    courses.c.course_type,
                    attempts.c.id.label("attempt_id"),
                )
                .join(courses, courses.c.id == enrollments.c.course_id)
                .join(
                    attempts,
                    (attempts.c.enrollment_id == enrollments.c.id)
                    & (attempts.c.number == enrollments.c.attempt_number),
                )
                .where(enrollments.c.id == enrollment_id, enrollments.c.unassigned_at.is_(None))
            )
        ).first()
        if row is None:
            raise NotFound("There is no enrollment with this ID.")
        if row.user_id != user.id and not viewer.is_admin:
            raise Forbidden("Only the learner (or an administrator) may commit their SCORM data.")
        if row.course_type not in COURSE_TYPES:
            raise BadInput("This enrollment's course is not a SCORM or xAPI course.")
        await tx.db.execute(
            insert(scorm_commits).values(
                enrollment_id=enrollment_id,
                attempt_id=row.attempt_id,
                user_id=row.user_id,
                committed_at=tx.now,
                data=dict(data),
            )
        )
        await _merge_state(tx.db, enrollment_id, row.attempt_id, values, tx.now)
        await refresh_learners(lms, tx.db, [enrollment_id])
        state = (
            await tx.db.execute(
                select(attempts.c.state, attempts.c.progress).where(attempts.c.id == row.attempt_id)
            )
        ).one()
    return Committed(enrollment_id, str(state.state), int(state.progress))


async def _merge_state(
    db: AsyncConnection,
    enrollment_id: int,
    attempt_id: int,
    values: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Upsert the attempt's SCORM state: the elements of this commit replace the stored
    ones, the others stay (one statement, safe against a concurrent commit)."""
    dialect: Any = postgresql if db.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(scorm_state).values(
        attempt_id=attempt_id, enrollment_id=enrollment_id, updated_at=now, **values
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[scorm_state.c.attempt_id], set_={"updated_at": now, **values}
        )
    )
