"""Random sequences of learner progress and actions, with the invariants checked after
every step (a hypothesis state machine, on both backends).

Steps: assign, start, complete a chapter, answer a question (the learner's own
progress), and any mutation action an admin may run, on one learner or on many
at once, for real or as a dry run, in every course type the scene holds
(``COURSE_TYPES``: self-paced courses and a curriculum, and an ILT course with
two small sessions, one keeping a waitlist, where admins move learners between
sessions, mark no-shows, complete, take back, reset, unassign and remove with
every scope, and learners take seats themselves).

Invariants after each step:

- state matches the attempt: COMPLETED exactly when the attempt is completed,
  progress 100 then; a self-paced attempt that is not completed has the state
  and progress its chapters and answers give;
- a valid certificate only for a completed attempt, at most one per attempt;
- no orphan rows: attempts, progress, answers, certificates and history all
  belong to an enrollment that exists; a removed learner leaves nothing but the
  audit entry;
- history: every OK outcome wrote exactly one entry with the action's key for
  that learner (at least one for courses a curriculum also acts on, or where the
  ILT plugin writes seat lines of its own); a dry run writes nothing;
- ILT: no session holds more seats than its capacity, a learner holds at most
  one open seat, and an open ILT attempt is ENROLLED_IN_SESSION exactly when it
  holds a seat (NOT_STARTED otherwise).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text

from lms_graph import models as m
from lms_graph.auth import Viewer, load_viewer
from lms_graph.core import LMS
from lms_graph.errors import LMSError
from lms_graph.ids import to_global_id
from lms_graph.records import CourseRecord
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.services.learning import answer_quiz, complete_chapter, start_course
from lms_graph.services.tx import write
from lms_graph.values import ActionKind, LearnerProgress, LearnerState, OutcomeStatus
from lms_graph_plugins.ilt.sessions import SessionSpec, create_session, enroll_in_session
from lms_graph_plugins.self_paced import status as self_paced_status
from tests.conftest import _empty, make_settings
from tests.helpers import Actor, World

T = TypeVar("T")

FAST_STEPS = int(os.environ.get("LMS_STATE_MACHINE_EXAMPLES", "6"))
SLOW_STEPS = int(os.environ.get("LMS_STATE_MACHINE_SLOW_EXAMPLES", "150"))
LEARNERS = 4
PARAMS = {"dueDate"}
"""Required params the self-paced steps know how to fill."""


@dataclasses.dataclass
class SceneCourse:
    course: CourseRecord
    chapters: list[int]
    """Content chapters, in order."""
    questions: list[int]
    standalone: bool
    """Not part of a curriculum: its history counts are exact."""
    sessions: list[int] = dataclasses.field(default_factory=list)
    """ILT: the course's sessions."""


async def _self_paced(world: World) -> dict[str, SceneCourse]:
    solo = await world.course("Solo", chapters=2, quiz=True)
    first = await world.course("Part one", chapters=1)
    second = await world.course("Part two", chapters=1, quiz=True)
    path = await world.curriculum("Path", [first, second])
    return {
        "solo": await _describe(world.lms, solo, standalone=True),
        "part_one": await _describe(world.lms, first, standalone=False),
        "part_two": await _describe(world.lms, second, standalone=False),
        "path": await _describe(world.lms, path, standalone=True),
    }


async def _ilt(world: World) -> dict[str, SceneCourse]:
    """An ILT course with two 2-seat sessions a day apart; the first keeps a waitlist."""
    course = await world.course("Classroom", course_type="ilt", chapters=1)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=20)
    async with world.lms.db.reader() as conn:
        admin = await load_viewer(
            conn, (await conn.execute(select(m.User.id).where(m.User.is_admin))).scalar_one()
        )
    async with write(world.lms, admin) as tx:
        sessions = [
            await create_session(
                tx,
                SessionSpec(
                    course.id,
                    f"Session {day}",
                    start + dt.timedelta(days=day),
                    start + dt.timedelta(days=day, hours=3),
                    capacity=2,
                    location="Room 1",
                    waitlist=day == 0,
                ),
            )
            for day in (0, 1)
        ]
    scene = await _describe(world.lms, course, standalone=False)
    return {"ilt": dataclasses.replace(scene, sessions=sessions)}


COURSE_TYPES: list[Callable[[World], Awaitable[dict[str, SceneCourse]]]] = [_self_paced, _ilt]
"""Scene builders, one per course type."""
ILT_ACTIONS = (
    "change_session",
    "mark_no_show",
    "mark_complete",
    "mark_incomplete",
    "reset_progress",
    "unassign",
    "remove",
    "update_due_date",
)


async def _describe(lms: LMS, course: CourseRecord, *, standalone: bool) -> SceneCourse:
    async with lms.db.reader() as conn:
        chapters = list(
            (
                await conn.execute(
                    select(m.Chapter.id)
                    .where(m.Chapter.course_id == course.id, m.Chapter.kind == "CONTENT")
                    .order_by(m.Chapter.position)
                )
            ).scalars()
        )
        questions = list(
            (
                await conn.execute(
                    select(m.Question.id)
                    .join(m.Chapter, m.Chapter.id == m.Question.chapter_id)
                    .where(m.Chapter.course_id == course.id)
                    .order_by(m.Chapter.position, m.Question.position)
                )
            ).scalars()
        )
    return SceneCourse(course, chapters, questions, standalone)


class LearnerMachine(RuleBasedStateMachine):
    database_url: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.lms = LMS(make_settings(self.database_url))
        self.world = World(self.lms)
        self.expected: Counter[tuple[int, str]] = Counter()
        self.run(_empty(self.lms))
        self.admin = self.run(self.world.admin())
        self.learners: list[Actor] = [
            self.run(self.world.user(f"Learner {i}")) for i in range(LEARNERS)
        ]
        self.courses: dict[str, SceneCourse] = {}
        for build in COURSE_TYPES:
            self.courses |= self.run(build(self.world))
        self.mutations = sorted(
            key for key, action in self.lms.actions.items() if action.kind is ActionKind.MUTATION
        )
        # Actions whose required params name things of other course types (a session)
        # are those course types' steps.
        self.runnable = [
            key
            for key in self.mutations
            if all(
                not param.required or param.name in PARAMS for param in self.lms.actions[key].params
            )
        ]

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.lms.close())
        self.loop.close()

    async def viewer(self, actor: Actor) -> Viewer:
        async with self.lms.db.reader() as conn:
            return await load_viewer(conn, actor.user.id)

    async def enrollment(self, learner: int, course: str) -> int | None:
        async with self.lms.db.reader() as conn:
            found: int | None = (
                await conn.execute(
                    select(m.Enrollment.id).where(
                        m.Enrollment.user_id == self.learners[learner].user.id,
                        m.Enrollment.course_id == self.courses[course].course.id,
                    )
                )
            ).scalar_one_or_none()
            return found

    # --- steps --------------------------------------------------------------------------

    @rule(
        learners=st.sets(st.integers(0, LEARNERS - 1), min_size=1),
        course=st.sampled_from(["solo", "part_one", "part_two", "path", "ilt"]),
    )
    def assign(self, learners: set[int], course: str) -> None:
        self.run(
            self.world.assign(
                self.courses[course].course,
                [self.learners[i] for i in sorted(learners)],
                self.admin,
            )
        )

    @rule(
        learner=st.integers(0, LEARNERS - 1),
        course=st.sampled_from(["solo", "part_one", "part_two"]),
    )
    def start(self, learner: int, course: str) -> None:
        self.run(self._own(learner, lambda tx: start_course(tx, self.courses[course].course.id)))

    @rule(
        learner=st.integers(0, LEARNERS - 1),
        course=st.sampled_from(["solo", "part_one", "part_two"]),
        index=st.integers(0, 1),
    )
    def complete_chapter(self, learner: int, course: str, index: int) -> None:
        scene = self.courses[course]
        eid = self.run(self.enrollment(learner, course))
        if eid is None:
            return
        chapter = scene.chapters[index % len(scene.chapters)]
        self.run(self._own(learner, lambda tx: complete_chapter(tx, eid, chapter)))

    @rule(
        learner=st.integers(0, LEARNERS - 1),
        course=st.sampled_from(["solo", "part_two"]),
        index=st.integers(0, 1),
        choice=st.integers(0, 1),
    )
    def answer(self, learner: int, course: str, index: int, choice: int) -> None:
        scene = self.courses[course]
        eid = self.run(self.enrollment(learner, course))
        if eid is None:
            return
        question = scene.questions[index % len(scene.questions)]
        self.run(self._own(learner, lambda tx: answer_quiz(tx, eid, question, choice)))

    @rule(learner=st.integers(0, LEARNERS - 1), session=st.integers(0, 1))
    def take_a_seat(self, learner: int, session: int) -> None:
        session_id = self.courses["ilt"].sessions[session]
        self.run(self._own(learner, lambda tx: enroll_in_session(tx, session_id)))

    @rule(
        data=st.data(),
        learners=st.lists(st.integers(0, LEARNERS - 1), min_size=1, max_size=4, unique=True),
        dry_run=st.booleans(),
    )
    def act_in_ilt(self, data: st.DataObject, learners: list[int], dry_run: bool) -> None:
        """Admins' actions on ILT learners, in the order drawn (seats go in that order)."""
        key = data.draw(st.sampled_from(ILT_ACTIONS), label="action")
        sessions = self.courses["ilt"].sessions
        session = st.sampled_from([to_global_id("Session", pk) for pk in sessions])
        params: dict[str, Any] = {}
        if key == "change_session":
            params = {"sessionId": data.draw(session), "allowClash": data.draw(st.booleans())}
        elif key == "mark_no_show":
            params = {"message": data.draw(st.none() | st.just("We missed you."))}
        elif key == "mark_incomplete":
            params = {"sessionId": data.draw(st.none() | session)}
        elif key == "remove":
            params = {"scope": data.draw(st.sampled_from(["COURSE", "SESSION", "BOTH"]))}
        elif key == "update_due_date":
            params = {"dueDate": (dt.date.today() + dt.timedelta(days=9)).isoformat()}
        self._admin_runs(key, learners, "ilt", params, dry_run)

    async def _own(self, learner: int, step: Callable[[Any], Awaitable[Any]]) -> None:
        """The learner's own step; a refusal (completed attempt, not assigned) is fine."""
        try:
            async with write(self.lms, await self.viewer(self.learners[learner])) as tx:
                await step(tx)
        except LMSError:
            pass

    @rule(
        data=st.data(),
        learners=st.sets(st.integers(0, LEARNERS - 1), min_size=1),
        course=st.sampled_from(["solo", "part_one", "part_two", "path"]),
        dry_run=st.booleans(),
    )
    def act(self, data: st.DataObject, learners: set[int], course: str, dry_run: bool) -> None:
        key = data.draw(st.sampled_from(self.runnable), label="action")
        params: dict[str, Any] = {}
        if key == "update_due_date":
            params["dueDate"] = data.draw(
                st.none() | st.just((dt.date.today() + dt.timedelta(days=9)).isoformat())
            )
        self._admin_runs(key, sorted(learners), course, params, dry_run)

    def _admin_runs(
        self, key: str, learners: list[int], course: str, params: dict[str, Any], dry_run: bool
    ) -> None:
        ids = [eid for i in learners if (eid := self.run(self.enrollment(i, course))) is not None]
        if not ids:
            return
        before = self.run(self._counts()) if dry_run else None
        result = self.run(
            run_action(
                self.lms,
                self.run(self.viewer(self.admin)),
                ActionRequest(key, enrollment_ids=ids, params=params, dry_run=dry_run),
            )
        )
        assert [eid for eid, _ in result.outcomes] == ids
        if dry_run:
            assert self.run(self._counts()) == before, f"dry run of {key} wrote something"
            return
        writes_history = self.lms.actions[key].summary is not None
        for eid, outcome in result.outcomes:
            if key == "remove" and outcome.status is OutcomeStatus.OK:
                for pair in [pair for pair in self.expected if pair[0] == eid]:
                    del self.expected[pair]
            elif outcome.status is OutcomeStatus.OK and writes_history:
                self.expected[eid, key] += 1

    async def _counts(self) -> dict[str, Any]:
        async with self.lms.db.reader() as conn:
            return {
                table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in (
                    "history",
                    "attempts",
                    "chapter_progress",
                    "certificates",
                    "enrollments",
                    "ilt_seats",
                    "notifications",
                )
            } | {
                "states": sorted(
                    (
                        await conn.execute(
                            select(m.Attempt.id, m.Attempt.state, m.Attempt.progress)
                        )
                    ).all()
                )
            }

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def state_matches_the_attempt(self) -> None:
        self.run(self._check_states())

    async def _check_states(self) -> None:
        completed_chapters = (
            select(func.count())
            .where(
                m.ChapterProgress.attempt_id == m.Attempt.id,
                m.ChapterProgress.status == "COMPLETED",
            )
            .scalar_subquery()
        )
        answered = (
            select(func.count())
            .select_from(m.QuizAnswer)
            .where(m.QuizAnswer.attempt_id == m.Attempt.id)
            .scalar_subquery()
        )
        total = (
            select(func.count())
            .where(m.Chapter.course_id == m.Enrollment.course_id)
            .scalar_subquery()
        )
        chapters_progress = (
            select(func.coalesce(func.sum(m.ChapterProgress.progress), 0))
            .where(m.ChapterProgress.attempt_id == m.Attempt.id)
            .scalar_subquery()
        )
        query = (
            select(
                m.Enrollment.id,
                m.Course.kind,
                m.Course.course_type,
                m.Attempt.state,
                m.Attempt.progress,
                m.Attempt.started_at,
                m.Attempt.completed_at,
                completed_chapters.label("done"),
                answered.label("answered"),
                total.label("total"),
                chapters_progress.label("chapters_progress"),
            )
            .join(m.Course, m.Course.id == m.Enrollment.course_id)
            .join(
                m.Attempt,
                (m.Attempt.enrollment_id == m.Enrollment.id)
                & (m.Attempt.number == m.Enrollment.attempt_number),
            )
            .where(m.Enrollment.unassigned_at.is_(None))
        )
        async with self.lms.db.reader() as conn:
            rows = (await conn.execute(query)).all()
        for row in rows:
            where = f"enrollment {row.id}: {row}"
            assert (row.state is LearnerState.COMPLETED) == (row.completed_at is not None), where
            assert 0 <= row.progress <= 100, where
            if row.state is LearnerState.COMPLETED:
                assert row.progress == 100, where
                continue
            if row.kind.value != "COURSE" or row.course_type != "self_paced":
                continue  # curricula follow their courses; ILT: see seats_match_states
            expected = self_paced_status(_progress(row))
            assert (row.state, row.progress) == (expected.state, expected.progress), where

    @invariant()
    def seats_never_over_capacity(self) -> None:
        taken = text(
            "SELECT s.id, s.capacity, COUNT(t.id) AS taken FROM ilt_sessions s "
            "LEFT JOIN ilt_seats t ON t.session_id = s.id "
            "AND t.status IN ('enrolled', 'attended', 'incomplete') GROUP BY s.id, s.capacity"
        )
        for row in self.run(self._all(taken)):
            assert row.taken <= row.capacity, f"session {row.id}: {row.taken} seats taken"
        open_seats = text(
            "SELECT attempt_id FROM ilt_seats WHERE status IN ('enrolled', 'waitlisted') "
            "GROUP BY attempt_id HAVING COUNT(*) > 1"
        )
        assert self.run(self._all(open_seats)) == [], "an attempt holds two open seats"

    @invariant()
    def seats_match_states(self) -> None:
        query = text(
            "SELECT e.id, a.state, a.completed_at, EXISTS (SELECT 1 FROM ilt_seats t "
            "WHERE t.attempt_id = a.id AND t.status = 'enrolled') AS seated "
            "FROM enrollments e JOIN courses c ON c.id = e.course_id "
            "JOIN attempts a ON a.enrollment_id = e.id AND a.number = e.attempt_number "
            "WHERE c.course_type = 'ilt' AND e.unassigned_at IS NULL"
        )
        for row in self.run(self._all(query)):
            if row.completed_at is not None:
                continue
            expected = "ENROLLED_IN_SESSION" if row.seated else "NOT_STARTED"
            assert str(row.state) == expected, f"ILT enrollment {row.id}: {row}"

    @invariant()
    def certificates_only_for_completed_attempts(self) -> None:
        query = text(
            "SELECT c.id, c.attempt_id, a.completed_at FROM certificates c "
            "LEFT JOIN attempts a ON a.id = c.attempt_id WHERE c.revoked_at IS NULL"
        )
        rows = self.run(self._all(query))
        for row in rows:
            assert row.completed_at is not None, f"certificate {row.id} of an open attempt"
        attempts = [row.attempt_id for row in rows]
        assert len(attempts) == len(set(attempts)), "two valid certificates for one attempt"

    @invariant()
    def no_orphan_rows(self) -> None:
        checks = {
            "attempts": "SELECT count(*) FROM attempts a LEFT JOIN enrollments e "
            "ON e.id = a.enrollment_id WHERE e.id IS NULL",
            "chapter_progress": "SELECT count(*) FROM chapter_progress p LEFT JOIN attempts a "
            "ON a.id = p.attempt_id WHERE a.id IS NULL",
            "quiz_answers": "SELECT count(*) FROM quiz_answers q LEFT JOIN attempts a "
            "ON a.id = q.attempt_id WHERE a.id IS NULL",
            "certificates": "SELECT count(*) FROM certificates c LEFT JOIN enrollments e "
            "ON e.id = c.enrollment_id WHERE e.id IS NULL",
            "history": "SELECT count(*) FROM history h LEFT JOIN enrollments e "
            "ON e.id = h.enrollment_id WHERE e.id IS NULL",
            "ilt_seats": "SELECT count(*) FROM ilt_seats t LEFT JOIN attempts a "
            "ON a.id = t.attempt_id WHERE a.id IS NULL",
        }
        for table, sql in checks.items():
            assert self.run(self._all(text(sql)))[0][0] == 0, f"orphan {table} rows"

    @invariant()
    def history_counts(self) -> None:
        query = select(m.HistoryEntry.enrollment_id, m.HistoryEntry.action, func.count()).group_by(
            m.HistoryEntry.enrollment_id, m.HistoryEntry.action
        )
        found = {(eid, key): count for eid, key, count in self.run(self._all(query))}
        exact = self.run(self._standalone_enrollments())
        for (eid, key), count in self.expected.items():
            got = found.get((eid, key), 0)
            if eid in exact:
                assert got == count, f"enrollment {eid}: {got} {key} entries, {count} expected"
            else:
                assert got >= count, f"enrollment {eid}: {got} {key} entries, {count} at least"
        for (eid, key), got in found.items():
            if key in self.mutations and eid in exact:
                assert got == self.expected[eid, key], f"enrollment {eid}: {got} {key} entries"

    async def _standalone_enrollments(self) -> set[int]:
        ids = [scene.course.id for scene in self.courses.values() if scene.standalone]
        async with self.lms.db.reader() as conn:
            return set(
                (
                    await conn.execute(
                        select(m.Enrollment.id).where(m.Enrollment.course_id.in_(ids))
                    )
                ).scalars()
            )

    async def _all(self, query: Any) -> list[Any]:
        async with self.lms.db.reader() as conn:
            return list((await conn.execute(query)).all())


def _progress(row: Any) -> LearnerProgress:
    """What the self-paced rule reads, from the invariant query (the rest unused)."""
    return LearnerProgress(
        enrollment_id=row.id,
        attempt_id=0,
        user_id=0,
        course_id=0,
        course_type="self_paced",
        course_kind=row.kind,
        attempt_number=0,
        started_at=row.started_at,
        completed_at=row.completed_at,
        chapters_total=row.total,
        chapters_started=0,
        chapters_completed=row.done,
        questions_total=0,
        questions_answered=row.answered,
        chapters_progress=row.chapters_progress,
    )


def _run(database_url: str, examples: int, steps: int) -> None:
    LearnerMachine.database_url = database_url
    run_state_machine_as_test(
        LearnerMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_learner_state_machine(database_url: str) -> None:
    _run(database_url, FAST_STEPS, 20)


@pytest.mark.slow
def test_learner_state_machine_long(database_url: str) -> None:
    _run(database_url, SLOW_STEPS, 40)
