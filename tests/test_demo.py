"""The demo seed (``lms-graph demo``): idempotent, every self-paced state, usable lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from lms_graph import models as m
from lms_graph.auth import issue_token
from lms_graph.core import LMS
from lms_graph.demo import (
    ADMIN_EMAIL,
    DEACTIVATED,
    INSTRUCTOR_EMAIL,
    LEARNERS,
    MAIN_COURSE,
    PLUGIN_COURSES,
    seed,
)
from tests.helpers import GraphQLClient

SELF_PACED_STATES = {"NOT_STARTED", "STARTED", "IN_PROGRESS", "COMPLETED"}
ACTIVE_LEARNERS = LEARNERS - DEACTIVATED

COURSES = """
{
  courses(first: 50) {
    edges { node { id title courseType learnerCounts { state count } } }
  }
}
"""

ILT_SESSIONS = """
query ($id: ID!) { course(id: $id) { sessions { title capacity seatsTaken } } }
"""

LEARNERS_PAGE = """
query ($id: ID!, $after: String) {
  course(id: $id) {
    learners(first: 100, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node { user { name email employeeId } state progress assignment dueDate }
      }
    }
  }
}
"""

COUNTED = [
    m.User,
    m.Course,
    m.CurriculumCourse,
    m.Chapter,
    m.Question,
    m.CourseInstructor,
    m.Enrollment,
    m.Attempt,
    m.ChapterProgress,
    m.QuizAnswer,
    m.HistoryEntry,
]


async def _counts(lms: LMS) -> dict[str, int]:
    async with lms.db.reader() as conn:
        return {
            model.__tablename__: (
                await conn.execute(select(func.count()).select_from(model))
            ).scalar_one()
            for model in COUNTED
        }


async def test_seed_is_idempotent(lms: LMS) -> None:
    admin = await seed(lms)
    assert (admin.email, admin.is_admin, admin.active) == (ADMIN_EMAIL, True, True)
    counts = await _counts(lms)
    assert counts["users"] == LEARNERS + 2
    # The instructor teaches the main course and the course of each plugin course type.
    plugin_courses = [key for key in PLUGIN_COURSES if key in lms.course_types]
    assert counts["course_instructors"] == 1 + len(plugin_courses)

    again = await seed(lms)
    assert again.id == admin.id
    assert await _counts(lms) == counts


async def test_demo_through_graphql(lms: LMS, gql: GraphQLClient) -> None:
    admin = await seed(lms)
    token = issue_token(lms.settings, admin.id)

    courses = {
        edge["node"]["title"]: edge["node"]
        for edge in (await gql.data(COURSES, token=token))["courses"]["edges"]
    }
    assert set(lms.course_types) <= {course["courseType"] for course in courses.values()}
    main = courses[MAIN_COURSE]
    counts = {row["state"]: row["count"] for row in main["learnerCounts"]}
    assert {state for state, count in counts.items() if count > 0} == SELF_PACED_STATES
    assert sum(counts.values()) == ACTIVE_LEARNERS

    # The instructor manages the main course too.
    async with lms.db.reader() as conn:
        instructor_id = (
            await conn.execute(select(m.User.id).where(m.User.email == INSTRUCTOR_EMAIL))
        ).scalar_one()
    query = "query ($id: ID!) { course(id: $id) { learnerCounts { count } } }"
    data = await gql.data(query, {"id": main["id"]}, token=issue_token(lms.settings, instructor_id))
    assert sum(row["count"] for row in data["course"]["learnerCounts"]) == ACTIVE_LEARNERS

    # The admin pages through every learner of the main course, 100 at a time.
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(5):
        page = (await gql.data(LEARNERS_PAGE, {"id": main["id"], "after": after}, token=token))[
            "course"
        ]["learners"]
        assert page["totalCount"] == ACTIVE_LEARNERS
        assert len(page["edges"]) == (100 if not nodes else ACTIVE_LEARNERS - 100)
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(nodes) == ACTIVE_LEARNERS
    assert len({node["user"]["email"] for node in nodes}) == ACTIVE_LEARNERS
    assert {node["state"] for node in nodes} == SELF_PACED_STATES
    assert {node["assignment"] for node in nodes} == {"REQUIRED", "OPTIONAL"}
    progress: dict[str, set[int]] = {state: set() for state in SELF_PACED_STATES}
    for node in nodes:
        progress[node["state"]].add(node["progress"])
    assert progress["NOT_STARTED"] == {0}
    assert progress["COMPLETED"] == {100}
    today = dt.date.today().isoformat()
    due = [node["dueDate"] for node in nodes if node["assignment"] == "REQUIRED"]
    assert all(due), "every required learner has a due date"
    assert any(date < today for date in due), "some learners are overdue"
    assert any(date > today for date in due)
    assert all(node["dueDate"] is None for node in nodes if node["assignment"] == "OPTIONAL")

    # Each plugin course type's demo course has its 24 learners, filled by its plugin.
    for course_type, title in PLUGIN_COURSES.items():
        if course_type in lms.course_types:
            counts = {row["state"]: row["count"] for row in courses[title]["learnerCounts"]}
            assert sum(counts.values()) == 24, title
    if "ilt" in lms.course_types:
        ilt = courses[PLUGIN_COURSES["ilt"]]
        data = await gql.data(ILT_SESSIONS, {"id": ilt["id"]}, token=token)
        sessions = {
            session["title"]: (session["capacity"], session["seatsTaken"])
            for session in data["course"]["sessions"]
        }
        assert sessions == {"Tuesday morning": (3, 3), "Thursday afternoon (online)": (10, 2)}
        counts = {row["state"]: row["count"] for row in ilt["learnerCounts"]}
        assert counts["ENROLLED_IN_SESSION"] == 5
        assert counts["NOT_STARTED"] == 19  # two of them on the waitlist
