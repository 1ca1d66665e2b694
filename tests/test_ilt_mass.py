"""ILT mass actions (CONTRACT section 5): add or move many learners into a session
(seats in the order asked, the rest SESSION_FULL), mark incomplete in a session,
remove with each scope, mark complete; set-based, one transaction, dry runs, and
capacity under two administrators acting at once."""

from __future__ import annotations

import asyncio
import datetime as dt

from lms_graph.core import LMS
from tests.helpers import GraphQLClient, StatementCounter, World, gid
from tests.test_actions import run, run_error
from tests.test_ilt_sessions import (
    SOON,
    change_session,
    ilt_course,
    learner,
    learners,
    new_session,
    seat_rows,
    statuses,
    taken,
)


async def test_many_learners_get_seats_in_the_order_asked(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=3)
    everyone = await learners(world, course, admin, 5)
    ids = [eid for _, eid in everyone]
    asked = list(reversed(ids))
    assert await taken(gql, session["id"], admin) == 0
    result = await change_session(gql, admin, asked, session["id"])
    assert (result["succeeded"], result["skipped"], result["failed"]) == (3, 2, 0)
    assert [o["enrollmentId"] for o in result["outcomes"]] == asked
    assert statuses(result) == [("OK", None)] * 3 + [("SKIPPED", "SESSION_FULL")] * 2
    assert await taken(gql, session["id"], admin) == 3
    for enrollment_id in asked[:3]:
        assert (await learner(gql, enrollment_id, admin))["state"] == "ENROLLED_IN_SESSION"
    for enrollment_id in asked[3:]:
        seen = await learner(gql, enrollment_id, admin)
        assert (seen["state"], seen["session"]) == ("NOT_STARTED", None)
        assert not [h for h in seen["history"] if h["action"] == "change_session"]


async def test_mass_move_between_sessions(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    old = await new_session(gql, admin, course, title="Old", capacity=4)
    new = await new_session(
        gql, admin, course, title="New", capacity=3, starts=SOON + dt.timedelta(days=1)
    )
    everyone = [eid for _, eid in await learners(world, course, admin, 5)]
    await change_session(gql, admin, everyone[:4], old["id"])
    assert (await taken(gql, old["id"], admin), await taken(gql, new["id"], admin)) == (4, 0)
    # Four seated learners and one without a seat, into a three-seat session.
    result = await change_session(gql, admin, everyone, new["id"])
    assert statuses(result) == [("OK", None)] * 3 + [("SKIPPED", "SESSION_FULL")] * 2
    assert result["outcomes"][0]["message"].startswith("Moved to New")
    assert (await taken(gql, old["id"], admin), await taken(gql, new["id"], admin)) == (1, 3)
    assert (await learner(gql, everyone[3], admin))["session"]["title"] == "Old"


async def test_mass_change_session_by_filter_and_dry_run(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=2)
    everyone = [eid for _, eid in await learners(world, course, admin, 3)]
    dry = await change_session(gql, admin, everyone, session["id"], dry_run=True)
    assert dry["dryRun"] is True
    assert statuses(dry) == [("OK", None)] * 2 + [("SKIPPED", "SESSION_FULL")]
    assert await taken(gql, session["id"], admin) == 0
    assert await seat_rows(lms) == 0
    data = await gql.data(
        """
        mutation ($input: RunActionInput!) {
          runAction(input: $input) { succeeded skipped outcomes { status code } }
        }
        """,
        {
            "input": {
                "action": "change_session",
                "courseId": gid("Course", course.id),
                "filter": {"states": ["NOT_STARTED"]},
                "params": {"sessionId": session["id"]},
            }
        },
        token=admin.token,
    )
    assert (data["runAction"]["succeeded"], data["runAction"]["skipped"]) == (2, 1)
    assert await taken(gql, session["id"], admin) == 2


async def test_a_bad_session_refuses_the_whole_run(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    everyone = [eid for _, eid in await learners(world, course, admin, 3)]
    error = await run_error(
        gql, admin, "change_session", everyone, params={"sessionId": gid("Session", 31_337)}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "no session" in error["message"]
    assert await seat_rows(lms) == 0


async def test_mass_mark_complete_then_incomplete_in_a_session(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=4)
    other = await new_session(gql, admin, course, title="Other", starts=SOON + dt.timedelta(days=1))
    everyone = [eid for _, eid in await learners(world, course, admin, 4)]
    await change_session(gql, admin, everyone[:3], session["id"])
    await change_session(gql, admin, everyone[3:], other["id"])
    result = await run(gql, admin, "mark_complete", everyone)
    assert result["succeeded"] == 4
    assert (await taken(gql, session["id"], admin), await taken(gql, other["id"], admin)) == (3, 1)
    for enrollment_id in everyone:
        seen = await learner(gql, enrollment_id, admin)
        assert seen["state"] == "COMPLETED"
        assert [s["status"] for s in seen["sessionSeats"]] == ["ATTENDED"]

    result = await run(gql, admin, "mark_incomplete", everyone, params={"sessionId": session["id"]})
    assert statuses(result) == [("OK", None)] * 3 + [("SKIPPED", "NOT_IN_SESSION")]
    for enrollment_id in everyone[:3]:
        seen = await learner(gql, enrollment_id, admin)
        assert seen["state"] == "NOT_STARTED"
        assert [s["status"] for s in seen["sessionSeats"]] == ["INCOMPLETE"]
    assert (await learner(gql, everyone[3], admin))["state"] == "COMPLETED"
    # Incomplete seats still took their place in the session.
    assert await taken(gql, session["id"], admin) == 3


async def test_mass_remove_with_each_scope(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=6)
    everyone = [eid for _, eid in await learners(world, course, admin, 7)]
    await change_session(gql, admin, everyone[:6], session["id"])
    assert await taken(gql, session["id"], admin) == 6

    # SESSION: two seated learners and one without a seat.
    result = await run(
        gql, admin, "remove", [everyone[0], everyone[1], everyone[6]], params={"scope": "SESSION"}
    )
    assert statuses(result) == [("OK", None), ("OK", None), ("SKIPPED", "NO_SESSION")]
    assert await taken(gql, session["id"], admin) == 4
    for enrollment_id in (everyone[0], everyone[1]):
        assert (await learner(gql, enrollment_id, admin))["state"] == "NOT_STARTED"
    # BOTH and COURSE: the learners and their seats go.
    result = await run(gql, admin, "remove", everyone[2:4], params={"scope": "BOTH"})
    assert result["succeeded"] == 2
    assert await taken(gql, session["id"], admin) == 2
    result = await run(gql, admin, "remove", everyone[4:6], params={"scope": "COURSE"})
    assert result["succeeded"] == 2
    assert await taken(gql, session["id"], admin) == 0
    for enrollment_id in everyone[2:6]:
        assert await learner(gql, enrollment_id, admin) is None
    assert await seat_rows(lms) == 0


async def test_mass_change_session_costs_the_same_statements_for_5_or_50(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    small = await new_session(gql, admin, course, title="Small", capacity=100)
    large = await new_session(
        gql, admin, course, title="Large", capacity=100, starts=SOON + dt.timedelta(days=1)
    )
    everyone = [eid for _, eid in await learners(world, course, admin, 55)]

    async def count(ids: list[str], session_id: str) -> int:
        statements.reset()
        result = await change_session(gql, admin, ids, session_id)
        assert result["succeeded"] == len(ids)
        return statements.count

    assert await count(everyone[:5], small["id"]) == await count(everyone[5:], large["id"])
    # Moves (a seat left behind, the waitlist checked) cost the same for 5 or 50 too.
    assert await count(everyone[:5], large["id"]) == await count(everyone[5:], small["id"])


async def test_two_admins_filling_the_last_seat_at_once(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    other_admin = await world.admin("Second admin")
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1)
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    first, second = await asyncio.gather(
        change_session(gql, admin, [anna_id], session["id"]),
        change_session(gql, other_admin, [ben_id], session["id"]),
    )
    assert sorted(statuses(first) + statuses(second), key=str) == sorted(
        [("OK", None), ("SKIPPED", "SESSION_FULL")], key=str
    )
    assert await taken(gql, session["id"], admin) == 1
    assert await seat_rows(lms) == 1


async def test_opposite_moves_at_once_both_succeed(gql: GraphQLClient, world: World) -> None:
    """Two runs moving learners between the same two sessions in opposite directions lock
    both sessions in the same order: they queue, neither deadlocks."""
    admin = await world.admin()
    other_admin = await world.admin("Second admin")
    course = await ilt_course(world)
    east = await new_session(gql, admin, course, title="East", capacity=2)
    west = await new_session(
        gql, admin, course, title="West", capacity=2, starts=SOON + dt.timedelta(days=1)
    )
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id], east["id"])
    await change_session(gql, admin, [ben_id], west["id"])
    for _ in range(3):
        first, second = await asyncio.gather(
            change_session(gql, admin, [anna_id], west["id"]),
            change_session(gql, other_admin, [ben_id], east["id"]),
        )
        assert statuses(first) + statuses(second) == [("OK", None), ("OK", None)]
        anna_id, ben_id = ben_id, anna_id
    assert (await taken(gql, east["id"], admin), await taken(gql, west["id"], admin)) == (1, 1)


async def test_learner_and_admin_seating_the_same_learner_at_once(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    east = await new_session(gql, admin, course, title="East", capacity=3)
    west = await new_session(
        gql, admin, course, title="West", capacity=3, starts=SOON + dt.timedelta(days=1)
    )
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    own, by_admin = await asyncio.gather(
        gql(
            "mutation ($id: ID!) { enrollInSession(sessionId: $id) { id } }",
            {"id": east["id"]},
            token=lena.token,
        ),
        change_session(gql, admin, [lena_id], west["id"]),
    )
    assert not own.get("errors"), own
    # Whichever came second acted on what the first had done (or, for the admin's run,
    # found her STALE): she holds exactly one seat either way, never two.
    assert statuses(by_admin) in ([("OK", None)], [("SKIPPED", "STALE")])
    assert await seat_rows(lms) == 1
    assert (await learner(gql, lena_id, admin))["state"] == "ENROLLED_IN_SESSION"
