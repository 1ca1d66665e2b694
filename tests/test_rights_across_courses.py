"""Rights follow every row an action touches (CONTRACT section 11): an action on a
curriculum learner that writes to the member courses needs the viewer's rights over
each of them, else that learner's outcome is FORBIDDEN and nothing of it is written;
menus and dry runs agree with runs. Instructors see of a learner only what belongs to
courses they teach, credits included."""

from __future__ import annotations

import dataclasses
from typing import Any

from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.test_actions import complete_chapter, start
from tests.test_certificates import certificate_rows
from tests.test_mass_actions import MY_LEARNING, row_counts

RUN = """
mutation ($input: RunActionInput!) {
  runAction(input: $input) {
    succeeded skipped failed outcomes { enrollmentId status code message }
  }
}
"""
SEEN = """
query ($id: ID!) {
  enrollment(id: $id) {
    state progress history { action } availableActions { key }
  }
}
"""
CREDITS = "query ($id: ID!) { node(id: $id) { ... on User { credits } } }"


@dataclasses.dataclass
class Path:
    """Curriculum "Path" of courses One and Two; Lena assigned to it (and so to both)."""

    admin: Actor
    learner: Actor
    curriculum: CourseRecord
    one: CourseRecord
    two: CourseRecord
    enrollment: str
    members: dict[str, str]


async def path(gql: GraphQLClient, world: World) -> Path:
    admin = await world.admin()
    one = await world.course("One", chapters=2, credits=1.0)
    two = await world.course("Two", chapters=2, credits=2.0)
    curriculum = await world.curriculum("Path", [one, two])
    learner = await world.user("Lena")
    [pk] = await world.assign(curriculum, [learner], by=admin)
    mine = await gql.data(MY_LEARNING, token=learner.token)
    by_course = {e["node"]["course"]["id"]: e["node"]["id"] for e in mine["myLearning"]["edges"]}
    members = {"one": by_course[gid("Course", one.id)], "two": by_course[gid("Course", two.id)]}
    return Path(admin, learner, curriculum, one, two, gid("Enrollment", pk), members)


async def run(
    gql: GraphQLClient, actor: Actor, action: str, ids: list[str], **extra: Any
) -> dict[str, Any]:
    data = await gql.data(
        RUN, {"input": {"action": action, "enrollmentIds": ids, **extra}}, token=actor.token
    )
    result: dict[str, Any] = data["runAction"]
    return result


async def seen(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    return (await gql.data(SEEN, {"id": enrollment_id}, token=viewer.token))["enrollment"]


def keys(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


async def snapshot(gql: GraphQLClient, p: Path, lms: LMS) -> Any:
    return (
        await seen(gql, p.enrollment, p.admin),
        [await seen(gql, eid, p.admin) for eid in p.members.values()],
        await row_counts(lms),
        await certificate_rows(lms),
    )


async def test_an_instructor_of_the_curriculum_only_may_not_complete_or_reset_its_courses(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    """The issue's case: instructor of the curriculum, not of its courses."""
    p = await path(gql, world)
    instructor = await world.user("Ines")
    await world.instructor(p.curriculum, instructor)
    await start(gql, p.two, p.learner)
    await complete_chapter(gql, p.two, p.learner, p.members["two"])
    before = await snapshot(gql, p, lms)

    for action in ("mark_complete", "reset_progress"):
        for dry_run in (True, False):
            result = await run(gql, instructor, action, [p.enrollment], dryRun=dry_run)
            [outcome] = result["outcomes"]
            assert (outcome["status"], outcome["code"]) == ("SKIPPED", "FORBIDDEN"), action
            assert "courses you do not manage" in outcome["message"]
            assert (result["succeeded"], result["skipped"]) == (0, 1)
        assert await snapshot(gql, p, lms) == before, action

    # The menu agrees: neither is offered to this instructor; the admin has both.
    menu = keys(await seen(gql, p.enrollment, instructor))
    assert "mark_complete" not in menu
    assert "reset_progress" not in menu
    assert "update_due_date" in menu  # writes to the curriculum's own row only
    admin_menu = keys(await seen(gql, p.enrollment, p.admin))
    assert {"mark_complete", "reset_progress"} <= set(admin_menu)
    # ... and so does a page of the curriculum's learners.
    page = await gql.data(
        "query ($id: ID!) { course(id: $id) { learners(first: 10) { edges { node { "
        "availableActions { key } } } } } }",
        {"id": gid("Course", p.curriculum.id)},
        token=instructor.token,
    )
    [edge] = page["course"]["learners"]["edges"]
    assert keys(edge["node"]) == menu

    # Named by course and filter, the same.
    data = await gql.data(
        RUN,
        {"input": {"action": "mark_complete", "courseId": gid("Course", p.curriculum.id)}},
        token=instructor.token,
    )
    [outcome] = data["runAction"]["outcomes"]
    assert outcome["code"] == "FORBIDDEN"
    # What does not reach the member courses runs.
    result = await run(gql, instructor, "update_due_date", [p.enrollment], params={"dueDate": None})
    assert result["succeeded"] == 1
    assert await certificate_rows(lms) == 0


async def test_rights_are_needed_only_over_the_courses_written_to(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    """Instructor of the curriculum and of One: Mark as Complete also writes to Two
    (refused) until Two is complete already; then it writes to One only (allowed)."""
    p = await path(gql, world)
    instructor = await world.user("Ines")
    await world.instructor(p.curriculum, instructor)
    await world.instructor(p.one, instructor)

    [outcome] = (await run(gql, instructor, "mark_complete", [p.enrollment]))["outcomes"]
    assert outcome["code"] == "FORBIDDEN"
    assert "mark_complete" not in keys(await seen(gql, p.enrollment, instructor))

    await run(gql, p.admin, "mark_complete", [p.members["two"]])
    assert "mark_complete" in keys(await seen(gql, p.enrollment, instructor))
    result = await run(gql, instructor, "mark_complete", [p.enrollment])
    assert result["succeeded"] == 1
    for eid in (p.enrollment, *p.members.values()):
        assert (await seen(gql, eid, p.admin))["state"] == "COMPLETED"
    assert await certificate_rows(lms) == 3
    # Reset would write to both courses again: Two is not this instructor's.
    [outcome] = (await run(gql, instructor, "reset_progress", [p.enrollment]))["outcomes"]
    assert outcome["code"] == "FORBIDDEN"


async def test_one_forbidden_learner_leaves_the_others_of_the_run_alone(
    gql: GraphQLClient, world: World
) -> None:
    """Per learner: a mass run over a curriculum's learners acts on those whose member
    courses the viewer teaches and refuses the others."""
    p = await path(gql, world)
    instructor = await world.user("Ines")
    for course in (p.curriculum, p.one):
        await world.instructor(course, instructor)
    other = await world.user("Otto")
    [pk] = await world.assign(p.curriculum, [other], by=p.admin)
    # Otto finished Two already: completing his curriculum writes to One only.
    mine = await gql.data(MY_LEARNING, token=other.token)
    [two_of_other] = [
        e["node"]["id"]
        for e in mine["myLearning"]["edges"]
        if e["node"]["course"]["id"] == gid("Course", p.two.id)
    ]
    await run(gql, p.admin, "mark_complete", [two_of_other])
    result = await run(gql, instructor, "mark_complete", [p.enrollment, gid("Enrollment", pk)])
    assert [(o["status"], o["code"]) for o in result["outcomes"]] == [
        ("SKIPPED", "FORBIDDEN"),
        ("OK", None),
    ]
    assert (await seen(gql, p.enrollment, p.admin))["state"] == "NOT_STARTED"
    assert (await seen(gql, gid("Enrollment", pk), p.admin))["state"] == "COMPLETED"


async def test_an_instructor_sees_the_credits_of_their_own_courses_only(
    gql: GraphQLClient, world: World
) -> None:
    p = await path(gql, world)
    elsewhere = await world.course("Elsewhere", credits=4.0)
    await world.assign(elsewhere, [p.learner], by=p.admin)
    ines, otto = await world.user("Ines"), await world.user("Otto")
    await world.instructor(p.one, ines)
    await world.instructor(p.curriculum, otto)
    await world.instructor(elsewhere, otto)
    ids = [p.enrollment, *p.members.values()]
    await run(gql, p.admin, "mark_complete", ids)
    [elsewhere_id] = (
        await gql.data(
            "query ($id: ID!) { course(id: $id) { learners { edges { node { id } } } } }",
            {"id": gid("Course", elsewhere.id)},
            token=p.admin.token,
        )
    )["course"]["learners"]["edges"]
    await run(gql, p.admin, "mark_complete", [elsewhere_id["node"]["id"]])

    async def credits(viewer: Actor) -> float:
        data = await gql.data(CREDITS, {"id": p.learner.id}, token=viewer.token)
        value: float = data["node"]["credits"]
        return value

    # One (1) + Two (2) + Elsewhere (4); the curriculum itself carries none.
    assert await credits(p.admin) == 7.0
    assert await credits(p.learner) == 7.0
    assert await credits(ines) == 1.0
    assert await credits(otto) == 4.0
    # Through a page of learners too.
    page = await gql.data(
        "query ($id: ID!) { course(id: $id) { learners { edges { node { user { credits } } } } } }",
        {"id": gid("Course", p.one.id)},
        token=ines.token,
    )
    assert page["course"]["learners"]["edges"] == [{"node": {"user": {"credits": 1.0}}}]
