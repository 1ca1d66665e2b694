"""Demo data (``lms-graph demo``): a SCORM or xAPI course whose learners are in every
state, with statements and CMI commits to look at in View SCORM/xAPI Activity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from lms_graph import CourseRecord, Tx, refresh_learners
from lms_graph_plugins.scorm_xapi.iris import agent_of, course_iri
from lms_graph_plugins.scorm_xapi.lrs import (
    COURSE_TYPES,
    insert_statements,
    statement_row,
    to_millis,
    written,
)
from lms_graph_plugins.scorm_xapi.progress import (
    CMI5_PROGRESS,
    COMPLETED,
    LAUNCHED,
    PASSED,
    PROGRESSED,
)
from lms_graph_plugins.scorm_xapi.tables import (
    attempts,
    enrollments,
    scorm_commits,
    scorm_state,
    users,
)

_PLAN: tuple[tuple[tuple[str, int | None], ...], ...] = (
    (),  # not started
    ((LAUNCHED, None),),
    ((LAUNCHED, None), (PROGRESSED, 35)),
    ((LAUNCHED, None), (PROGRESSED, 70)),
    ((LAUNCHED, None), (PROGRESSED, 50), (COMPLETED, None)),
    ((LAUNCHED, None), (PASSED, None)),
)
"""What learner ``i`` sent: ``_PLAN[i % 6]``, verbs with a cmi5 progress (or None)."""


def _verb(verb: str) -> dict[str, Any]:
    return {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}}


async def seed(tx: Tx, course: CourseRecord, enrollment_ids: Sequence[int]) -> None:
    if course.course_type not in COURSE_TYPES or not enrollment_ids:
        return
    now = to_millis(tx.now)
    rows = await tx.db.execute(
        select(enrollments.c.id, attempts.c.id, users.c.id, users.c.email, users.c.name)
        .join(
            attempts,
            (attempts.c.enrollment_id == enrollments.c.id)
            & (attempts.c.number == enrollments.c.attempt_number),
        )
        .join(users, users.c.id == enrollments.c.user_id)
        .where(enrollments.c.id.in_(list(enrollment_ids)))
    )
    found = {row[0]: row for row in rows}
    statements = []
    commits = []
    for index, enrollment_id in enumerate(enrollment_ids):
        _, attempt_id, user_id, email, name = found[enrollment_id]
        agent = agent_of(user_id, email, name)
        for verb, progress in _PLAN[index % len(_PLAN)]:
            body: dict[str, Any] = {
                "actor": agent,
                "verb": _verb(verb),
                "object": {"objectType": "Activity", "id": course_iri(course.id)},
            }
            if progress is not None:
                body["result"] = {"extensions": {CMI5_PROGRESS: progress}}
            statements.append(
                written(
                    body,
                    now,
                    agent,
                    user_id=user_id,
                    course_id=course.id,
                    enrollment_id=enrollment_id,
                    attempt_id=attempt_id,
                )
            )
        if course.course_type == "scorm" and index % len(_PLAN) == 3:
            commits.append((enrollment_id, attempt_id, user_id))
    if statements:
        await insert_statements(tx.db, [statement_row(p, now) for p in statements])
    if commits:
        data = {"cmi.completion_status": "incomplete", "cmi.progress_measure": 0.7}
        await tx.db.execute(
            insert(scorm_commits),
            [
                {
                    "enrollment_id": e,
                    "attempt_id": a,
                    "user_id": u,
                    "committed_at": now,
                    "data": data,
                }
                for e, a, u in commits
            ],
        )
        await tx.db.execute(
            insert(scorm_state),
            [
                {
                    "attempt_id": a,
                    "enrollment_id": e,
                    "completion_status": "incomplete",
                    "progress_measure": 0.7,
                    "updated_at": now,
                }
                for e, a, _ in commits
            ],
        )
    await refresh_learners(tx.lms, tx.db, list(enrollment_ids))
