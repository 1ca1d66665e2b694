"""The plugin in a running lms-graph: course type, field, mutation, action, mass action,
state rule and the reaction to Remove User, all over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from lms_graph import LMS, decode_id
from lms_graph.plugin_manager import installed_plugins
from sqlalchemy import func, select

import lms_attendance

from conftest import GraphQL, run_command

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


async def _world(gql: GraphQL, admin: str, learners: int = 2) -> tuple[str, list[str], list[str]]:
    """An external training with ``learners`` assigned: (course ID, enrollment IDs, tokens)."""
    course = (
        await gql.data(CREATE_COURSE, admin, title="Partner webinar", type=lms_attendance.KEY)
    )["createCourse"]["id"]
    users = [
        (await gql.data(CREATE_USER, admin, name=f"Learner {n}", email=f"l{n}@example.com"))[
            "createUser"
        ]["id"]
        for n in range(learners)
    ]
    enrollments = [
        e["id"]
        for e in (await gql.data(ASSIGN, admin, course=course, users=users))["assignCourse"][
            "enrollments"
        ]
    ]
    tokens = [gql.token_for(decode_id(user, "User")) for user in users]
    return course, enrollments, tokens


async def _proof_rows(lms: LMS) -> int:
    async with lms.db.reader() as conn:
        count: int = (
            await conn.execute(select(func.count()).select_from(lms_attendance.proofs))
        ).scalar_one()
    return count


def test_loaded_through_its_entry_point(lms: LMS) -> None:
    entry_point = installed_plugins()["attendance"]
    assert entry_point.value == "lms_attendance"
    assert entry_point.dist is not None
    assert entry_point.dist.name == "lms-attendance"
    assert lms.pm.get_plugin("attendance") is lms_attendance
    assert lms_attendance.KEY in lms.course_types
    assert "approve_attendance" in lms.actions


async def test_course_type_is_listed(gql: GraphQL, admin_token: str) -> None:
    data = await gql.data("{ courseTypes { key label } }", admin_token)
    keys = [t["key"] for t in data["courseTypes"]]
    assert lms_attendance.KEY in keys
    assert "self_paced" in keys


async def test_mass_actions_of_its_course_type(gql: GraphQL, admin_token: str) -> None:
    ours = (await gql.data(CREATE_COURSE, admin_token, title="Webinar", type=lms_attendance.KEY))[
        "createCourse"
    ]
    other = (await gql.data(CREATE_COURSE, admin_token, title="Basics", type="self_paced"))[
        "createCourse"
    ]
    assert [a["key"] for a in ours["massActions"]] == [
        "approve_attendance",
        "update_due_date",
        "mark_complete",
        "remove",
    ]
    other_keys = [a["key"] for a in other["massActions"]]
    assert "approve_attendance" not in other_keys
    assert "reset_progress" in other_keys  # the default list


async def test_proof_field_mutation_and_approval(gql: GraphQL, admin_token: str) -> None:
    _, (first, second), (learner, _) = await _world(gql, admin_token)
    before = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert before["attendanceProof"] is None
    assert before["state"] == "NOT_STARTED"
    assert "approve_attendance" not in [a["key"] for a in before["availableActions"]]

    # The learner submits a proof: the state rule makes it meaningful progress.
    submitted = await gql.data(SUBMIT, learner, enrollment=first, url="https://partner.example/c/1")
    assert submitted["submitAttendanceProof"] == {
        "proofUrl": "https://partner.example/c/1",
        "status": "PENDING",
    }
    pending = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert pending["state"] == "IN_PROGRESS"
    assert pending["progress"] == 50
    assert pending["attendanceProof"]["status"] == "PENDING"
    assert pending["attendanceProof"]["submittedAt"]
    menu = {a["key"]: a for a in pending["availableActions"]}
    assert menu["approve_attendance"]["params"] == [
        {"name": "comment", "type": "String", "required": False}
    ]

    # Only the learner submits their own proof, and only a link.
    other = await gql(SUBMIT, learner, enrollment=second, url="https://partner.example/c/2")
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await gql(SUBMIT, learner, enrollment=first, url="a photo")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    # The instructor approves from the learner's menu: the course is completed.
    run = await gql.data(
        RUN,
        admin_token,
        input={
            "action": "approve_attendance",
            "enrollmentIds": [first, second],
            "params": {"comment": "Certificate checked."},
        },
    )
    outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
    assert outcomes[first]["status"] == "OK"
    assert outcomes[second]["code"] == "NOT_APPLICABLE"  # no proof yet
    done = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert done["state"] == "COMPLETED"
    assert done["attendanceProof"]["status"] == "APPROVED"
    assert done["attendanceProof"]["reviewComment"] == "Certificate checked."
    assert done["attendanceProof"]["reviewedAt"]
    assert "approve_attendance" not in [a["key"] for a in done["availableActions"]]


async def test_mass_approval_by_course_and_filter(gql: GraphQL, admin_token: str) -> None:
    course, enrollments, tokens = await _world(gql, admin_token, learners=3)
    for enrollment, token in zip(enrollments[:2], tokens[:2], strict=True):
        await gql.data(SUBMIT, token, enrollment=enrollment, url="https://partner.example/p")
    run = await gql.data(
        RUN,
        admin_token,
        input={
            "action": "approve_attendance",
            "courseId": course,
            "filter": {"states": ["IN_PROGRESS"]},
        },
    )
    assert run["runAction"]["succeeded"] == 2
    states = [
        (await gql.data(ENROLLMENT, admin_token, id=e))["enrollment"]["state"] for e in enrollments
    ]
    assert states == ["COMPLETED", "COMPLETED", "NOT_STARTED"]


async def test_remove_deletes_its_rows(gql: GraphQL, admin_token: str, lms: LMS) -> None:
    _, (first, second), (one, two) = await _world(gql, admin_token)
    await gql.data(SUBMIT, one, enrollment=first, url="https://partner.example/1")
    await gql.data(SUBMIT, two, enrollment=second, url="https://partner.example/2")
    assert await _proof_rows(lms) == 2
    run: dict[str, Any] = await gql.data(
        RUN, admin_token, input={"action": "remove", "enrollmentIds": [first]}
    )
    assert run["runAction"]["succeeded"] == 1
    assert await _proof_rows(lms) == 1  # lms_on_removed deleted the removed learner's proof
    kept = (await gql.data(ENROLLMENT, admin_token, id=second))["enrollment"]
    assert kept["attendanceProof"]["proofUrl"] == "https://partner.example/2"


def test_schema_command_shows_the_plugin(
    environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sdl = run_command(capsys, "schema")
    assert "attendanceProof: AttendanceProof" in sdl
    assert "submitAttendanceProof(" in sdl


async def test_reset_and_unassign_delete_the_attempts_proof(
    gql: GraphQL, admin_token: str, lms: LMS
) -> None:
    _, (first, second), (one, two) = await _world(gql, admin_token)
    await gql.data(SUBMIT, one, enrollment=first, url="https://partner.example/1")
    await gql.data(SUBMIT, two, enrollment=second, url="https://partner.example/2")
    for action, enrollment in (("reset_progress", first), ("unassign", second)):
        run = await gql.data(
            RUN, admin_token, input={"action": action, "enrollmentIds": [enrollment]}
        )
        assert run["runAction"]["succeeded"] == 1, run
    assert await _proof_rows(lms) == 0  # lms_on_reset and lms_on_unassigned
    reset = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert reset["attendanceProof"] is None


def _keys(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


async def test_the_course_type_decides_its_menus(gql: GraphQL, admin_token: str) -> None:
    """``lms_withhold_actions``: while a proof awaits review, Mark as Complete is neither
    offered nor run (approve the proof instead); no chapter insights without chapters.
    The menu, the mass action's preview and its run agree."""
    course, (first, second), (one, _) = await _world(gql, admin_token)
    await gql.data(SUBMIT, one, enrollment=first, url="https://partner.example/1")
    pending = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert "mark_complete" not in _keys(pending)
    assert "approve_attendance" in _keys(pending)
    waiting = (await gql.data(ENROLLMENT, admin_token, id=second))["enrollment"]
    assert "mark_complete" in _keys(waiting)
    for menu in (_keys(pending), _keys(waiting)):
        assert "view_chapter_insights" not in menu  # an external training has no chapters

    for dry_run in (True, False):
        run = await gql.data(
            RUN,
            admin_token,
            input={"action": "mark_complete", "courseId": course, "dryRun": dry_run},
        )
        outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
        assert (outcomes[first]["status"], outcomes[first]["code"]) == ("SKIPPED", "PROOF_PENDING")
        assert outcomes[first]["message"] == lms_attendance.PROOF_PENDING.message
        assert outcomes[second]["status"] == "OK"
    assert (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]["state"] == (
        "IN_PROGRESS"
    )


HISTORY = "query ($id: ID!) { enrollment(id: $id) { completedAt history { action } } }"


async def test_withdrawing_an_approval_reopens_the_course(gql: GraphQL, admin_token: str) -> None:
    """The state rule re-opens a completion it decided (``reopen=True``); the core takes
    it back as Mark as Incomplete does, and the learner may submit again."""
    _, (first, second), (one, _) = await _world(gql, admin_token)
    await gql.data(SUBMIT, one, enrollment=first, url="https://partner.example/1")
    await gql.data(
        RUN, admin_token, input={"action": "approve_attendance", "enrollmentIds": [first]}
    )
    done = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert done["state"] == "COMPLETED"
    assert "withdraw_approval" in _keys(done)
    # Marked complete by an administrator (no approved proof): nothing to withdraw.
    await gql.data(RUN, admin_token, input={"action": "mark_complete", "enrollmentIds": [second]})
    marked = (await gql.data(ENROLLMENT, admin_token, id=second))["enrollment"]
    assert "withdraw_approval" not in _keys(marked)

    run = await gql.data(
        RUN,
        admin_token,
        input={
            "action": "withdraw_approval",
            "enrollmentIds": [first, second],
            "params": {"comment": "The certificate was for another course."},
        },
    )
    outcomes = {o["enrollmentId"]: o for o in run["runAction"]["outcomes"]}
    assert outcomes[first]["status"] == "OK"
    assert outcomes[second]["code"] == "NOT_APPLICABLE"
    back = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert (back["state"], back["progress"]) == ("STARTED", 0)
    assert back["attendanceProof"]["status"] == "WITHDRAWN"
    assert back["attendanceProof"]["reviewComment"] == "The certificate was for another course."
    history = (await gql.data(HISTORY, admin_token, id=first))["enrollment"]
    assert history["completedAt"] is None
    assert [h["action"] for h in history["history"]][-2:] == ["withdraw_approval", "reopened"]
    assert (await gql.data(ENROLLMENT, admin_token, id=second))["enrollment"]["state"] == (
        "COMPLETED"
    )

    # Open again: the learner submits a new proof, which awaits review.
    await gql.data(SUBMIT, one, enrollment=first, url="https://partner.example/1b")
    again = (await gql.data(ENROLLMENT, admin_token, id=first))["enrollment"]
    assert (again["state"], again["attendanceProof"]["status"]) == ("IN_PROGRESS", "PENDING")
