"""ILT learner actions (``change_session``, ``mark_no_show``) and what the core's
actions mean for ILT learners (``lms_perform_action``, ``lms_veto_action``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update

from lms_graph import (
    ActionContext,
    ActionDefinition,
    ActionKind,
    ActionParam,
    BadInput,
    HistoryLine,
    LearnerState,
    MenuLearner,
    Note,
    Outcome,
    decode_id,
    ids_param,
    notify,
    record_history,
)
from lms_graph_plugins.ilt.seats import (
    Placement,
    Promoted,
    active_seats,
    lock_for_placing,
    place,
    release,
    seat_sessions,
)
from lms_graph_plugins.ilt.tables import SeatStatus, seats

KEY = "ilt"
FACT = "ilt.session_id"
"""Menu fact: the ID of the session whose seat the learner holds (None: no seat)."""
SESSION_SCOPES = frozenset({"SESSION", "BOTH"})


def is_ilt(learner: MenuLearner) -> bool:
    return learner.course_type == KEY


def _seat_went_to(successor: Promoted | None) -> str:
    """The outcome's last sentence when the seat left went to someone on the waitlist:
    everyone an action changes is named in its outcomes."""
    if successor is None:
        return ""
    return f" The seat went to {successor.name}, next on the waitlist."


def _may_change_session(learner: MenuLearner) -> bool:
    return is_ilt(learner) and learner.state in (
        LearnerState.NOT_STARTED,
        LearnerState.ENROLLED_IN_SESSION,
    )


def _may_mark_no_show(learner: MenuLearner) -> bool:
    return (
        is_ilt(learner)
        and learner.state is LearnerState.ENROLLED_IN_SESSION
        and learner.facts.get(FACT) is not None
    )


# --- change_session ----------------------------------------------------------------------


async def _change_session(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome]:
    session_id = decode_id(str(ctx.params["sessionId"]), "Session")
    session = await lock_for_placing(
        ctx.tx, session_id, [learner.attempt_id for learner in learners]
    )
    if session is None:
        raise BadInput("There is no session with this sessionId.")
    placed = await place(
        ctx.tx,
        session,
        learners,
        allow_clash=bool(ctx.params.get("allowClash")),
        action="change_session",
        note=ctx.note,
    )
    outcomes: dict[int, Outcome] = {}
    for learner in learners:
        result = placed[learner.enrollment_id]
        match result.placement:
            case Placement.SEATED:
                outcomes[learner.enrollment_id] = Outcome.ok(
                    (f"Moved to {session.label}." if result.left else f"Added to {session.label}.")
                    + _seat_went_to(result.successor)
                )
            case Placement.FULL:
                outcomes[learner.enrollment_id] = Outcome.skipped(
                    "SESSION_FULL",
                    f"{session.label} is full: no seat left (capacity {session.capacity}).",
                )
            case Placement.CLASH:
                outcomes[learner.enrollment_id] = Outcome.skipped(
                    "SCHEDULE_CLASH",
                    f"{session.label} overlaps another session this learner holds a seat in; "
                    "send allowClash: true to place them anyway.",
                )
            case Placement.ALREADY:
                outcomes[learner.enrollment_id] = Outcome.skipped(
                    "ALREADY_IN_SESSION",
                    f"The learner already holds a seat or waitlist place in {session.label}.",
                )
            case _:
                outcomes[learner.enrollment_id] = Outcome.skipped(
                    "NOT_APPLICABLE", f"{session.label} is a session of another course."
                )
    return outcomes


# --- mark_no_show ------------------------------------------------------------------------


async def _mark_no_show(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome]:
    by_attempt = {learner.attempt_id: learner for learner in learners}
    held = {
        attempt_id: active
        for attempt_id, active in (await active_seats(ctx.tx, list(by_attempt))).items()
        if active.status == SeatStatus.ENROLLED.value
    }
    released = await release(
        ctx.tx, list(held), mark=SeatStatus.NO_SHOW, action="mark_no_show", note=ctx.note
    )
    freed = released.held
    message = ctx.params.get("message")
    if message:
        await notify(
            ctx.tx,
            [
                Note(
                    active.user_id,
                    "ilt_no_show",
                    f"You were marked as a no-show in {active.session.label}",
                    str(message),
                )
                for active in freed.values()
            ],
        )
    return {
        learner.enrollment_id: (
            Outcome.ok(
                f"No-show in {freed[learner.attempt_id].session.label}; seat freed."
                + _seat_went_to(released.successors.get(learner.attempt_id))
            )
            if learner.attempt_id in freed
            else Outcome.skipped("NOT_APPLICABLE", "The learner holds no session seat.")
        )
        for learner in learners
    }


ACTIONS = (
    ActionDefinition(
        key="change_session",
        label="Change/Add to Session",
        kind=ActionKind.MUTATION,
        position=20,
        applies=_may_change_session,
        run=_change_session,
        description=(
            "Moves the learner to another session of this course, or adds one who has none. "
            "A full session refuses; so does one overlapping another of the learner's "
            "sessions, unless overlapping sessions are allowed."
        ),
        params=(
            ActionParam("sessionId", "ID", True, "Session"),
            ActionParam("allowClash", "Boolean", False, "Allow overlapping sessions"),
        ),
        # Not mass=True: that would offer it for every course type; ILT courses list
        # their mass actions through lms_mass_actions.
    ),
    ActionDefinition(
        key="mark_no_show",
        label="Mark as No Show",
        kind=ActionKind.MUTATION,
        position=60,
        applies=_may_mark_no_show,
        run=_mark_no_show,
        description=(
            "Frees the learner's seat (the next on the waitlist gets it); the learner is "
            "not started again and may enroll in another session."
        ),
        destructive=True,
        confirm="Mark this learner as a no-show? Their seat goes to someone else.",
        params=(ActionParam("message", "String", False, "Private message to the learner"),),
    ),
)

EXTRA_PARAMS: Mapping[str, Sequence[ActionParam]] = {
    "mark_incomplete": [
        ActionParam("sessionId", "ID", False, "Session (instructor-led courses)"),
    ],
    "remove": [
        ActionParam("scope", "Enum", False, "What to remove", ("COURSE", "SESSION", "BOTH")),
    ],
}


# --- the core's actions on ILT learners ------------------------------------------------


def _is_session_id(value: Any) -> bool:
    try:
        decode_id(str(value), "Session")
    except BadInput:
        return False
    return True


def veto(
    action: str, learners: Sequence[MenuLearner], params: Mapping[str, Any]
) -> Mapping[int, Outcome] | None:
    """SESSION/BOTH scopes and a ``sessionId`` only mean something in ILT courses."""
    if action == "remove" and params.get("scope") in SESSION_SCOPES:
        reason = (
            f"Remove with scope {params['scope']} applies to instructor-led courses only; "
            "use scope COURSE."
        )
    elif action == "mark_incomplete" and params.get("sessionId") is not None:
        if not _is_session_id(params["sessionId"]):
            return {
                learner.enrollment_id: Outcome.skipped(
                    "BAD_SESSION_ID", "sessionId is not the ID of a session."
                )
                for learner in learners
            }
        reason = "A sessionId applies to instructor-led courses only."
    else:
        return None
    return {
        learner.enrollment_id: Outcome.skipped("NOT_APPLICABLE", reason)
        for learner in learners
        if not is_ilt(learner)
    }


async def perform(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome] | None:
    """What ``remove``, ``unassign``, ``mark_incomplete`` and ``mark_complete`` mean for
    ILT learners; the answer is for the learners handled completely here."""
    ours = [learner for learner in learners if is_ilt(learner)]
    if not ours:
        return None
    key = ctx.action.key
    if key == "remove":
        if ctx.params.get("scope") == "SESSION":
            return await _remove_from_session(ctx, ours)
        # COURSE or BOTH: the enrollment goes, seats with it; free them first so that
        # the waitlist moves up and is told, then let the core remove.
        await release(ctx.tx, [learner.attempt_id for learner in ours])
    elif key == "unassign":
        await release(ctx.tx, [learner.attempt_id for learner in ours])
    elif key == "mark_incomplete" and ctx.params.get("sessionId") is not None:
        return await _incomplete_in_session(ctx, ours)
    elif key == "mark_complete":
        await _attended(ctx, ours)
    return None


async def _remove_from_session(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome]:
    released = await release(
        ctx.tx, [learner.attempt_id for learner in learners], action="remove", note=ctx.note
    )
    freed = released.held
    return {
        learner.enrollment_id: (
            Outcome.ok(
                f"Removed from {freed[learner.attempt_id].session.label}."
                + _seat_went_to(released.successors.get(learner.attempt_id))
            )
            if learner.attempt_id in freed
            else Outcome.skipped(
                "NO_SESSION", "The learner holds no seat or waitlist place to remove."
            )
        )
        for learner in learners
    }


async def _incomplete_in_session(
    ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome]:
    """Mark the seat in the chosen session incomplete; the core then takes back the
    completion. Learners without a seat there are skipped."""
    session_id = decode_id(str(ctx.params["sessionId"]), "Session")
    found = await seat_sessions(ctx.tx, [learner.attempt_id for learner in learners], session_id)
    if found:
        await ctx.db.execute(
            update(seats)
            .where(ids_param(seats.c.id, "seat_ids"))
            .values(status=SeatStatus.INCOMPLETE.value, updated_at=ctx.now),
            {"seat_ids": list(found.values())},
        )
    return {
        learner.enrollment_id: Outcome.skipped(
            "NOT_IN_SESSION", "The learner had no seat in that session."
        )
        for learner in learners
        if learner.attempt_id not in found
    }


async def _attended(ctx: ActionContext, learners: Sequence[MenuLearner]) -> None:
    """Marking complete records attendance of the session held (the seat itself turns
    ``attended`` in ``lms_on_completed``)."""
    held = await active_seats(ctx.tx, [learner.attempt_id for learner in learners])
    await record_history(
        ctx.tx,
        [
            HistoryLine(
                active.enrollment_id,
                "ilt_attended",
                f"Attended {active.session.label}.",
                note=ctx.note,
                details={"sessionId": active.session.id},
            )
            for active in held.values()
            if active.status == SeatStatus.ENROLLED.value
        ],
    )
