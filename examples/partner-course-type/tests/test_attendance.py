"""The plugin in a running lms-graph: course type, field, mutation, action, mass action,
state rule and the reaction to Remove User, all over HTTP."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from lms_graph import LMS
from lms_graph.testing import Command, GraphQLClient, Users
from sqlalchemy import func, select

import lms_attendance

CREATE_USER = """
mutation ($name: String!, $email: String!) {
  createUser(input: {name: $name, email: $email}) { id }
}"""
CREATE_COURSE = """
mutation ($title: String!, $type: String!) {
  createCourse(input: {title: $title, courseType: $type}) { id massActions { key } }
}"""
ASSIGN = """
mutation ($course: ID!, $users: [ID!]!) {
  assignCourse(input: {courseId: $course, userIds: $users}) { enrollments { id } }
}"""
SUBMIT = """
mutation ($enrollment: ID!, $url: String!) {
  submitAttendanceProof(enrollmentId: $enrollment, proofUrl: $url) { proofUrl status }
}"""
ENROLLMENT = """
query ($id: ID!) {
  enrollment(id: $id) {
    state progress
    attendanceProof { proofUrl status submittedAt reviewedAt reviewComment }
    availableActions { key params { name type required } }
  }
}"""
RUN = """
mutation ($input: RunActionInput!) {
  runAction(input: $input) { succeeded skipped outcomes { enrollmentId status code message } }
}"""


async def _world(
    lms_graphql: GraphQLClient, lms_users: Users, admin: str, learners: int = 2
) -> tuple[str, list[str], list[str]]:
    """An external training with ``learners`` assigned: (course ID, enrollment IDs, tokens)."""
    course = (
        await lms_graphql.data(
            CREATE_COURSE, {"title": "Partner webinar", "type": lms_attendance.KEY}, admin
        )
    )["createCourse"]["id"]
    users = [
        (
            await lms_graphql.data(
                CREATE_USER, {"name": f"Learner {n}", "email": f"l{n}@example.com"}, admin
            )
        )["createUser"]["id"]
        for n in range(learners)
    ]
    enrollments = [
        e["id"]
        for e in (await lms_graphql.data(ASSIGN, {"course": course, "users": users}, admin))[
            "assignCourse"
        ]["enrollments"]
    ]
    tokens = [lms_users.token(user) for user in users]
    return course, enrollments, tokens


async def _proof_rows(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        count: int = (
            await conn.execute(select(func.count()).select_from(lms_attendance.proofs))
        ).scalar_one()
    return count


def test_loaded_through_its_entry_point(lms: LMS) -> None:
    entry_point = entry_points(group="lms_graph")["attendance"]
    assert entry_point.value == "lms_attendance"
    assert entry_point.dist is not None
    assert entry_point.dist.name == "lms-attendance"
    assert lms.pm.get_plugin("attendance") is lms_attendance
    assert lms_attendance.KEY in lms.course_types
    assert "approve_attendance" in lms.actions


async def test_course_type_is_listed(lms_graphql: GraphQLClient, admin_token: str) -> None:
    data = await lms_graphql.data("{ courseTypes { key label } }", None, admin_token)
    keys = [t["key"] for t in data["courseTypes"]]
    assert lms_attendance.KEY in keys
    assert "self_paced" in keys


async def test_mass_actions_of_its_course_type(
    lms_graphql: GraphQLClient, admin_token: str
) -> None:
    ours = (
        await lms_graphql.data(
            CREATE_COURSE, {"title": "Webinar", "type": lms_attendance.KEY}, admin_token
        )
    )["createCourse"]
    other = (
        await lms_graphql.data(
            CREATE_COURSE, {"title": "Basics", "type": "self_paced"}, admin_token
        )
    )["createCourse"]
    assert [a["key"] for a in ours["massActions"]] == [
        "approve_attendance",
        "update_due_date",
        "mark_complete",
        "remove",
    ]
    other_keys = [a["key"] for a in other["massActions"]]
    assert "approve_attendance" not in other_keys
    assert "reset_progress" in other_keys  # the default list


async def test_proof_field_mutation_and_approval(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str
) -> None:
    _, (first, second), (learner, _) = await _world(lms_graphql, lms_users, admin_token)
    before = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert before["attendanceProof"] is None
    assert before["state"] == "NOT_STARTED"
    assert "approve_attendance" not in [a["key"] for a in before["availableActions"]]

    # The learner submits a proof: the state rule makes it meaningful progress.
    submitted = await lms_graphql.data(
        SUBMIT, {"enrollment": first, "url": "https://partner.example/c/1"}, learner
    )
    assert submitted["submitAttendanceProof"] == {
        "proofUrl": "https://partner.example/c/1",
        "status": "PENDING",
    }
    pending = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert pending["state"] == "IN_PROGRESS"
    assert pending["progress"] == 50
    assert pending["attendanceProof"]["status"] == "PENDING"
    assert pending["attendanceProof"]["submittedAt"]
    menu = {a["key"]: a for a in pending["availableActions"]}
    assert menu["approve_attendance"]["params"] == [
        {"name": "comment", "type": "String", "required": False}
    ]

    # Only the learner submits their own proof, and only a link.
    other = await lms_graphql(
        SUBMIT, {"enrollment": second, "url": "https://partner.example/c/2"}, learner
    )
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await lms_graphql(SUBMIT, {"enrollment": first, "url": "a photo"}, learner)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    # The instructor approves from the learner's menu: the course is completed.
    run = await lms_graphql.data(
        RUN,
        {
            "input": {
                "action": "approve_attendance",
                "enrollmentIds": [first, second],
                "params": {"comment": "Certificate checked."},
            }
        },
        admin_token,
    )
    outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
    assert outcomes[first]["status"] == "OK"
    assert outcomes[second]["code"] == "NOT_APPLICABLE"  # no proof yet
    done = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert done["state"] == "COMPLETED"
    assert done["attendanceProof"]["status"] == "APPROVED"
    assert done["attendanceProof"]["reviewComment"] == "Certificate checked."
    assert done["attendanceProof"]["reviewedAt"]
    assert "approve_attendance" not in [a["key"] for a in done["availableActions"]]


async def test_mass_approval_by_course_and_filter(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str
) -> None:
    course, enrollments, tokens = await _world(lms_graphql, lms_users, admin_token, learners=3)
    for enrollment, token in zip(enrollments[:2], tokens[:2], strict=True):
        await lms_graphql.data(
            SUBMIT, {"enrollment": enrollment, "url": "https://partner.example/p"}, token
        )
    run = await lms_graphql.data(
        RUN,
        {
            "input": {
                "action": "approve_attendance",
                "courseId": course,
                "filter": {"states": ["IN_PROGRESS"]},
            }
        },
        admin_token,
    )
    assert run["runAction"]["succeeded"] == 2
    states = [
        (await lms_graphql.data(ENROLLMENT, {"id": e}, admin_token))["enrollment"]["state"]
        for e in enrollments
    ]
    assert states == ["COMPLETED", "COMPLETED", "NOT_STARTED"]


async def test_remove_deletes_its_rows(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str, lms: LMS
) -> None:
    _, (first, second), (one, two) = await _world(lms_graphql, lms_users, admin_token)
    await lms_graphql.data(SUBMIT, {"enrollment": first, "url": "https://partner.example/1"}, one)
    await lms_graphql.data(SUBMIT, {"enrollment": second, "url": "https://partner.example/2"}, two)
    assert await _proof_rows(lms) == 2
    run: dict[str, Any] = await lms_graphql.data(
        RUN, {"input": {"action": "remove", "enrollmentIds": [first]}}, admin_token
    )
    assert run["runAction"]["succeeded"] == 1
    assert await _proof_rows(lms) == 1  # lms_on_removed deleted the removed learner's proof
    kept = (await lms_graphql.data(ENROLLMENT, {"id": second}, admin_token))["enrollment"]
    assert kept["attendanceProof"]["proofUrl"] == "https://partner.example/2"


def test_schema_command_shows_the_plugin(lms_cli: Command) -> None:
    sdl = lms_cli("schema")
    assert "attendanceProof: AttendanceProof" in sdl
    assert "submitAttendanceProof(" in sdl


async def test_the_readme_commands_with_the_plugin_installed(
    lms_cli: Command, lms_graphql: GraphQLClient
) -> None:
    """``lms-graph db upgrade``, ``create-admin`` and ``token``, as the README runs them:
    the token works on the service, which offers this plugin's course type."""
    lms_cli("db", "upgrade")
    lms_cli("create-admin", "admin@example.com")
    token = lms_cli("token", "admin@example.com").strip()
    data = await lms_graphql.data("{ courseTypes { key } }", None, token)
    assert lms_attendance.KEY in [t["key"] for t in data["courseTypes"]]


async def test_reset_and_unassign_delete_the_attempts_proof(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str, lms: LMS
) -> None:
    _, (first, second), (one, two) = await _world(lms_graphql, lms_users, admin_token)
    await lms_graphql.data(SUBMIT, {"enrollment": first, "url": "https://partner.example/1"}, one)
    await lms_graphql.data(SUBMIT, {"enrollment": second, "url": "https://partner.example/2"}, two)
    for action, enrollment in (("reset_progress", first), ("unassign", second)):
        run = await lms_graphql.data(
            RUN, {"input": {"action": action, "enrollmentIds": [enrollment]}}, admin_token
        )
        assert run["runAction"]["succeeded"] == 1, run
    assert await _proof_rows(lms) == 0  # lms_on_reset and lms_on_unassigned
    reset = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert reset["attendanceProof"] is None


def _keys(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


async def test_the_course_type_decides_its_menus(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str
) -> None:
    """``lms_withhold_actions``: while a proof awaits review, Mark as Complete is neither
    offered nor run (approve the proof instead); no chapter insights without chapters.
    The menu, the mass action's preview and its run agree."""
    course, (first, second), (one, _) = await _world(lms_graphql, lms_users, admin_token)
    await lms_graphql.data(SUBMIT, {"enrollment": first, "url": "https://partner.example/1"}, one)
    pending = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert "mark_complete" not in _keys(pending)
    assert "approve_attendance" in _keys(pending)
    waiting = (await lms_graphql.data(ENROLLMENT, {"id": second}, admin_token))["enrollment"]
    assert "mark_complete" in _keys(waiting)
    for menu in (_keys(pending), _keys(waiting)):
        assert "view_chapter_insights" not in menu  # an external training has no chapters

    for dry_run in (True, False):
        run = await lms_graphql.data(
            RUN,
            {"input": {"action": "mark_complete", "courseId": course, "dryRun": dry_run}},
            admin_token,
        )
        outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
        assert (outcomes[first]["status"], outcomes[first]["code"]) == ("SKIPPED", "PROOF_PENDING")
        assert outcomes[first]["message"] == lms_attendance.PROOF_PENDING.message
        assert outcomes[second]["status"] == "OK"
    assert (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"][
        "state"
    ] == ("IN_PROGRESS")


HISTORY = "query ($id: ID!) { enrollment(id: $id) { completedAt history { action } } }"


async def test_withdrawing_an_approval_reopens_the_course(
    lms_graphql: GraphQLClient, lms_users: Users, admin_token: str
) -> None:
    """The state rule re-opens a completion it decided (``reopen=True``); the core takes
    it back as Mark as Incomplete does, and the learner may submit again."""
    _, (first, second), (one, _) = await _world(lms_graphql, lms_users, admin_token)
    await lms_graphql.data(SUBMIT, {"enrollment": first, "url": "https://partner.example/1"}, one)
    await lms_graphql.data(
        RUN, {"input": {"action": "approve_attendance", "enrollmentIds": [first]}}, admin_token
    )
    done = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert done["state"] == "COMPLETED"
    assert "withdraw_approval" in _keys(done)
    # Marked complete by an administrator (no approved proof): nothing to withdraw.
    await lms_graphql.data(
        RUN, {"input": {"action": "mark_complete", "enrollmentIds": [second]}}, admin_token
    )
    marked = (await lms_graphql.data(ENROLLMENT, {"id": second}, admin_token))["enrollment"]
    assert "withdraw_approval" not in _keys(marked)

    run = await lms_graphql.data(
        RUN,
        {
            "input": {
                "action": "withdraw_approval",
                "enrollmentIds": [first, second],
                "params": {"comment": "The certificate was for another course."},
            }
        },
        admin_token,
    )
    outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
    assert outcomes[first]["status"] == "OK"
    assert outcomes[second]["code"] == "NOT_APPLICABLE"
    back = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert (back["state"], back["progress"]) == ("STARTED", 0)
    assert back["attendanceProof"]["status"] == "WITHDRAWN"
    assert back["attendanceProof"]["reviewComment"] == "The certificate was for another course."
    history = (await lms_graphql.data(HISTORY, {"id": first}, admin_token))["enrollment"]
    assert history["completedAt"] is None
    assert [h["action"] for h in history["history"]][-2:] == ["withdraw_approval", "reopened"]
    assert (await lms_graphql.data(ENROLLMENT, {"id": second}, admin_token))["enrollment"][
        "state"
    ] == ("COMPLETED")

    # Open again: the learner submits a new proof, which awaits review.
    await lms_graphql.data(SUBMIT, {"enrollment": first, "url": "https://partner.example/1b"}, one)
    again = (await lms_graphql.data(ENROLLMENT, {"id": first}, admin_token))["enrollment"]
    assert (again["state"], again["attendanceProof"]["status"]) == ("IN_PROGRESS", "PENDING")
