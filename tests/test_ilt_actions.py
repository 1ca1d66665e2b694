"""ILT learner actions, one learner at a time (CONTRACT section 5): change_session,
mark_no_show, mark_complete (attendance), mark_incomplete in a session, remove with
each scope, unassign; the waitlist moving up; the clash rule; permissions; View
History. Seat counts are checked before and after each."""

from __future__ import annotations

import datetime as dt

from lms_graph.core import LMS
from lms_graph_plugins.ilt.tables import seats
from tests.helpers import GraphQLClient, World, gid
from tests.test_actions import one_outcome, run, run_error
from tests.test_ilt_sessions import (
    ENROLL,
    NOTIFICATIONS,
    SOON,
    change_session,
    ilt_course,
    learner,
    learners,
    menu,
    new_session,
    seat_rows,
    statuses,
    taken,
)


async def test_change_session_adds_a_learner_without_a_seat(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=2)
    [(_, lena_id)] = await learners(world, course, admin, 1)
    assert await taken(gql, session["id"], admin) == 0
    result = await change_session(gql, admin, [lena_id], session["id"], note="Booked by phone.")
    outcome = one_outcome(result)
    assert outcome["status"] == "OK"
    assert outcome["message"].startswith("Added to Morning class (")
    assert outcome["enrollment"]["state"] == "ENROLLED_IN_SESSION"
    assert await taken(gql, session["id"], admin) == 1
    seen = await learner(gql, lena_id, admin)
    assert seen["session"]["id"] == session["id"]
    [line] = [h for h in seen["history"] if h["action"] == "change_session"]
    assert line["note"] == "Booked by phone."
    assert line["summary"].startswith("Enrolled in Morning class")


async def test_change_session_moves_a_learner_and_refuses_a_full_session(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    first = await new_session(gql, admin, course, title="First", capacity=1)
    second = await new_session(
        gql, admin, course, title="Second", capacity=1, starts=SOON + dt.timedelta(days=1)
    )
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id], first["id"])
    moved = await change_session(gql, admin, [anna_id], second["id"])
    assert one_outcome(moved)["message"].startswith("Moved to Second")
    assert (await taken(gql, first["id"], admin), await taken(gql, second["id"], admin)) == (0, 1)
    history = (await learner(gql, anna_id, admin))["history"]
    assert history[-1]["summary"].startswith("Moved from First (")

    full = await change_session(gql, admin, [ben_id], second["id"])
    assert statuses(full) == [("SKIPPED", "SESSION_FULL")]
    assert "is full: no seat left (capacity 1)" in one_outcome(full)["message"]
    assert (await learner(gql, ben_id, admin))["state"] == "NOT_STARTED"
    assert await taken(gql, second["id"], admin) == 1
    again = await change_session(gql, admin, [anna_id], second["id"])
    assert statuses(again) == [("SKIPPED", "ALREADY_IN_SESSION")]
    assert await seat_rows(lms) == 1


async def test_change_session_refuses_a_clash_unless_allowed(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    forklift = await ilt_course(world)
    first_aid = await ilt_course(world, "First aid")
    morning = await new_session(gql, admin, forklift, title="Forklift AM", hours=4)
    overlap = await new_session(
        gql, admin, first_aid, title="First aid AM", starts=SOON + dt.timedelta(hours=1)
    )
    lena = await world.user("Lena")
    [forklift_pk] = await world.assign(forklift, [lena], by=admin)
    [aid_pk] = await world.assign(first_aid, [lena], by=admin)
    await change_session(gql, admin, [gid("Enrollment", forklift_pk)], morning["id"])

    refused = await change_session(gql, admin, [gid("Enrollment", aid_pk)], overlap["id"])
    assert statuses(refused) == [("SKIPPED", "SCHEDULE_CLASH")]
    assert "allowClash" in one_outcome(refused)["message"]
    assert await taken(gql, overlap["id"], admin) == 0
    allowed = await change_session(
        gql, admin, [gid("Enrollment", aid_pk)], overlap["id"], allowClash=True
    )
    assert statuses(allowed) == [("OK", None)]
    assert await taken(gql, overlap["id"], admin) == 1
    # Moving within the same course is never a clash with the seat being left.
    later = await new_session(
        gql, admin, forklift, title="Forklift late", starts=SOON + dt.timedelta(hours=6)
    )
    same_time = await new_session(gql, admin, forklift, title="Forklift AM 2", hours=4)
    assert statuses(
        await change_session(gql, admin, [gid("Enrollment", forklift_pk)], later["id"])
    ) == [("OK", None)]
    assert statuses(
        await change_session(gql, admin, [gid("Enrollment", forklift_pk)], same_time["id"])
    ) == [("SKIPPED", "SCHEDULE_CLASH")]


async def test_change_session_to_another_courses_session_or_a_bad_id(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    other = await ilt_course(world, "Other")
    elsewhere = await new_session(gql, admin, other)
    [(_, lena_id)] = await learners(world, course, admin, 1)
    result = await change_session(gql, admin, [lena_id], elsewhere["id"])
    assert statuses(result) == [("SKIPPED", "NOT_APPLICABLE")]
    for bad in (gid("Session", 987_654), gid("Course", course.id), "garbage"):
        error = await run_error(gql, admin, "change_session", [lena_id], params={"sessionId": bad})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await run_error(gql, admin, "change_session", [lena_id])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await seat_rows(lms) == 0


async def test_change_session_does_not_apply_to_a_completed_learner(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    [(_, lena_id)] = await learners(world, course, admin, 1)
    await run(gql, admin, "mark_complete", [lena_id])
    result = await change_session(gql, admin, [lena_id], session["id"])
    assert statuses(result) == [("SKIPPED", "NOT_APPLICABLE")]
    assert await taken(gql, session["id"], admin) == 0


async def test_mark_no_show_frees_the_seat_and_tells_the_learner(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1)
    later = await new_session(gql, admin, course, title="Later", starts=SOON + dt.timedelta(days=3))
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], session["id"])
    assert await taken(gql, session["id"], admin) == 1

    result = await run(
        gql,
        admin,
        "mark_no_show",
        [lena_id],
        params={"message": "We missed you; please pick another date."},
        note="Did not sign in.",
    )
    assert statuses(result) == [("OK", None)]
    assert await taken(gql, session["id"], admin) == 0
    seen = await learner(gql, lena_id, admin)
    assert seen["state"] == "NOT_STARTED"
    assert seen["session"] is None
    assert seen["sessionSeats"][-1]["status"] == "NO_SHOW"
    assert "change_session" in menu(seen)
    assert "mark_no_show" not in menu(seen)
    [line] = [h for h in seen["history"] if h["action"] == "mark_no_show"]
    assert line["summary"].startswith("Marked as a no-show in Morning class")
    assert line["note"] == "Did not sign in."
    notes = (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"]
    [no_show] = [n for n in notes if n["kind"] == "ilt_no_show"]
    assert no_show["body"] == "We missed you; please pick another date."
    # Free to enroll again.
    again = (await gql.data(ENROLL, {"id": later["id"]}, token=lena.token))["enrollInSession"]
    assert again["state"] == "ENROLLED_IN_SESSION"
    assert [s["status"] for s in (await learner(gql, lena_id, admin))["sessionSeats"]] == [
        "NO_SHOW",
        "ENROLLED",
    ]


async def test_mark_no_show_without_a_message_sends_no_notification(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], session["id"])
    assert statuses(await run(gql, admin, "mark_no_show", [lena_id])) == [("OK", None)]
    notes = (await gql.data(NOTIFICATIONS, token=lena.token))["viewer"]["notifications"]
    assert [n for n in notes if n["kind"] == "ilt_no_show"] == []
    # Not seated any more: a second no-show does not apply.
    assert statuses(await run(gql, admin, "mark_no_show", [lena_id])) == [
        ("SKIPPED", "NOT_APPLICABLE")
    ]


async def test_a_freed_seat_goes_to_the_first_on_the_waitlist(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1, waitlist=True)
    other = await new_session(
        gql, admin, course, title="Other", capacity=5, starts=SOON + dt.timedelta(days=2)
    )
    (anna, anna_id), (ben, ben_id), (cleo, cleo_id) = await learners(world, course, admin, 3)
    for actor in (anna, ben, cleo):
        await gql.data(ENROLL, {"id": session["id"]}, token=actor.token)
    assert await taken(gql, session["id"], admin) == 1

    # A no-show frees Anna's seat: Ben, first in line, gets it and is told; the outcome
    # names him (he changed too).
    no_show = one_outcome(await run(gql, admin, "mark_no_show", [anna_id]))
    assert no_show["message"].endswith(
        f"seat freed. The seat went to {ben.user.name}, next on the waitlist."
    )
    ben_seen = await learner(gql, ben_id, admin)
    assert ben_seen["state"] == "ENROLLED_IN_SESSION"
    assert ben_seen["session"]["id"] == session["id"]
    assert any(h["action"] == "ilt_waitlist_promoted" for h in ben_seen["history"])
    notes = (await gql.data(NOTIFICATIONS, token=ben.token))["viewer"]["notifications"]
    assert [n["kind"] for n in notes if n["kind"] == "ilt_seat_confirmed"] == ["ilt_seat_confirmed"]
    cleo_seen = await learner(gql, cleo_id, admin)
    assert (cleo_seen["state"], cleo_seen["waitlistPosition"]) == ("NOT_STARTED", 1)
    assert await taken(gql, session["id"], admin) == 1

    # A move frees Ben's seat: Cleo gets it.
    moved = one_outcome(await change_session(gql, admin, [ben_id], other["id"]))
    assert moved["message"].startswith("Moved to Other (")
    assert moved["message"].endswith(f"The seat went to {cleo.user.name}, next on the waitlist.")
    cleo_seen = await learner(gql, cleo_id, admin)
    assert cleo_seen["state"] == "ENROLLED_IN_SESSION"
    assert cleo_seen["waitlistPosition"] is None
    assert (await taken(gql, session["id"], admin), await taken(gql, other["id"], admin)) == (1, 1)


async def test_removal_from_a_session_promotes_the_waitlist(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1, waitlist=True)
    (anna, anna_id), (ben, ben_id) = await learners(world, course, admin, 2)
    await gql.data(ENROLL, {"id": session["id"]}, token=anna.token)
    await gql.data(ENROLL, {"id": session["id"]}, token=ben.token)
    result = await run(gql, admin, "remove", [anna_id], params={"scope": "SESSION"})
    assert statuses(result) == [("OK", None)]
    assert one_outcome(result)["message"].endswith(
        f"The seat went to {ben.user.name}, next on the waitlist."
    )
    assert (await learner(gql, ben_id, admin))["state"] == "ENROLLED_IN_SESSION"
    assert await taken(gql, session["id"], admin) == 1


async def test_each_freed_seat_names_the_learner_who_got_it(
    gql: GraphQLClient, world: World
) -> None:
    """Two no-shows in one run, one learner waiting: the first freed seat is hers, the
    second goes to nobody, and a dry run names her too (nothing written)."""
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=2, waitlist=True)
    people = await learners(world, course, admin, 3)
    for actor, _ in people:
        await gql.data(ENROLL, {"id": session["id"]}, token=actor.token)
    (_, anna_id), (_, ben_id), (cleo, cleo_id) = people
    went_to = f"The seat went to {cleo.user.name}, next on the waitlist."
    preview = await run(gql, admin, "mark_no_show", [anna_id, ben_id], dryRun=True)
    assert [o["message"].endswith(went_to) for o in preview["outcomes"]] == [True, False]
    assert (await learner(gql, cleo_id, admin))["waitlistPosition"] == 1
    result = await run(gql, admin, "mark_no_show", [anna_id, ben_id])
    messages = [outcome["message"] for outcome in result["outcomes"]]
    assert messages[0].endswith(went_to)
    assert messages[1].endswith("seat freed.")
    assert (await learner(gql, cleo_id, admin))["state"] == "ENROLLED_IN_SESSION"


async def test_remove_with_scope_session_keeps_the_course(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id], session["id"])
    assert await taken(gql, session["id"], admin) == 1
    result = await run(gql, admin, "remove", [anna_id], params={"scope": "SESSION"}, note="Moved")
    outcome = one_outcome(result)
    assert outcome["status"] == "OK"
    assert outcome["message"].startswith("Removed from Morning class")
    assert await taken(gql, session["id"], admin) == 0
    seen = await learner(gql, anna_id, admin)
    assert seen["state"] == "NOT_STARTED"
    assert seen["sessionSeats"] == []
    assert seen["history"][-1]["action"] == "remove"
    assert seen["history"][-1]["note"] == "Moved"
    # No seat: nothing to remove from.
    nothing = await run(gql, admin, "remove", [ben_id], params={"scope": "SESSION"})
    assert statuses(nothing) == [("SKIPPED", "NO_SESSION")]
    assert await learner(gql, ben_id, admin) is not None


async def test_remove_with_scope_both_or_course_removes_learner_and_seat(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=3)
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id, ben_id], session["id"])
    assert await taken(gql, session["id"], admin) == 2
    for enrollment_id, scope in ((anna_id, "BOTH"), (ben_id, "COURSE")):
        result = await run(gql, admin, "remove", [enrollment_id], params={"scope": scope})
        assert statuses(result) == [("OK", None)]
        assert await learner(gql, enrollment_id, admin) is None
    assert await taken(gql, session["id"], admin) == 0
    assert await seat_rows(lms) == 0


async def test_session_scopes_do_not_apply_outside_ilt(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    [(_, enrollment_id)] = await learners(world, course, admin, 1)
    for scope in ("SESSION", "BOTH"):
        result = await run(gql, admin, "remove", [enrollment_id], params={"scope": scope})
        assert statuses(result) == [("SKIPPED", "NOT_APPLICABLE")]
        assert "instructor-led" in one_outcome(result)["message"]
    error = await run_error(gql, admin, "remove", [enrollment_id], params={"scope": "ALL"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await learner(gql, enrollment_id, admin) is not None
    await run(gql, admin, "mark_complete", [enrollment_id])
    result = await run(
        gql, admin, "mark_incomplete", [enrollment_id], params={"sessionId": gid("Session", 1)}
    )
    assert statuses(result) == [("SKIPPED", "NOT_APPLICABLE")]
    assert (await learner(gql, enrollment_id, admin))["state"] == "COMPLETED"


async def test_unassign_takes_the_seat_and_moves_the_waitlist_up(
    gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1, waitlist=True)
    (anna, anna_id), (ben, ben_id) = await learners(world, course, admin, 2)
    await gql.data(ENROLL, {"id": session["id"]}, token=anna.token)
    await gql.data(ENROLL, {"id": session["id"]}, token=ben.token)
    assert statuses(await run(gql, admin, "unassign", [anna_id])) == [("OK", None)]
    assert await learner(gql, anna_id, admin) is None
    assert (await learner(gql, ben_id, admin))["state"] == "ENROLLED_IN_SESSION"
    assert await taken(gql, session["id"], admin) == 1
    assert await seat_rows(lms, seats.c.user_id == anna.user.id) == 0


async def test_mark_complete_records_attendance(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    [(_, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], session["id"])
    assert statuses(await run(gql, admin, "mark_complete", [lena_id])) == [("OK", None)]
    seen = await learner(gql, lena_id, admin)
    assert seen["state"] == "COMPLETED"
    assert seen["session"] is None
    assert seen["sessionSeats"][0]["status"] == "ATTENDED"
    # An attended seat still counts against capacity.
    assert await taken(gql, session["id"], admin) == 1
    actions = [h["action"] for h in seen["history"]]
    assert actions[-2:] == ["ilt_attended", "mark_complete"]
    assert seen["history"][-2]["summary"].startswith("Attended Morning class")


async def test_mark_incomplete_in_a_session(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    other = await new_session(gql, admin, course, title="Other", starts=SOON + dt.timedelta(days=1))
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id, ben_id], session["id"])
    await run(gql, admin, "mark_complete", [anna_id, ben_id])

    wrong = await run(gql, admin, "mark_incomplete", [anna_id], params={"sessionId": other["id"]})
    assert statuses(wrong) == [("SKIPPED", "NOT_IN_SESSION")]
    malformed = await run(gql, admin, "mark_incomplete", [anna_id], params={"sessionId": "x"})
    assert statuses(malformed) == [("SKIPPED", "BAD_SESSION_ID")]
    assert (await learner(gql, anna_id, admin))["state"] == "COMPLETED"

    result = await run(
        gql, admin, "mark_incomplete", [anna_id], params={"sessionId": session["id"]}
    )
    assert statuses(result) == [("OK", None)]
    seen = await learner(gql, anna_id, admin)
    assert seen["state"] == "NOT_STARTED"
    assert seen["sessionSeats"][0]["status"] == "INCOMPLETE"
    assert "change_session" in menu(seen)
    # Without a session: the attended seat of the attempt becomes incomplete.
    assert statuses(await run(gql, admin, "mark_incomplete", [ben_id])) == [("OK", None)]
    assert (await learner(gql, ben_id, admin))["sessionSeats"][0]["status"] == "INCOMPLETE"
    assert await taken(gql, session["id"], admin) == 2


async def test_view_history_tells_the_sessions_story(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    first = await new_session(gql, admin, course, title="First")
    second = await new_session(
        gql, admin, course, title="Second", starts=SOON + dt.timedelta(days=1)
    )
    third = await new_session(gql, admin, course, title="Third", starts=SOON + dt.timedelta(days=2))
    [(_, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], first["id"])
    await change_session(gql, admin, [lena_id], second["id"])
    await run(gql, admin, "mark_no_show", [lena_id])
    await change_session(gql, admin, [lena_id], third["id"])
    await run(gql, admin, "mark_complete", [lena_id])
    seen = await learner(gql, lena_id, admin)
    story = [h["summary"].split(" (")[0] for h in seen["history"][1:]]
    assert story == [
        "Enrolled in First",
        "Moved from First",
        "Marked as a no-show in Second",
        "Enrolled in Third",
        "Attended Third",
        "Marked as complete.",
    ]
    assert [(s["status"], s["session"]["id"]) for s in seen["sessionSeats"]] == [
        ("NO_SHOW", second["id"]),
        ("ATTENDED", third["id"]),
    ]
    assert seen["state"] == "COMPLETED"


async def test_only_managers_of_the_course_act_on_its_learners(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    other = await ilt_course(world, "Other")
    session = await new_session(gql, admin, course)
    instructor = await world.user("Ian")
    await world.instructor(course, instructor)
    outsider = await world.user("Olga")
    await world.instructor(other, outsider)
    (lena, lena_id), (_, max_id) = await learners(world, course, admin, 2)
    for actor in (outsider, lena):
        error = await run_error(
            gql, actor, "change_session", [max_id], params={"sessionId": session["id"]}
        )
        assert error["extensions"]["code"] == "FORBIDDEN"
    assert await taken(gql, session["id"], admin) == 0
    result = await change_session(gql, instructor, [lena_id], session["id"])
    assert statuses(result) == [("OK", None)]
    assert statuses(await run(gql, instructor, "mark_no_show", [lena_id])) == [("OK", None)]


async def test_reset_after_attending_keeps_the_record_and_allows_a_new_seat(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=5)
    [(_, lena_id)] = await learners(world, course, admin, 1)
    await change_session(gql, admin, [lena_id], session["id"])
    await run(gql, admin, "mark_complete", [lena_id])
    assert statuses(await run(gql, admin, "reset_progress", [lena_id])) == [("OK", None)]
    seen = await learner(gql, lena_id, admin)
    assert seen["state"] == "NOT_STARTED"
    assert seen["session"] is None
    assert [(s["status"], s["attemptNumber"]) for s in seen["sessionSeats"]] == [("ATTENDED", 1)]
    assert "change_session" in menu(seen)
    assert statuses(await change_session(gql, admin, [lena_id], session["id"])) == [("OK", None)]
    seen = await learner(gql, lena_id, admin)
    assert seen["state"] == "ENROLLED_IN_SESSION"
    assert [(s["status"], s["attemptNumber"]) for s in seen["sessionSeats"]] == [
        ("ATTENDED", 1),
        ("ENROLLED", 2),
    ]
