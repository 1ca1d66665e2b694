"""A fixture plugin that does its own part of core actions: it adds an ``external``
flag to ``mark_complete`` (and an ``ARCHIVE`` scope to ``remove``) for self-paced
learners and, when set, records the completion elsewhere instead of
letting the core complete the learner; it refuses learners listed in ``refused``.

Tests call ``clear()`` when done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lms_graph import ActionContext, ActionParam, MenuLearner, Outcome, hookimpl

CODE = "NO_RECORD_OFFICE"
REASON = "The records office does not know this learner."

refused: set[int] = set()
"""Enrollment IDs the plugin answers SKIPPED for."""
calls: list[tuple[str, list[int], bool]] = []
"""Every call: the action, the learners offered, whether the run was external."""


def clear() -> None:
    refused.clear()
    calls.clear()


@hookimpl
def lms_register_action_params(course_type: str) -> Mapping[str, Sequence[ActionParam]] | None:
    if course_type != "self_paced":
        return None
    return {
        "mark_complete": [ActionParam("external", "Boolean", False, "Completed elsewhere")],
        "remove": [ActionParam("scope", "Enum", False, "What to remove", ("COURSE", "ARCHIVE"))],
    }


@hookimpl
def lms_perform_action(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome] | None:
    external = bool(ctx.params.get("external"))
    calls.append((ctx.action.key, [learner.enrollment_id for learner in learners], external))
    if ctx.action.key != "mark_complete":
        return None
    answers = {
        learner.enrollment_id: Outcome.skipped(CODE, REASON)
        for learner in learners
        if learner.enrollment_id in refused
    }
    if external:
        for learner in learners:
            answers.setdefault(
                learner.enrollment_id, Outcome.ok("Recorded as completed elsewhere.")
            )
    return answers or None
