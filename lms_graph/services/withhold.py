"""Course types withholding actions from their learners (``lms_withhold_actions``):
what menus, mass-action previews and runs all follow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lms_graph.values import MenuLearner, Outcome, OutcomeStatus, SQLExecutor

if TYPE_CHECKING:
    from lms_graph.core import LMS

Withheld = dict[int, dict[str, Outcome]]


async def withheld(
    lms: LMS, db: SQLExecutor, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Withheld:
    """``{enrollment_id: {action_key: outcome}}``: what each learner's course type says
    does not apply to them, one hook call per course type in the batch."""
    found: Withheld = {}
    if not actions or not learners or not lms.implements("lms_withhold_actions"):
        return found
    asked = set(actions)
    by_type: dict[str, list[MenuLearner]] = defaultdict(list)
    for learner in learners:
        by_type[learner.course_type].append(learner)
    for course_type, group in by_type.items():
        ours = {learner.enrollment_id for learner in group}
        for _plugin, answer in await lms.call_hook(
            "lms_withhold_actions",
            db=db,
            course_type=course_type,
            actions=list(actions),
            learners=group,
        ):
            for enrollment_id, by_key in answer.items():
                if enrollment_id not in ours:  # a course type speaks for its own learners
                    continue
                for key, outcome in by_key.items():
                    if key in asked and outcome.status is not OutcomeStatus.OK:
                        found.setdefault(enrollment_id, {}).setdefault(key, outcome)
    return found
