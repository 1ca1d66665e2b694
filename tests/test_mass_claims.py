"""Mass actions whose rule is plain states (``ActionDefinition.applies_in_states``)
decided on rows read in one statement (``services.mass_claims``): the same outcomes,
writes, history and events as the per-learner path, a number of statements that does
not grow with the learners, and plugins' rules still hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from lms_graph import models as m
from lms_graph.auth import Viewer, load_viewer
from lms_graph.core import LMS
from lms_graph.hookspecs import hookimpl
from lms_graph.ids import decode_id
from lms_graph.records import CourseRecord
from lms_graph.services import actions as actions_service
from lms_graph.services import menus
from lms_graph.services.actions import ActionRequest, RunResult, run_action
from lms_graph.testing import StatementCounter
from lms_graph.values import (
    CourseKind,
    Event,
    LearnerState,
    MenuLearner,
    Outcome,
    OutcomeStatus,
)
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, World
from tests.plugins import veto
from tests.test_mass_actions import _curriculum_learner, cohort

STATES = ["NOT_STARTED", "STARTED", "IN_PROGRESS", "COMPLETED"]
DUE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
CORE_RUNS: list[tuple[str, dict[str, Any]]] = [
    ("mark_complete", {}),
    ("reset_progress", {}),
    ("mark_incomplete", {}),
    ("unassign", {}),
    ("remove", {"scope": "COURSE"}),
    ("update_due_date", {"dueDate": DUE}),
    ("update_due_date", {"dueDate": None}),
]


class EventLog:
    """Records every committed transaction's events (``lms_on_events`` does not make a
    run per-learner: it hears of learners after the commit)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def lms_on_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


class Withholding:
    """A course type rule the core's states do not know: learners of ``self_paced``
    named in ``held`` are withheld from every action."""

    CODE = "HELD_BY_COURSE_TYPE"

    def __init__(self) -> None:
        self.held: set[int] = set()
        self.asked: list[list[int]] = []

    @hookimpl
    def lms_withhold_actions(
        self, course_type: str, actions: Sequence[str], learners: Sequence[MenuLearner]
    ) -> Mapping[int, Mapping[str, Outcome]] | None:
        self.asked.append([learner.enrollment_id for learner in learners])
        if course_type != "self_paced":
            return None
        outcome = Outcome.skipped(self.CODE, "Held by its course type.")
        return {
            learner.enrollment_id: dict.fromkeys(actions, outcome)
            for learner in learners
            if learner.enrollment_id in self.held
        }


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
async def core_lms(lms: LMS, database_url: str, events: EventLog) -> AsyncIterator[LMS]:
    """The test database served with ``self_paced`` only: no plugin must see each
    learner, so the core's plain-state actions are decided in SQL."""
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[events])
    yield service
    await service.close()


@pytest.fixture
def per_learner_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many learners each run loaded as ``MenuLearner``s on the per-learner path."""
    calls: list[int] = []
    real = menus.load_learners

    async def counted(lms: LMS, db: Any, viewer: Viewer, ids: Sequence[int]) -> Any:
        calls.append(len(ids))
        return await real(lms, db, viewer, ids)

    monkeypatch.setattr(actions_service, "load_learners", counted)
    return calls


async def viewer_of(lms: LMS, actor: Actor) -> Viewer:
    async with lms.db.reader() as conn:
        return await load_viewer(conn, actor.user.id)


def pks(learners: Sequence[tuple[Actor, str]]) -> list[int]:
    return [int(decode_id(eid, "Enrollment")) for _, eid in learners]


async def snapshot(lms: LMS, ids: Sequence[int]) -> list[Any]:
    """Everything a run may write about each learner, without IDs, times or names."""
    async with lms.db.reader() as conn:
        enrollments = {
            row.id: (row.version, row.attempt_number, row.due_date, row.assignment, row.active)
            for row in await conn.execute(
                select(
                    m.Enrollment.id,
                    m.Enrollment.version,
                    m.Enrollment.attempt_number,
                    m.Enrollment.due_date,
                    m.Enrollment.assignment,
                    m.Enrollment.unassigned_at.is_(None).label("active"),
                ).where(m.Enrollment.id.in_(ids))
            )
        }
        attempts: dict[int, list[Any]] = {}
        for row in await conn.execute(
            select(
                m.Attempt.enrollment_id,
                m.Attempt.number,
                m.Attempt.state,
                m.Attempt.progress,
                m.Attempt.started_at.is_(None),
                m.Attempt.completed_at.is_(None),
            )
            .where(m.Attempt.enrollment_id.in_(ids))
            .order_by(m.Attempt.enrollment_id, m.Attempt.number)
        ):
            attempts.setdefault(row[0], []).append(tuple(row[1:]))
        chapters: dict[int, list[Any]] = {}
        for progress in await conn.execute(
            select(
                m.Attempt.enrollment_id,
                m.Attempt.number,
                m.Chapter.position,
                m.ChapterProgress.status,
                m.ChapterProgress.progress,
                m.ChapterProgress.completed_at.is_(None),
            )
            .join(m.ChapterProgress, m.ChapterProgress.attempt_id == m.Attempt.id)
            .join(m.Chapter, m.Chapter.id == m.ChapterProgress.chapter_id)
            .where(m.Attempt.enrollment_id.in_(ids))
            .order_by(m.Attempt.enrollment_id, m.Attempt.number, m.Chapter.position)
        ):
            chapters.setdefault(progress[0], []).append(tuple(progress[1:]))
        history: dict[int, list[Any]] = {}
        for line in await conn.execute(
            select(
                m.HistoryEntry.enrollment_id,
                m.HistoryEntry.action,
                m.HistoryEntry.summary,
                m.HistoryEntry.note,
                m.HistoryEntry.details,
            )
            .where(m.HistoryEntry.enrollment_id.in_(ids))
            .order_by(m.HistoryEntry.id)
        ):
            history.setdefault(line[0], []).append(tuple(line[1:]))
        audit = [
            (row.action, row.details.get("scope"), row.details.get("note"))
            for row in await conn.execute(
                select(m.AuditEntry.action, m.AuditEntry.details).order_by(m.AuditEntry.id)
            )
            if row.details.get("enrollment_id") in ids
        ]
    return [
        (
            enrollments.get(eid),
            attempts.get(eid),
            chapters.get(eid),
            history.get(eid),
        )
        for eid in ids
    ] + [audit]


def described(result: RunResult) -> list[tuple[OutcomeStatus, str | None, str | None]]:
    return [(o.status, o.code, o.message) for _, o in result.outcomes]


def events_of(log: EventLog, ids: Sequence[int]) -> list[tuple[str, Any]]:
    """The run's events with enrollment IDs as positions in ``ids`` (and no user or
    course IDs), to compare runs over different learners."""
    position = {eid: i for i, eid in enumerate(ids)}
    seen: list[tuple[str, Any]] = []
    for event in log.events:
        data = dict(event.data)
        if "enrollment_ids" in data:
            data["enrollment_ids"] = [position[eid] for eid in data["enrollment_ids"]]
        if "enrollment_id" in data:
            data["enrollment_id"] = position[data["enrollment_id"]]
        data.pop("user_id", None)
        data.pop("course_id", None)
        seen.append((event.name, data))
    return seen


async def two_cohorts(
    gql: GraphQLClient, world: World, admin: Actor
) -> tuple[tuple[CourseRecord, list[int]], tuple[CourseRecord, list[int]]]:
    """Two courses with one learner in each state, alike."""
    found = []
    for title in ("Decided in SQL", "Decided per learner"):
        course = await world.course(title)
        found.append((course, pks(await cohort(gql, world, course, admin, STATES))))
    return found[0], found[1]


@pytest.mark.parametrize("by", ["course", "ids"])
@pytest.mark.parametrize(("action", "params"), CORE_RUNS)
async def test_decided_in_sql_as_the_per_learner_path_decides(
    action: str,
    params: dict[str, Any],
    by: str,
    gql: GraphQLClient,
    world: World,
    core_lms: LMS,
    events: EventLog,
    per_learner_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await world.admin()
    (fast_course, fast_ids), (slow_course, slow_ids) = await two_cohorts(gql, world, admin)
    viewer = await viewer_of(core_lms, admin)
    missing = max(*fast_ids, *slow_ids) + 1000

    def request(course: CourseRecord, ids: list[int]) -> ActionRequest:
        if by == "course":
            return ActionRequest(action, course_id=course.id, params=params, note="audit 7")
        # Named out of order, with one that does not exist.
        named = [*ids[::-1], missing]
        return ActionRequest(action, enrollment_ids=named, params=params, note="audit 7")

    fast = await run_action(core_lms, viewer, request(fast_course, fast_ids))
    assert per_learner_calls == []  # decided on rows: no MenuLearner loaded
    fast_events = events_of(events, [*fast_ids, missing])
    events.events.clear()
    monkeypatch.setattr(actions_service, "decided_in_sql", lambda lms, action: False)
    slow = await run_action(core_lms, viewer, request(slow_course, slow_ids))
    assert per_learner_calls == [len(slow_ids) + (1 if by == "ids" else 0)]

    assert described(fast) == described(slow)
    assert fast.count(OutcomeStatus.OK) > 0
    order = (lambda ids: ids) if by == "course" else (lambda ids: [*ids[::-1], missing])
    assert [eid for eid, _ in fast.outcomes] == order(fast_ids)
    assert await snapshot(core_lms, fast_ids) == await snapshot(core_lms, slow_ids)
    assert fast_events == events_of(events, [*slow_ids, missing])


async def test_a_learner_completed_event_each_whichever_path(
    gql: GraphQLClient, world: World, core_lms: LMS, events: EventLog
) -> None:
    admin = await world.admin()
    course = await world.course()
    ids = pks(await cohort(gql, world, course, admin, ["NOT_STARTED", "STARTED", "COMPLETED"]))
    viewer = await viewer_of(core_lms, admin)
    await run_action(core_lms, viewer, ActionRequest("mark_complete", course_id=course.id))
    completed = [e.data for e in events.events if e.name == "learner_completed"]
    assert [(data["enrollment_id"], data["attempt_number"]) for data in completed] == [
        (ids[0], 1),
        (ids[1], 1),
    ]


async def test_statements_do_not_grow_with_the_learners(
    gql: GraphQLClient, world: World, core_lms: LMS, per_learner_calls: list[int]
) -> None:
    """A mass action on 2 learners and on 8 costs the same statements, on each path
    (the per-learner path loads every learner in one statement too, but builds a
    ``MenuLearner`` for each and asks every plugin about them)."""
    admin = await world.admin()
    viewer = await viewer_of(core_lms, admin)
    counts: dict[tuple[str, int], int] = {}
    for size in (2, 8):
        for action in ("mark_complete", "reset_progress", "update_due_date"):
            course = await world.course(f"{action} x{size}")
            learners = [await world.user(f"{action} {size} {i}") for i in range(size)]
            await world.assign(course, learners, admin)
            if action == "reset_progress":
                await run_action(
                    core_lms, viewer, ActionRequest("mark_complete", course_id=course.id)
                )
            params = {"dueDate": DUE} if action == "update_due_date" else {}
            with StatementCounter(*core_lms.db.engines) as counter:
                result = await run_action(
                    core_lms, viewer, ActionRequest(action, course_id=course.id, params=params)
                )
            assert result.count(OutcomeStatus.OK) == size
            counts[action, size] = counter.count
    assert per_learner_calls == []
    for action in ("mark_complete", "reset_progress", "update_due_date"):
        assert counts[action, 2] == counts[action, 8], (action, counts)
    # The learners; their courses' chapters; their instructors; the claim; the action's
    # writes (mark_complete: attempts, then whether a curriculum holds the course;
    # reset_progress: enrollments, attempts, curricula); the history. SQLite's BEGIN
    # IMMEDIATE is a statement of its own.
    begin = 1 if core_lms.db.is_sqlite else 0
    assert counts["update_due_date", 8] == 6 + begin, counts
    assert counts["mark_complete", 8] == 7 + begin, counts
    assert counts["reset_progress", 8] == 7 + begin, counts


async def test_an_instructor_is_refused_what_reaches_courses_they_do_not_manage(
    gql: GraphQLClient, world: World, core_lms: LMS, per_learner_calls: list[int]
) -> None:
    """``lms_action_reach`` is asked for non-admins on rows read as columns too: the core's
    curriculum rule still refuses Mark as Complete over member courses."""
    admin = await world.admin()
    _, curriculum_id, _, _ = await _curriculum_learner(gql, world, admin)
    curriculum = int(decode_id(curriculum_id, "Enrollment"))
    teacher = await world.user("Curriculum instructor")
    async with core_lms.db.reader() as conn:
        course_id = (
            await conn.execute(select(m.Enrollment.course_id).where(m.Enrollment.id == curriculum))
        ).scalar_one()
    async with core_lms.db.transaction() as conn:
        await conn.execute(
            insert(m.CourseInstructor).values(
                course_id=course_id, user_id=teacher.user.id, granted_at=dt.datetime.now(dt.UTC)
            )
        )
    viewer = await viewer_of(core_lms, teacher)
    before = await snapshot(core_lms, [curriculum])
    result = await run_action(
        core_lms, viewer, ActionRequest("mark_complete", enrollment_ids=[curriculum])
    )
    [(_, outcome)] = result.outcomes
    assert (outcome.status, outcome.code) == (OutcomeStatus.SKIPPED, "FORBIDDEN")
    assert per_learner_calls == []
    assert await snapshot(core_lms, [curriculum]) == before


# --- plugins that see each learner ----------------------------------------------------


async def test_a_veto_plugin_is_asked_on_rows_when_no_facts_exist_and_its_veto_holds(
    gql: GraphQLClient, world: World, database_url: str, per_learner_calls: list[int]
) -> None:
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[veto])
    veto.clear()
    try:
        admin = await world.admin()
        course = await world.course()
        ids = pks(await cohort(gql, world, course, admin, ["STARTED", "IN_PROGRESS"]))
        veto.vetoed.add(ids[1])
        viewer = await viewer_of(service, admin)
        result = await run_action(
            service, viewer, ActionRequest("mark_complete", course_id=course.id)
        )
        # No plugin gives facts here: the veto sees on rows what it would per learner
        # (tests/test_mass_scope.py: where facts exist, a veto that may read them keeps
        # the run per learner).
        assert per_learner_calls == []
        assert [(o.status, o.code) for _, o in result.outcomes] == [
            (OutcomeStatus.OK, None),
            (OutcomeStatus.SKIPPED, veto.CODE),
        ]
        assert veto.seen == [("mark_complete", ids, {})]
        untouched = (await snapshot(service, [ids[1]]))[0]
        assert untouched[1] == [(1, LearnerState.IN_PROGRESS, 50, False, True)]
    finally:
        veto.clear()
        await service.close()


async def test_a_course_type_withholding_is_asked_on_rows_when_no_facts_exist_and_holds(
    gql: GraphQLClient, world: World, database_url: str, per_learner_calls: list[int]
) -> None:
    withholding = Withholding()
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[withholding])
    try:
        admin = await world.admin()
        course = await world.course()
        ids = pks(await cohort(gql, world, course, admin, ["NOT_STARTED", "STARTED"]))
        withholding.held.add(ids[0])
        viewer = await viewer_of(service, admin)
        result = await run_action(
            service, viewer, ActionRequest("mark_complete", course_id=course.id)
        )
        assert per_learner_calls == []  # no facts: as for the veto above
        assert withholding.asked == [ids]
        assert [(o.status, o.code) for _, o in result.outcomes] == [
            (OutcomeStatus.SKIPPED, Withholding.CODE),
            (OutcomeStatus.OK, None),
        ]
        held = (await snapshot(service, [ids[0]]))[0]
        assert held[1] == [(1, LearnerState.NOT_STARTED, 0, True, True)]
    finally:
        await service.close()


class Remover:
    """A veto that vetoes no one but deletes one learner's enrollment inside the run's
    transaction: the learner is gone before the claim."""

    def __init__(self) -> None:
        self.remove: int | None = None

    @hookimpl
    async def lms_veto_action(
        self, db: Any, learners: Sequence[MenuLearner]
    ) -> Mapping[int, Outcome] | None:
        if self.remove is not None:
            await db.execute(delete(m.Enrollment).where(m.Enrollment.id == self.remove))
        return None


async def test_a_learner_gone_before_the_claim_is_stale_and_the_rest_run(
    gql: GraphQLClient, world: World, database_url: str, events: EventLog
) -> None:
    """The claim says which learners it bumped: on SQLite by the count of rows updated
    (every learner read is there under BEGIN IMMEDIATE), then, only when the count falls
    short, by which of them remain; on PostgreSQL by the rows it returns."""
    remover = Remover()
    service = LMS(make_settings(database_url, plugins=("self_paced",)), plugins=[remover, events])
    try:
        admin = await world.admin()
        course = await world.course()
        ids = pks(await cohort(gql, world, course, admin, ["NOT_STARTED", "STARTED", "STARTED"]))
        remover.remove = ids[1]
        before = await snapshot(service, ids)
        viewer = await viewer_of(service, admin)
        result = await run_action(
            service, viewer, ActionRequest("mark_complete", course_id=course.id)
        )
        assert [(o.status, o.code) for _, o in result.outcomes] == [
            (OutcomeStatus.OK, None),
            (OutcomeStatus.SKIPPED, "STALE"),
            (OutcomeStatus.OK, None),
        ]
        (run,) = [event.data for event in events.events if event.name == "action_run"]
        assert (run["succeeded"], run["skipped"], run["enrollment_ids"]) == (
            2,
            1,
            [ids[0], ids[2]],
        )
        after = await snapshot(service, ids)
        assert after[1] == (None, None, None, None)
        for kept in (0, 2):
            version, *_ = after[kept][0]
            assert version == before[kept][0][0] + 1  # bumped once
            assert [attempt[1] for attempt in after[kept][1]] == [LearnerState.COMPLETED]
            line = ("mark_complete", "Marked as complete.", None, None)
            assert after[kept][3] == [*(before[kept][3] or []), line]
    finally:
        await service.close()


async def test_every_plain_state_rule_says_what_its_states_say(lms: LMS) -> None:
    """``applies_in_states`` must be exactly the action's ``applies``: the fast path
    decides by one, menus by the other."""
    declared = [action for action in lms.actions.values() if action.applies_in_states]
    assert {action.key for action in declared} >= {
        "update_due_date",
        "reset_progress",
        "mark_complete",
        "mark_incomplete",
        "unassign",
        "remove",
    }
    for action in declared:
        assert action.applies_in_states is not None
        for state in LearnerState:
            for kind in CourseKind:
                learner = MenuLearner(
                    enrollment_id=1,
                    user_id=1,
                    course_id=1,
                    course_type="self_paced",
                    course_kind=kind,
                    state=state,
                    has_quiz=False,
                    attempt_number=1,
                    attempt_id=1,
                    version=1,
                    viewer_is_admin=True,
                    facts={},
                )
                assert action.applies(learner) == (state in action.applies_in_states), (
                    action.key,
                    state,
                )
