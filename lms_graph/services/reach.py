"""Rights over every course an action writes to (``lms_action_reach``): a curriculum's
member courses, or anything a plugin keeps in step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lms_graph.auth import Viewer
from lms_graph.values import MenuLearner, Outcome, SQLExecutor

if TYPE_CHECKING:
    from lms_graph.core import LMS

Reach = dict[str, dict[int, set[int]]]


async def reach(
    lms: LMS, db: SQLExecutor, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Reach:
    """Every plugin's answer (the core's included), merged: for each action, the courses
    beyond each learner's own it would write to."""
    found: Reach = defaultdict(lambda: defaultdict(set))
    if not actions or not learners:
        return found
    for _plugin, answer in await lms.call_hook(
        "lms_action_reach", db=db, actions=actions, learners=learners
    ):
        for key, by_learner in answer.items():
            for enrollment_id, course_ids in by_learner.items():
                found[key][enrollment_id].update(course_ids)
    return found


def beyond_rights(viewer: Viewer, found: Mapping[int, set[int]], learner: MenuLearner) -> bool:
    """Whether the action would write, for this learner, to a course the viewer does not
    manage."""
    return any(not viewer.manages(course_id) for course_id in found.get(learner.enrollment_id, ()))


def forbidden(label: str) -> Outcome:
    return Outcome.skipped(
        "FORBIDDEN",
        f"{label} would also change this learner's records in courses you do not manage; "
        "nothing was changed.",
    )
