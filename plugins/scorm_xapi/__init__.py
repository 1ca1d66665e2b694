"""SCORM and xAPI courses: progress from xAPI statements and SCORM runtime commits.

What it adds, through the public hooks only (docs/scorm-xapi.md tells the whole story):

- course types ``scorm`` and ``xapi``, whose state and progress come from the stored
  statements and CMI data (``progress.py``);
- an xAPI 1.0.3 LRS under ``/xapi/`` (statements, State, Activity Profile, Agent
  Profile, Activities, Agents, About) and ``POST /scorm/runtime/{enrollmentId}``
  (``http.py``);
- ``Course.activityId``, ``Chapter.activityId``, ``Enrollment.activity`` (admins),
  ``Enrollment.xapiRegistration``, ``Enrollment.xapiState`` (admins),
  ``User.xapiCredentials`` and ``createXapiCredential``/``revokeXapiCredential``;
- the menu item View SCORM/xAPI Activity (admins; STARTED, IN_PROGRESS, COMPLETED);
- lifecycle: a reset voids the attempt's statements and clears its CMI data and xAPI
  State, a removal deletes them, Mark as Complete records a cmi5-style ``waived`` statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from lms_graph import (
    LMS,
    ActionContext,
    ActionDefinition,
    ActionKind,
    CourseRecord,
    CourseType,
    GraphQLExtension,
    LearnerProgress,
    LearnerRef,
    LearnerState,
    LearnerStatus,
    MenuLearner,
    MigrationSource,
    Outcome,
    SQLExecutor,
    Tx,
    for_course_types,
    hookimpl,
    ignores_facts,
)
from lms_graph_plugins.scorm_xapi.demo import seed
from lms_graph_plugins.scorm_xapi.graphql import extension
from lms_graph_plugins.scorm_xapi.http import routes
from lms_graph_plugins.scorm_xapi.lifecycle import clear_attempts, delete_learners, record_waived
from lms_graph_plugins.scorm_xapi.lrs import COURSE_TYPES
from lms_graph_plugins.scorm_xapi.progress import statuses
from lms_graph_plugins.scorm_xapi.tables import metadata

MASS_ACTIONS = ("reset_progress", "mark_complete", "mark_incomplete", "remove", "update_due_date")
_ACTIVITY_STATES = frozenset(
    {LearnerState.STARTED, LearnerState.IN_PROGRESS, LearnerState.COMPLETED}
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@hookimpl
def lms_register_course_types() -> Iterable[CourseType]:
    return [
        CourseType("scorm", "SCORM package", "A SCORM 1.2 or 2004 package run in the browser."),
        CourseType("xapi", "xAPI activity", "Content that reports progress as xAPI statements."),
    ]


@hookimpl
def lms_register_migrations() -> MigrationSource:
    return MigrationSource(
        branch="scorm_xapi",
        versions=Path(__file__).parent / "migrations" / "versions",
        metadata=metadata,
    )


# --- state ---------------------------------------------------------------------------------


@hookimpl
async def lms_learner_status(
    db: SQLExecutor, course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    if course_type not in COURSE_TYPES:
        return None
    return await statuses(db, learners)


# --- the menu and mass actions ---------------------------------------------------------------


def _shows_activity(learner: MenuLearner) -> bool:
    return (
        learner.course_type in COURSE_TYPES
        and learner.viewer_is_admin
        and learner.state in _ACTIVITY_STATES
    )


VIEW_ACTIVITY = ActionDefinition(
    key="view_activity",
    label="View SCORM/xAPI Activity",
    kind=ActionKind.VIEW,
    position=60,
    applies=_shows_activity,
    description=(
        "The learner's xAPI statements and SCORM CMI commits of the latest attempt "
        "(Enrollment.activity). Administrators only."
    ),
)


@hookimpl
def lms_register_actions() -> Iterable[ActionDefinition]:
    return [VIEW_ACTIVITY]


@hookimpl
def lms_mass_actions(course: CourseRecord) -> Sequence[str] | None:
    return MASS_ACTIONS if course.course_type in COURSE_TYPES else None


@hookimpl
@for_course_types(*COURSE_TYPES)
@ignores_facts
async def lms_perform_action(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome] | None:
    """Mark as Complete on a SCORM/xAPI learner: record why, then the core completes."""
    if ctx.action.key == "mark_complete":
        await record_waived(ctx.db, ctx.tx.viewer, learners, ctx.now)
    return None


# --- lifecycle -----------------------------------------------------------------------------


@hookimpl
async def lms_on_reset(db: Any, learners: Sequence[LearnerRef]) -> None:
    await clear_attempts(db, learners, _now())


@hookimpl
async def lms_on_removed(db: Any, learners: Sequence[LearnerRef]) -> None:
    await delete_learners(db, learners)


# lms_on_unassigned: nothing to do; the dropped attempt's statements, commits and state
# reference it with ON DELETE CASCADE.


@hookimpl
async def lms_seed_demo(tx: Tx, course: CourseRecord, enrollment_ids: Sequence[int]) -> None:
    await seed(tx, course, enrollment_ids)


# --- GraphQL and HTTP --------------------------------------------------------------------


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return extension()


@hookimpl
def lms_register_routes(lms: LMS) -> Iterable[BaseRoute]:
    return routes(lms)
