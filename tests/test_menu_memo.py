"""Menus worked out once per distinct learner (``services.menu_memo``): learners alike in
everything the rules read share one menu, and a learner differing in anything a rule
reads (a fact, a field) gets their own, exactly as the rules decide one by one."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete

from bench.queries import LMS_QUERY_ACTIONS
from lms_graph import Outcome, for_course_types, hookimpl
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.services import menus
from lms_graph.services.menu_memo import MenuMemo
from lms_graph.values import ActionDefinition, ActionKind, CourseKind, LearnerState, MenuLearner
from lms_graph_plugins.certificates.tables import certificates
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid
from tests.test_mass_claims import viewer_of

S = LearnerState
Rule = Callable[[MenuLearner], bool]


def _learner(eid: int, state: LearnerState, **changes: Any) -> MenuLearner:
    values: dict[str, Any] = {
        "enrollment_id": eid,
        "user_id": 1000 + eid,
        "course_id": 1,
        "course_type": "self_paced",
        "course_kind": CourseKind.COURSE,
        "state": state,
        "has_quiz": False,
        "attempt_number": 1,
        "attempt_id": 2000 + eid,
        "version": 1,
        "viewer_is_admin": True,
        "facts": {},
    }
    values.update(changes)
    return MenuLearner(**values)


class Counted:
    """A rule that counts its calls."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.calls = 0

    def __call__(self, learner: MenuLearner) -> bool:
        self.calls += 1
        return self.rule(learner)


def _action(key: str, rule: Rule, position: int = 0) -> ActionDefinition:
    return ActionDefinition(
        key=key, label=key, kind=ActionKind.VIEW, position=position, applies=rule
    )


def _direct(actions: list[ActionDefinition], learner: MenuLearner) -> list[str]:
    return [action.key for action in actions if action.applies(learner)]


def test_learners_in_the_same_state_share_one_menu_worked_out_once() -> None:
    open_rule = Counted(lambda learner: learner.state is not S.COMPLETED)
    done_rule = Counted(lambda learner: learner.state is S.COMPLETED)
    memo = MenuMemo([_action("open", open_rule), _action("done", done_rule)])
    states = [S.NOT_STARTED, S.COMPLETED] * 50
    found = [memo.menu(_learner(eid, state)) for eid, state in enumerate(states)]
    assert (open_rule.calls, done_rule.calls) == (2, 2)  # one learner per state
    assert [[action.key for action in menu] for menu in found[:2]] == [["open"], ["done"]]
    assert all(menu is found[0] for menu in found[0::2])
    assert all(menu is found[1] for menu in found[1::2])


def test_a_rule_reading_a_fact_gets_each_learners_own_value() -> None:
    rule = Counted(lambda learner: learner.state is S.COMPLETED and not learner.facts.get("cert"))
    memo = MenuMemo([_action("generate", rule)])
    learners = [
        _learner(1, S.COMPLETED, facts={"cert": True}),
        _learner(2, S.COMPLETED, facts={}),
        _learner(3, S.COMPLETED, facts={"cert": True, "other": 1}),
        _learner(4, S.COMPLETED, facts={"cert": False}),
        _learner(5, S.NOT_STARTED, facts={"cert": False}),
        _learner(6, S.NOT_STARTED, facts={}),
    ]
    assert [bool(memo.menu(learner)) for learner in learners] == [
        False,
        True,
        False,  # another fact, never read, does not count
        True,
        False,
        False,  # not completed: the fact is never read, so learners 5 and 6 are alike
    ]
    assert rule.calls == 4


def test_a_rule_reading_a_learners_own_field_decides_per_learner() -> None:
    rule = Counted(lambda learner: learner.enrollment_id % 3 == 0)
    memo = MenuMemo([_action("third", rule)])
    found = [bool(memo.menu(_learner(eid, S.STARTED))) for eid in range(12)]
    assert found == [eid % 3 == 0 for eid in range(12)]
    assert rule.calls == 12


def test_facts_used_as_a_whole_or_unhashable_keep_menus_exact() -> None:
    by_size = _action("many", lambda learner: len(learner.facts) > 1)
    listed = _action("listed", lambda learner: 2 in learner.facts.get("list", []))
    exactly_true = _action("true", lambda learner: learner.facts.get("flag") is True)
    actions = [by_size, listed, exactly_true]
    memo = MenuMemo(actions)
    learners = [
        _learner(1, S.STARTED, facts={"list": [1, 2], "flag": 1}),
        _learner(2, S.STARTED, facts={"list": [1], "flag": True}),
        _learner(3, S.STARTED, facts={"flag": True}),
        _learner(4, S.STARTED, facts={"list": [2], "flag": 1}),
        _learner(5, S.STARTED, facts={"flag": 1}),
    ]
    for learner in learners + learners:
        assert [action.key for action in memo.menu(learner)] == _direct(actions, learner)


def test_menus_match_the_rules_one_by_one_over_many_learners() -> None:
    """Rules that branch on what they read, over every mix of what they read."""
    actions = [
        _action("quiz", lambda learner: learner.has_quiz and learner.state is not S.COMPLETED),
        _action(
            "cert", lambda learner: learner.state is S.COMPLETED and bool(learner.facts.get("c"))
        ),
        _action("second", lambda learner: learner.attempt_number > 1 or learner.is_instructor),
        _action("curriculum", lambda learner: learner.course_kind is CourseKind.CURRICULUM),
        _action("kept", lambda learner: "k" in learner.facts and learner.has_chapters),
        _action("every", lambda learner: True),
    ]
    rng = random.Random(7)
    learners = [
        _learner(
            eid,
            rng.choice(list(S)),
            has_quiz=rng.random() < 0.5,
            attempt_number=rng.choice([1, 1, 2]),
            is_instructor=rng.random() < 0.2,
            course_kind=rng.choice(list(CourseKind)),
            has_chapters=rng.random() < 0.8,
            facts=rng.choice([{}, {"c": 1}, {"c": 0}, {"k": None}, {"c": True, "k": 2}]),
        )
        for eid in range(400)
    ]
    memo = MenuMemo(actions)
    for learner in learners:
        assert [action.key for action in memo.menu(learner)] == _direct(actions, learner)


def test_actions_out_of_the_menu_are_left_out() -> None:
    hidden = ActionDefinition(
        key="hidden",
        label="hidden",
        kind=ActionKind.MUTATION,
        position=0,
        applies=lambda learner: True,
        in_menu=False,
    )
    memo = MenuMemo([hidden, _action("shown", lambda learner: True)])
    assert [action.key for action in memo.menu(_learner(1, S.STARTED))] == ["shown"]


RUN = """
mutation ($ids: [ID!]!) {
  runAction(input: {action: "mark_complete", enrollmentIds: $ids}) { succeeded }
}
"""


async def test_a_page_of_completed_learners_gets_each_ones_certificate_item(
    lms: LMS, world: World, gql: GraphQLClient
) -> None:
    """Learners in one state share a menu, except where the certificates plugin's fact
    (read by its rules) sets one apart."""
    admin = await world.admin()
    course = await world.course("Memo course")
    people = [await world.user(f"Learner {i:02d}") for i in range(6)]
    ids = await world.assign(course, people, admin, due=dt.date(2030, 1, 1))
    done = await gql.data(RUN, {"ids": [gid("Enrollment", eid) for eid in ids]}, admin.token)
    assert done["runAction"]["succeeded"] == len(ids)
    without = {ids[1], ids[4]}
    async with lms.db.transaction() as conn:
        await conn.execute(delete(certificates).where(certificates.c.enrollment_id.in_(without)))
    data = await gql.data(
        LMS_QUERY_ACTIONS, {"course": gid("Course", course.id), "first": 100}, admin.token
    )
    menus = {
        edge["node"]["id"]: [action["key"] for action in edge["node"]["availableActions"]]
        for edge in data["course"]["learners"]["edges"]
    }
    for eid in ids:
        keys = menus[gid("Enrollment", eid)]
        assert ("generate_certificate" in keys) == (eid in without), keys
        assert ("remove_certificate" in keys) == (eid not in without), keys
    alike = {tuple(keys) for keys in menus.values()}
    assert len(alike) == 2


HELD = Outcome.skipped("HELD", "Held.")


class Withhold:
    """Withholds View History from every learner it is handed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def lms_withhold_actions(
        self, course_type: str, learners: Sequence[MenuLearner]
    ) -> Mapping[int, Mapping[str, Outcome]]:
        self.seen.append(course_type)
        return {learner.enrollment_id: {"view_history": HELD} for learner in learners}


class IltWithhold(Withhold):
    """The same, declared for ILT learners only."""

    @hookimpl
    @for_course_types("ilt")
    def lms_withhold_actions(
        self, course_type: str, learners: Sequence[MenuLearner]
    ) -> Mapping[int, Mapping[str, Outcome]]:
        return super().lms_withhold_actions(course_type, learners)


@pytest.mark.parametrize(("withhold", "asked"), [(Withhold, True), (IltWithhold, False)])
async def test_withholding_is_asked_only_for_the_course_types_it_concerns(
    withhold: type[Withhold], asked: bool, world: World, database_url: str
) -> None:
    plugin = withhold()
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[plugin])
    try:
        admin = await world.admin()
        course = await world.course()
        people = [await world.user(f"Learner {i}") for i in range(3)]
        ids = await world.assign(course, people, admin)
        viewer = await viewer_of(service, admin)
        async with service.db.reader() as conn:
            found = await menus.menus(service, conn, viewer, ids)
        assert plugin.seen == (["self_paced"] if asked else [])
        for eid in ids:
            keys = [action.key for action in found[eid]]
            assert ("view_history" in keys) is not asked
            assert "remove" in keys
    finally:
        await service.close()


# --- menus of rows: a MenuLearner only for a row the rules are traced on -----------------

ROW_COLUMNS = {
    "enrollment_id": 0,
    "user_id": 1,
    "course_id": 2,
    "state": 3,
    "has_quiz": 4,
    "attempt_number": 5,
    "attempt_id": 6,
    "version": 7,
    "is_instructor": 8,
    "has_chapters": 9,
    "facts": 10,
}


def _row(learner: MenuLearner) -> tuple[Any, ...]:
    """The learner as a page's row holds it: the state as stored, the facts as JSON text."""
    return (
        *(getattr(learner, name) for name in list(ROW_COLUMNS)[:10]),
        orjson.dumps(dict(learner.facts)).decode(),
    )


class LearnerOf:
    """Rows back to learners (as the page does), counting the learners built."""

    def __init__(self, kind: CourseKind = CourseKind.COURSE) -> None:
        self.kind = kind
        self.built = 0

    def __call__(self, row: Sequence[Any]) -> MenuLearner:
        self.built += 1
        names = list(ROW_COLUMNS)[:10]
        values = dict(zip(names, row, strict=False))
        values["state"] = LearnerState(values["state"])
        return _learner(
            values.pop("enrollment_id"),
            values.pop("state"),
            course_kind=self.kind,
            facts=orjson.loads(row[10]),
            **values,
        )


def test_rows_alike_in_what_the_rules_read_build_one_learner() -> None:
    rule = Counted(lambda learner: learner.state is not S.COMPLETED)
    memo = MenuMemo([_action("open", rule)])
    states = [S.NOT_STARTED, S.STARTED, S.IN_PROGRESS, S.COMPLETED] * 25
    learner_of = LearnerOf()
    found = memo.menus_of_rows(
        [_row(_learner(eid, state)) for eid, state in enumerate(states)], ROW_COLUMNS, learner_of
    )
    assert learner_of.built == rule.calls == 4
    assert [bool(menu) for menu in found] == [state is not S.COMPLETED for state in states]
    assert all(menu is found[0] for menu in found[0::4])


def test_a_rule_reading_a_learners_own_field_builds_every_row() -> None:
    rule = Counted(lambda learner: learner.enrollment_id % 3 == 0)
    memo = MenuMemo([_action("third", rule)])
    learner_of = LearnerOf()
    found = memo.menus_of_rows(
        [_row(_learner(eid, S.STARTED)) for eid in range(30)], ROW_COLUMNS, learner_of
    )
    assert [bool(menu) for menu in found] == [eid % 3 == 0 for eid in range(30)]
    assert learner_of.built == 30


@pytest.mark.parametrize("kind", list(CourseKind))
def test_menus_of_rows_match_the_rules_one_by_one(kind: CourseKind) -> None:
    """The rules of ``test_menus_match_the_rules_one_by_one_over_many_learners`` over rows
    of one course (its kind the same for all), facts keyed by their JSON text."""
    actions = [
        _action("quiz", lambda learner: learner.has_quiz and learner.state is not S.COMPLETED),
        _action(
            "cert", lambda learner: learner.state is S.COMPLETED and bool(learner.facts.get("c"))
        ),
        _action("second", lambda learner: learner.attempt_number > 1 or learner.is_instructor),
        _action("curriculum", lambda learner: learner.course_kind is CourseKind.CURRICULUM),
        _action("kept", lambda learner: "k" in learner.facts and learner.has_chapters),
        _action("every", lambda learner: True),
    ]
    rng = random.Random(11)
    learners = [
        _learner(
            eid,
            rng.choice(list(S)),
            has_quiz=rng.random() < 0.5,
            attempt_number=rng.choice([1, 1, 2]),
            is_instructor=rng.random() < 0.2,
            course_kind=kind,
            has_chapters=rng.random() < 0.8,
            facts=rng.choice([{}, {"c": 1}, {"c": 0}, {"k": None}, {"c": True, "k": 2}]),
        )
        for eid in range(400)
    ]
    learner_of = LearnerOf(kind)
    found = MenuMemo(actions).menus_of_rows(
        [_row(learner) for learner in learners], ROW_COLUMNS, learner_of
    )
    for learner, menu in zip(learners, found, strict=True):
        assert [action.key for action in menu] == _direct(actions, learner)
    # Never two learners built for rows alike in every column but their own IDs.
    alike = {
        _row(learner)[3:5] + _row(learner)[8:] + (learner.attempt_number,) for learner in learners
    }
    assert learner_of.built <= len(alike) < len(learners)


PAGE_MENUS = """
query ($course: ID!) {
  course(id: $course) {
    learners(first: 100) { edges { node { id availableActions { key label } } } }
  }
}
"""


@pytest.mark.parametrize("who", ["admin", "instructor"])
async def test_a_page_withholds_and_reaches_as_the_services_do(
    who: str, world: World, database_url: str
) -> None:
    """A page's menus (rendered by PostgreSQL; the ordinary path on SQLite) keep what
    ``lms_withhold_actions`` takes out and, for an instructor, what ``lms_action_reach``
    does, learner by learner, exactly as ``menus.menus`` has them."""
    plugin = Withhold()
    service = LMS(
        make_settings(database_url, plugins=("self_paced", "certificates")), plugins=[plugin]
    )
    try:
        admin = await world.admin()
        course = await world.course("Withheld")
        instructor = await world.user("Ines Instructor")
        await world.instructor(course, instructor)
        people = [await world.user(f"Learner {i}") for i in range(6)]
        ids = await world.assign(course, people, admin)
        actor = admin if who == "admin" else instructor
        transport = ASGITransport(app=create_app(lms=service))
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            data = await GraphQLClient(http).data(
                PAGE_MENUS, {"course": gid("Course", course.id)}, actor.token
            )
        page = {
            edge["node"]["id"]: [action["key"] for action in edge["node"]["availableActions"]]
            for edge in data["course"]["learners"]["edges"]
        }
        viewer = await viewer_of(service, actor)
        async with service.db.reader() as conn:
            found = await menus.menus(service, conn, viewer, ids)
        assert plugin.seen
        for eid in ids:
            keys = page[gid("Enrollment", eid)]
            assert keys == [action.key for action in found[eid]]
            assert "view_history" not in keys
            assert "remove" in keys
    finally:
        await service.close()
