"""Which plugins keep a plain-state mass action per learner (``hook_scope``): with every
built-in plugin loaded, runs are decided on rows and the ILT plugin's rules still hold;
an implementation that may read facts keeps its runs per learner; one declared for
other course types is not asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from lms_graph import (
    LearnerRef,
    MenuLearner,
    Outcome,
    for_course_types,
    hookimpl,
    ignores_facts,
)
from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.hook_scope import concerns, course_types_of, reads_facts
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.testing import StatementCounter
from lms_graph.values import OutcomeStatus
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid
from tests.test_ilt_sessions import change_session, ilt_course, learner, new_session
from tests.test_mass_actions import cohort
from tests.test_mass_claims import per_learner_calls, pks, viewer_of

__all__ = ["per_learner_calls"]  # the fixture, shared

FACT = "scope_test.on_hold"
ON_HOLD = Outcome.skipped("ON_HOLD", "This learner is on hold.")


class Facts:
    """Every learner is on hold (a fact about every course type)."""

    @hookimpl
    def lms_learner_facts(self, learners: Sequence[LearnerRef]) -> Mapping[int, Mapping[str, Any]]:
        return {learner.enrollment_id: {FACT: True} for learner in learners}


class FactVeto:
    """Refuses learners on hold: it reads their facts, for every course type."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    @hookimpl
    def lms_veto_action(self, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
        self.seen.append([learner.enrollment_id for learner in learners])
        return {learner.enrollment_id: ON_HOLD for learner in learners if learner.facts.get(FACT)}


class IltFactVeto(FactVeto):
    """The same rule, declared for ILT learners only."""

    @hookimpl
    @for_course_types("ilt")
    def lms_veto_action(self, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
        return super().lms_veto_action(learners)


def test_the_declarations_are_read_through_what_wraps_them() -> None:
    @for_course_types("ilt", "classroom")
    @ignores_facts
    def implementation() -> None: ...

    assert course_types_of(implementation) == frozenset({"ilt", "classroom"})
    assert concerns(implementation, ["ilt"])
    assert not concerns(implementation, ["self_paced"])
    assert not concerns(implementation, [])  # a run of no course type's learners
    assert not reads_facts(implementation)
    undeclared = FactVeto.lms_veto_action
    assert concerns(undeclared, [])
    assert reads_facts(undeclared)
    with pytest.raises(TypeError):
        for_course_types()


async def test_every_builtin_plugin_loaded_a_self_paced_course_is_decided_on_rows(
    world: World, lms: LMS, per_learner_calls: list[int]
) -> None:
    """The default deployment: the ILT veto and perform, the SCORM perform and the
    certificates' facts do not send a self-paced course's runs per learner, and its
    statements do not grow with the learners."""
    admin = await world.admin()
    viewer = await viewer_of(lms, admin)
    counts = {}
    for size in (2, 8):
        course = await world.course(f"x{size}")
        await world.assign(course, [await world.user(f"{size} {i}") for i in range(size)], admin)
        with StatementCounter(*lms.db.engines) as counter:
            result = await run_action(
                lms, viewer, ActionRequest("mark_complete", course_id=course.id)
            )
        assert result.count(OutcomeStatus.OK) == size
        counts[size] = counter.count
    assert per_learner_calls == []
    assert counts[2] == counts[8], counts


async def test_the_ilt_veto_holds_for_self_paced_learners_on_rows(
    gql: GraphQLClient, world: World, lms: LMS, per_learner_calls: list[int]
) -> None:
    """The ILT veto concerns every course type (session scopes mean nothing outside ILT
    courses): it is still asked, on rows."""
    admin = await world.admin()
    course = await world.course()
    ids = pks(await cohort(gql, world, course, admin, ["NOT_STARTED", "STARTED"]))
    viewer = await viewer_of(lms, admin)
    result = await run_action(
        lms, viewer, ActionRequest("remove", course_id=course.id, params={"scope": "SESSION"})
    )
    assert [(o.status, o.code) for _, o in result.outcomes] == [
        (OutcomeStatus.SKIPPED, "NOT_APPLICABLE")
    ] * 2
    assert all("instructor-led courses only" in (o.message or "") for _, o in result.outcomes)
    assert per_learner_calls == []
    async with lms.db.reader() as conn:
        left = await conn.execute(select(m.Enrollment.id).where(m.Enrollment.id.in_(ids)))
        assert sorted(left.scalars()) == ids


async def test_on_an_ilt_course_the_ilt_rules_hold(
    gql: GraphQLClient, world: World, lms: LMS, per_learner_calls: list[int]
) -> None:
    """Mark as Complete attends the seats (ILT's perform); a sessionId that names no
    session is refused for every learner (ILT's veto)."""
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=3)
    users = [await world.user(f"Seated {i}") for i in range(3)]
    ids = await world.assign(course, users, admin)
    await change_session(gql, admin, [gid("Enrollment", pk) for pk in ids], session["id"])
    per_learner_calls.clear()  # change_session is ILT's own action: per learner
    viewer = await viewer_of(lms, admin)
    result = await run_action(lms, viewer, ActionRequest("mark_complete", course_id=course.id))
    assert result.count(OutcomeStatus.OK) == 3
    for pk in ids:
        seen = await learner(gql, gid("Enrollment", pk), admin)
        assert seen["state"] == "COMPLETED"
        assert [s["status"] for s in seen["sessionSeats"]] == ["ATTENDED"]
    refused = await run_action(
        lms,
        viewer,
        ActionRequest("mark_incomplete", course_id=course.id, params={"sessionId": "nope"}),
    )
    assert [(o.status, o.code) for _, o in refused.outcomes] == [
        (OutcomeStatus.SKIPPED, "BAD_SESSION_ID")
    ] * 3
    assert per_learner_calls == []


@pytest.mark.parametrize(
    ("veto", "per_learner", "vetoed"),
    [
        # Undeclared, reading facts that exist: per learner, with the facts; it holds.
        (FactVeto, True, True),
        # Declared for ILT: not asked about self-paced learners, decided on rows.
        (IltFactVeto, False, False),
    ],
)
async def test_a_veto_that_may_read_facts_keeps_its_course_types_per_learner(
    veto: type[FactVeto],
    per_learner: bool,
    vetoed: bool,
    gql: GraphQLClient,
    world: World,
    database_url: str,
    per_learner_calls: list[int],
) -> None:
    plugin = veto()
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[Facts(), plugin])
    try:
        admin = await world.admin()
        course = await world.course()
        ids = pks(await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS"]))
        viewer = await viewer_of(service, admin)
        result = await run_action(
            service, viewer, ActionRequest("mark_complete", course_id=course.id)
        )
        assert per_learner_calls == ([2] if per_learner else [])
        assert plugin.seen == ([ids] if vetoed else [])
        expected = (OutcomeStatus.SKIPPED, "ON_HOLD") if vetoed else (OutcomeStatus.OK, None)
        assert [(o.status, o.code) for _, o in result.outcomes] == [expected] * 2
    finally:
        await service.close()
