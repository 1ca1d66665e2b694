"""Which actions each learner's menu holds: plugin facts in one batch, then pure rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.values import (
    ActionDefinition,
    ChapterKind,
    LearnerRef,
    LearnerState,
    MenuLearner,
    SQLExecutor,
)


def _learners_query(ids: Sequence[int]) -> Any:
    has_quiz = exists().where(
        m.Chapter.course_id == m.Enrollment.course_id, m.Chapter.kind == ChapterKind.QUIZ.value
    )
    return (
        select(
            m.Enrollment.id,
            m.Enrollment.user_id,
            m.Enrollment.course_id,
            m.Course.course_type,
            m.Course.kind,
            m.Attempt.state,
            has_quiz.label("has_quiz"),
            m.Enrollment.attempt_number,
            m.Attempt.id.label("attempt_id"),
            m.Enrollment.version,
        )
        .join(m.Attempt, CURRENT_ATTEMPT)
        .join(m.Course, m.Course.id == m.Enrollment.course_id)
        .where(m.Enrollment.id.in_(ids), ACTIVE_ENROLLMENT)
    )


async def load_learners(
    lms: LMS, db: SQLExecutor, viewer: Viewer, ids: Sequence[int]
) -> dict[int, MenuLearner]:
    """The learners' menu views, with every plugin's facts: one statement plus the hooks."""
    if not ids:
        return {}
    rows = (await db.execute(_learners_query(ids))).all()
    refs = [
        LearnerRef(
            enrollment_id=row.id,
            user_id=row.user_id,
            course_id=row.course_id,
            course_type=row.course_type,
            attempt_id=row.attempt_id,
            attempt_number=row.attempt_number,
        )
        for row in rows
    ]
    facts: dict[int, dict[str, Any]] = defaultdict(dict)
    if refs:
        for _plugin, answer in await lms.call_hook("lms_learner_facts", db=db, learners=refs):
            for enrollment_id, values in answer.items():
                facts[enrollment_id].update(values)
    return {
        row.id: MenuLearner(
            enrollment_id=row.id,
            user_id=row.user_id,
            course_id=row.course_id,
            course_type=row.course_type,
            course_kind=row.kind,
            state=LearnerState(row.state),
            has_quiz=bool(row.has_quiz),
            attempt_number=row.attempt_number,
            attempt_id=row.attempt_id,
            version=row.version,
            viewer_is_admin=viewer.is_admin,
            facts=facts.get(row.id, {}),
        )
        for row in rows
    }


def menu(actions: Iterable[ActionDefinition], learner: MenuLearner) -> list[ActionDefinition]:
    """The learner's menu in display order."""
    return [action for action in actions if action.in_menu and action.applies(learner)]


async def menus(
    lms: LMS, db: SQLExecutor, viewer: Viewer, ids: Sequence[int]
) -> Mapping[int, list[ActionDefinition]]:
    """Menus of many learners for this viewer; none for learners they do not manage."""
    learners = await load_learners(lms, db, viewer, ids)
    ordered = sorted(lms.actions.values(), key=lambda action: action.position)
    return {
        enrollment_id: menu(ordered, learner) if viewer.manages(learner.course_id) else []
        for enrollment_id, learner in learners.items()
    }
