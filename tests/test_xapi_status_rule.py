"""The SCORM/xAPI status rule (plugins/scorm_xapi/progress.py ``decide``), case by case,
without a database: what the recorded facts of an attempt make of a learner."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from lms_graph import CourseKind, LearnerProgress, LearnerState, LearnerStatus
from lms_graph_plugins.scorm_xapi.progress import Facts, decide

S = LearnerState
LEARNER = LearnerProgress(
    enrollment_id=1,
    attempt_id=1,
    user_id=1,
    course_id=1,
    course_type="xapi",
    course_kind=CourseKind.COURSE,
    attempt_number=1,
    started_at=None,
    completed_at=None,
    chapters_total=4,
    chapters_started=0,
    chapters_completed=0,
    questions_total=0,
    questions_answered=0,
)
OPENED = dataclasses.replace(LEARNER, started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

CASES: list[tuple[str, LearnerProgress, Facts, LearnerStatus]] = [
    ("nothing recorded", LEARNER, Facts(), LearnerStatus(S.NOT_STARTED, 0)),
    ("opened in the app", OPENED, Facts(), LearnerStatus(S.STARTED, 0)),
    ("a launch statement", LEARNER, Facts(statements=1), LearnerStatus(S.STARTED, 0)),
    ("a CMI commit", LEARNER, Facts(has_cmi=True), LearnerStatus(S.STARTED, 0)),
    (
        "a meaningful verb",
        LEARNER,
        Facts(statements=2, meaningful=1),
        LearnerStatus(S.IN_PROGRESS, 0),
    ),
    (
        "one chapter of four",
        LEARNER,
        Facts(statements=1, meaningful=1, chapters_completed=1),
        LearnerStatus(S.IN_PROGRESS, 25),
    ),
    (
        "every chapter",
        LEARNER,
        Facts(statements=4, meaningful=4, chapters_completed=4),
        LearnerStatus(S.COMPLETED, 100),
    ),
    (
        "the course",
        LEARNER,
        Facts(statements=1, course_completed=True),
        LearnerStatus(S.COMPLETED, 100),
    ),
    (
        "reported progress wins over chapters",
        LEARNER,
        Facts(statements=2, meaningful=2, chapters_completed=1, reported_progress=60),
        LearnerStatus(S.IN_PROGRESS, 60),
    ),
    (
        "100% reported is not completion",
        LEARNER,
        Facts(statements=1, meaningful=1, reported_progress=100),
        LearnerStatus(S.IN_PROGRESS, 99),
    ),
    (
        "progress measure",
        LEARNER,
        Facts(has_cmi=True, progress_measure=0.456),
        LearnerStatus(S.IN_PROGRESS, 46),
    ),
    (
        "SCORM 1.2 passed",
        LEARNER,
        Facts(has_cmi=True, lesson_status="passed"),
        LearnerStatus(S.COMPLETED, 100),
    ),
    (
        "SCORM 1.2 not attempted",
        LEARNER,
        Facts(has_cmi=True, lesson_status="not attempted"),
        LearnerStatus(S.STARTED, 0),
    ),
    (
        "SCORM 2004 failed",
        LEARNER,
        Facts(has_cmi=True, completion_status="completed", success_status="failed"),
        LearnerStatus(S.COMPLETED, 100),
    ),
    (
        "suspend data",
        LEARNER,
        Facts(has_cmi=True, suspended=True),
        LearnerStatus(S.IN_PROGRESS, 0),
    ),
    (
        "a quiz answered in the app",
        dataclasses.replace(OPENED, questions_answered=1),
        Facts(),
        LearnerStatus(S.IN_PROGRESS, 0),
    ),
    (
        "a course without chapters is not complete by default",
        dataclasses.replace(LEARNER, chapters_total=0),
        Facts(statements=1),
        LearnerStatus(S.STARTED, 0),
    ),
]


@pytest.mark.parametrize(
    ("case", "learner", "facts", "expected"), CASES, ids=[case for case, *_ in CASES]
)
def test_status_rule(
    case: str, learner: LearnerProgress, facts: Facts, expected: LearnerStatus
) -> None:
    assert decide(learner, facts) == expected
