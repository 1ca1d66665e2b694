"""Progress shows the work done: the mean of the chapters' progress, so a learner who
answered part of a quiz is not at 0% (README, "Choices where the contract is silent")."""

from __future__ import annotations

import dataclasses
from typing import Any

from lms_graph import CourseKind, LearnerProgress
from tests.helpers import GraphQLClient, World, gid
from tests.test_learning import _answer, _chapters, _complete

LEARNERS = """
query ($id: ID!) { course(id: $id) {
  learners(first: 10, orderBy: {field: PROGRESS, direction: DESC}) {
    edges { node { id state progress user { name }
      chapterInsights { progress } } }
  }
} }
"""


async def _rows(gql: GraphQLClient, course_id: int, token: str) -> list[dict[str, Any]]:
    data = await gql.data(LEARNERS, {"id": gid("Course", course_id)}, token=token)
    return [edge["node"] for edge in data["course"]["learners"]["edges"]]


async def test_answered_questions_count_toward_their_chapter(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    quizzer, reader = await world.user("Quinn"), await world.user("Rita")
    course = await world.course(chapters=1, quiz=True)  # a content chapter, a 2-question quiz
    quinn_pk, rita_pk = await world.assign(course, [quizzer, reader], by=admin)
    content, quiz = await _chapters(gql, course, quizzer)
    first, second = (question["id"] for question in quiz["questions"])

    # Half the quiz answered, no chapter completed: in progress, a quarter of the course.
    half = await _answer(gql, quizzer, gid("Enrollment", quinn_pk), first, 1)
    assert (half["state"], half["progress"]) == ("IN_PROGRESS", 25)
    read = await _complete(gql, reader, gid("Enrollment", rita_pk), content["id"])
    assert (read["state"], read["progress"]) == ("IN_PROGRESS", 50)

    # The list agrees with Chapter Insights, and sorts by the same number.
    rows = await _rows(gql, course.id, admin.token)
    assert [(row["user"]["name"], row["progress"]) for row in rows] == [("Rita", 50), ("Quinn", 25)]
    for row in rows:
        chapters = [chapter["progress"] for chapter in row["chapterInsights"]]
        assert row["progress"] == round(sum(chapters) / len(chapters))

    more = await _complete(gql, quizzer, gid("Enrollment", quinn_pk), content["id"])
    assert (more["state"], more["progress"]) == ("IN_PROGRESS", 75)
    done = await _answer(gql, quizzer, gid("Enrollment", quinn_pk), second, 0)
    assert (done["state"], done["progress"]) == ("COMPLETED", 100)


def test_progress_short_of_completion_never_shows_100() -> None:
    """199 of 200 chapters is 99%, not a rounded 100% beside a course still open; a rule
    given no chapter progress (a plugin's own snapshot) counts completed chapters."""
    learner = LearnerProgress(
        enrollment_id=1,
        attempt_id=1,
        user_id=1,
        course_id=1,
        course_type="self_paced",
        course_kind=CourseKind.COURSE,
        attempt_number=1,
        started_at=None,
        completed_at=None,
        chapters_total=200,
        chapters_started=199,
        chapters_completed=199,
        questions_total=0,
        questions_answered=0,
    )
    assert learner.work_done == 99
    assert dataclasses.replace(learner, chapters_completed=200).work_done == 100
    assert dataclasses.replace(learner, chapters_total=4, chapters_completed=1).work_done == 25
    assert dataclasses.replace(learner, chapters_total=0).work_done == 0
