"""What the plugin's tables do when the core resets, removes or marks learners complete.

- Reset: the attempt's statements and CMI commits are voided (kept for audit, shown
  nowhere, counted for nothing); its SCORM state and xAPI State documents are deleted.
- Remove: every statement, commit, state row and xAPI State document of the enrollment
  is deleted.
- Mark as Complete: a cmi5-style ``waived`` statement (reason Administrative, the
  acting user as authority) records why the course is complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select, update

from lms_graph import LearnerRef, MenuLearner, SQLExecutor, Viewer
from lms_graph_plugins.scorm_xapi.documents import (
    clear_attempt_documents,
    delete_enrollment_documents,
)
from lms_graph_plugins.scorm_xapi.iris import agent_of, course_iri
from lms_graph_plugins.scorm_xapi.lrs import (
    COURSE_TYPES,
    insert_statements,
    statement_row,
    to_millis,
    written,
)
from lms_graph_plugins.scorm_xapi.progress import WAIVED
from lms_graph_plugins.scorm_xapi.tables import scorm_commits, scorm_state, users, xapi_statements

CMI5_REASON = "https://w3id.org/xapi/cmi5/result/extensions/reason"


def ours(learners: Sequence[LearnerRef] | Sequence[MenuLearner]) -> list[int]:
    return [learner.enrollment_id for learner in learners if learner.course_type in COURSE_TYPES]


async def clear_attempts(db: SQLExecutor, learners: Sequence[LearnerRef], now: dt.datetime) -> None:
    ids = [
        learner.attempt_id
        for learner in learners
        if learner.course_type in COURSE_TYPES and learner.attempt_id is not None
    ]
    if not ids:
        return
    await db.execute(
        update(xapi_statements)
        .where(xapi_statements.c.attempt_id.in_(ids), xapi_statements.c.voided_at.is_(None))
        .values(voided_at=now)
    )
    await db.execute(
        update(scorm_commits)
        .where(scorm_commits.c.attempt_id.in_(ids), scorm_commits.c.voided_at.is_(None))
        .values(voided_at=now)
    )
    await db.execute(delete(scorm_state).where(scorm_state.c.attempt_id.in_(ids)))
    await clear_attempt_documents(db, ids)


async def delete_learners(db: SQLExecutor, learners: Sequence[LearnerRef]) -> None:
    ids = ours(learners)
    if not ids:
        return
    for table in (xapi_statements, scorm_commits, scorm_state):
        await db.execute(delete(table).where(table.c.enrollment_id.in_(ids)))
    await delete_enrollment_documents(db, ids)


async def record_waived(
    db: SQLExecutor, viewer: Viewer, learners: Sequence[MenuLearner], now: dt.datetime
) -> None:
    """One ``waived`` statement per learner of a SCORM/xAPI course, in one INSERT."""
    mine = [learner for learner in learners if learner.course_type in COURSE_TYPES]
    if not mine:
        return
    now = to_millis(now)
    rows = await db.execute(
        select(users.c.id, users.c.email, users.c.name).where(
            users.c.id.in_(sorted({learner.user_id for learner in mine}))
        )
    )
    people = {row.id: row for row in rows}
    actor = viewer.user
    authority = agent_of(actor.id, actor.email, actor.name) if actor else None
    prepared = []
    for learner in mine:
        person = people[learner.user_id]
        body = {
            "actor": agent_of(person.id, person.email, person.name),
            "verb": {"id": WAIVED, "display": {"en-US": "waived"}},
            "object": {"objectType": "Activity", "id": course_iri(learner.course_id)},
            "result": {
                "success": True,
                "completion": True,
                "extensions": {CMI5_REASON: "Administrative"},
            },
        }
        prepared.append(
            written(
                body,
                now,
                authority,
                user_id=learner.user_id,
                course_id=learner.course_id,
                enrollment_id=learner.enrollment_id,
                attempt_id=learner.attempt_id,
            )
        )
    await insert_statements(db, [statement_row(p, now) for p in prepared])
