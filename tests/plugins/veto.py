"""A fixture plugin for action runs: it vetoes chosen learners, and its reset hook can
be made to fail (to show that a failing hook leaves nothing written).

Tests set ``vetoed`` and ``fail_reset`` and call ``clear()`` when done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lms_graph import LearnerRef, MenuLearner, Outcome, hookimpl

CODE = "ON_LEGAL_HOLD"
REASON = "This learner's records are on legal hold."

vetoed: set[int] = set()
"""Enrollment IDs to refuse, whatever the action."""
fail_reset = False
"""When true, ``lms_on_reset`` raises: the whole run must fail and write nothing."""
seen: list[tuple[str, list[int], dict[str, Any]]] = []
"""Every veto call: the action, the learners offered, the params."""
resets: list[LearnerRef] = []
"""Every learner ``lms_on_reset`` was told about."""


def clear() -> None:
    global fail_reset
    vetoed.clear()
    seen.clear()
    resets.clear()
    fail_reset = False


@hookimpl
def lms_veto_action(
    action: str, learners: Sequence[MenuLearner], params: Mapping[str, Any]
) -> Mapping[int, Outcome] | None:
    seen.append((action, [learner.enrollment_id for learner in learners], dict(params)))
    refused = {
        learner.enrollment_id: Outcome.skipped(CODE, REASON)
        for learner in learners
        if learner.enrollment_id in vetoed
    }
    return refused or None


@hookimpl
async def lms_on_reset(learners: Sequence[LearnerRef]) -> None:
    if fail_reset:
        raise RuntimeError("veto plugin: the archive is down (secret detail)")
    resets.extend(learners)
