"""Random sequences of learner progress and actions, with the invariants checked after
every step (a hypothesis state machine, on both backends).

Steps: assign, start, complete a chapter, answer a question (the learner's own
progress), and any mutation action an admin may run, on one learner or on many
at once, for real or as a dry run, in every course type the scene holds
(self-paced now; ``COURSE_TYPES`` is where ILT and SCORM/xAPI courses plug in
with their own steps and invariants, e.g. seats never over capacity).

Invariants after each step:

- state matches the attempt: COMPLETED exactly when the attempt is completed,
  progress 100 then; a self-paced attempt that is not completed has the state
  and progress its chapters and answers give;
- a valid certificate only for a completed attempt, at most one per attempt;
- no orphan rows: attempts, progress, answers, certificates and history all
  belong to an enrollment that exists; a removed learner leaves nothing but the
  audit entry;
- history: every OK outcome wrote exactly one entry with the action's key for
  that learner (at least one for courses a curriculum also acts on); a dry run
  writes nothing.
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
from lms_graph.records import CourseRecord
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.services.learning import answer_quiz, complete_chapter, start_course
from lms_graph.services.tx import write
from lms_graph.values import ActionKind, LearnerProgress, LearnerState, OutcomeStatus
from plugins.self_paced import status as self_paced_status
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


COURSE_TYPES: list[Callable[[World], Awaitable[dict[str, SceneCourse]]]] = [_self_paced]
"""Scene builders, one per course type; ILT and SCORM/xAPI add theirs here."""


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
        course=st.sampled_from(["solo", "part_one", "part_two", "path"]),
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
        ids = [
            eid
            for i in sorted(learners)
            if (eid := self.run(self.enrollment(i, course))) is not None
        ]
        if not ids:
            return
        params: dict[str, Any] = {}
        if key == "update_due_date":
            params["dueDate"] = data.draw(
                st.none() | st.just((dt.date.today() + dt.timedelta(days=9)).isoformat())
            )
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
        query = (
            select(
                m.Enrollment.id,
                m.Course.kind,
                m.Attempt.state,
                m.Attempt.progress,
                m.Attempt.started_at,
                m.Attempt.completed_at,
                completed_chapters.label("done"),
                answered.label("answered"),
                total.label("total"),
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
            if row.kind.value != "COURSE":
                continue
            expected = self_paced_status(_progress(row))
            assert (row.state, row.progress) == (expected.state, expected.progress), where

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
