"""The ILT plugin (issue 5; CONTRACT sections 4, 5, 9): sessions, seats, the learner's
own enrolment, the ENROLLED_IN_SESSION state and its menu, the Session node, and the
service without the plugin. Actions are in test_ilt_actions.py, mass actions in
test_ilt_mass.py; the helpers here serve both."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select

from lms_graph.core import LMS
from lms_graph.records import CourseRecord
from lms_graph_plugins.ilt.tables import seats, sessions
from tests.conftest import make_settings
from tests.helpers import Actor, GraphQLClient, StatementCounter, World, gid
from tests.test_actions import run, start

CREATE = """
mutation ($input: CreateSessionInput!) {
  createSession(input: $input) {
    id title startsAt endsAt timeZone location meetingLink capacity seatsTaken seatsLeft
    waitlistEnabled waitlistCount course { id } instructor { id }
  }
}
"""
ENROLL = """
mutation ($id: ID!) {
  enrollInSession(sessionId: $id) {
    id state session { id seatsTaken } waitlistedSession { id } waitlistPosition
  }
}
"""
SESSION = """
query ($id: ID!) {
  node(id: $id) {
    ... on Session { id title capacity seatsTaken seatsLeft waitlistCount }
  }
}
"""
LEARNER = """
query ($id: ID!) {
  enrollment(id: $id) {
    id state progress
    session { id title }
    waitlistedSession { id }
    waitlistPosition
    sessionSeats { status attemptNumber session { id } }
    availableActions { key label params { name type required choices } }
    history { action summary note }
  }
}
"""
NOTIFICATIONS = "{ viewer { notifications { kind subject body } } }"

SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=7)

# CONTRACT section 5, the ENROLLED_IN_SESSION column, in seed order.
ENROLLED_MENU = [
    "update_due_date",
    "change_session",
    "view_history",
    "mark_complete",
    "mark_no_show",
    "make_instructor",
    "unassign",
    "remove",
]
# The NOT_STARTED column for an ILT course (no quiz, and no chapters: no chapter insights).
NOT_STARTED_MENU = [
    "update_due_date",
    "change_session",
    "view_history",
    "mark_complete",
    "make_instructor",
    "unassign",
    "remove",
]


# --- helpers (shared with test_ilt_actions and test_ilt_mass) ----------------------------


async def ilt_course(world: World, title: str = "Forklift training") -> CourseRecord:
    return await world.course(title, course_type="ilt", chapters=0)


async def new_session(
    gql: GraphQLClient,
    actor: Actor,
    course: CourseRecord,
    *,
    title: str = "Morning class",
    capacity: int = 2,
    starts: dt.datetime = SOON,
    hours: int = 3,
    waitlist: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    data = await gql.data(
        CREATE,
        {
            "input": {
                "courseId": gid("Course", course.id),
                "title": title,
                "startsAt": starts.isoformat(),
                "endsAt": (starts + dt.timedelta(hours=hours)).isoformat(),
                "capacity": capacity,
                "location": "Warehouse 3",
                "waitlist": waitlist,
                **extra,
            }
        },
        token=actor.token,
    )
    session: dict[str, Any] = data["createSession"]
    return session


async def learners(
    world: World, course: CourseRecord, admin: Actor, count: int, prefix: str = "Learner"
) -> list[tuple[Actor, str]]:
    """``count`` learners assigned to ``course``, with their enrollment IDs."""
    actors = [await world.user(f"{prefix} {i}") for i in range(count)]
    ids = await world.assign(course, actors, by=admin)
    return [(actor, gid("Enrollment", pk)) for actor, pk in zip(actors, ids, strict=True)]


async def learner(gql: GraphQLClient, enrollment_id: str, viewer: Actor) -> Any:
    return (await gql.data(LEARNER, {"id": enrollment_id}, token=viewer.token))["enrollment"]


async def taken(gql: GraphQLClient, session_id: str, viewer: Actor) -> int:
    data = await gql.data(SESSION, {"id": session_id}, token=viewer.token)
    return int(data["node"]["seatsTaken"])


async def change_session(
    gql: GraphQLClient,
    actor: Actor,
    ids: list[str],
    session_id: str,
    *,
    note: str | None = None,
    dry_run: bool = False,
    **params: Any,
) -> dict[str, Any]:
    extra: dict[str, Any] = {"note": note} if note else {}
    if dry_run:
        extra["dryRun"] = True
    return await run(
        gql, actor, "change_session", ids, params={"sessionId": session_id, **params}, **extra
    )


def menu(enrollment: Any) -> list[str]:
    return [action["key"] for action in enrollment["availableActions"]]


def statuses(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(outcome["status"], outcome["code"]) for outcome in result["outcomes"]]


async def seat_rows(lms: LMS, *where: Any) -> int:
    async with lms.db.reader() as conn:
        query = select(func.count()).select_from(seats)
        if where:
            query = query.where(*where)
        return int((await conn.execute(query)).scalar_one())


# --- the course type and createSession -------------------------------------------------


async def test_ilt_is_a_course_type_and_an_admin_schedules_sessions(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    teacher = await world.user("Tess Teacher")
    types = await gql.data("{ courseTypes { key label } }", token=admin.token)
    assert {"key": "ilt", "label": "Instructor-led"} in types["courseTypes"]
    course = await ilt_course(world)
    session = await new_session(
        gql,
        admin,
        course,
        capacity=12,
        timeZone="Europe/Paris",
        meetingLink="https://meet.example/forklift",
        instructorId=teacher.id,
        waitlist=True,
    )
    assert session["title"] == "Morning class"
    assert dt.datetime.fromisoformat(session["startsAt"]) == SOON
    assert session["timeZone"] == "Europe/Paris"
    assert session["location"] == "Warehouse 3"
    assert session["meetingLink"] == "https://meet.example/forklift"
    assert (session["capacity"], session["seatsTaken"], session["seatsLeft"]) == (12, 0, 12)
    assert session["waitlistEnabled"] is True
    assert session["waitlistCount"] == 0
    assert session["course"]["id"] == gid("Course", course.id)
    assert session["instructor"]["id"] == teacher.id
    later = await new_session(gql, admin, course, title="Later", starts=SOON + dt.timedelta(days=1))
    data = await gql.data(
        "query ($id: ID!) { course(id: $id) { sessions { id title } } }",
        {"id": gid("Course", course.id)},
        token=admin.token,
    )
    assert [s["id"] for s in data["course"]["sessions"]] == [session["id"], later["id"]]


async def test_create_session_permissions(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    other = await ilt_course(world, "Other ILT")
    instructor = await world.user("Ian Instructor")
    await world.instructor(course, instructor)
    stranger = await world.user("Sam Stranger")
    [(learner_actor, _)] = await learners(world, course, admin, 1)
    assert (await new_session(gql, instructor, course))["title"] == "Morning class"
    for actor, target in ((instructor, other), (stranger, course), (learner_actor, course)):
        error = await gql.error(
            CREATE,
            {
                "input": {
                    "courseId": gid("Course", target.id),
                    "title": "Nope",
                    "startsAt": SOON.isoformat(),
                    "endsAt": (SOON + dt.timedelta(hours=1)).isoformat(),
                    "capacity": 5,
                    "location": "Room 1",
                }
            },
            token=actor.token,
        )
        assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(
        CREATE,
        {
            "input": {
                "courseId": gid("Course", course.id),
                "title": "x",
                "startsAt": SOON.isoformat(),
                "endsAt": SOON.isoformat(),
                "capacity": 5,
                "location": "Room",
            }
        },
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    async with lms.db.reader() as conn:
        assert (await conn.execute(select(func.count()).select_from(sessions))).scalar_one() == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"title": "  "}, "title"),
        ({"endsAt": SOON.isoformat()}, "endsAt must be after startsAt"),
        ({"capacity": 0}, "capacity"),
        ({"timeZone": "Mars/Olympus"}, "time zone"),
        ({"location": None}, "location"),
        ({"meetingLink": "javascript:alert(1)"}, "meetingLink"),
        ({"startsAt": "2026-12-01T09:00:00"}, "offset"),
    ],
)
async def test_create_session_refuses_bad_input(
    gql: GraphQLClient, world: World, lms: LMS, change: dict[str, Any], words: str
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    base = {
        "courseId": gid("Course", course.id),
        "title": "Class",
        "startsAt": SOON.isoformat(),
        "endsAt": (SOON + dt.timedelta(hours=2)).isoformat(),
        "capacity": 5,
        "location": "Room 2",
    }
    error = await gql.error(CREATE, {"input": {**base, **change}}, token=admin.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]
    async with lms.db.reader() as conn:
        assert (await conn.execute(select(func.count()).select_from(sessions))).scalar_one() == 0


async def test_sessions_belong_to_ilt_courses_only(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    self_paced = await world.course("Reading")
    error = await gql.error(
        CREATE,
        {
            "input": {
                "courseId": gid("Course", self_paced.id),
                "title": "Class",
                "startsAt": SOON.isoformat(),
                "endsAt": (SOON + dt.timedelta(hours=2)).isoformat(),
                "capacity": 5,
                "location": "Room",
            }
        },
        token=admin.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ilt" in error["message"]
    data = await gql.data(
        "query ($id: ID!) { course(id: $id) { sessions { id } } }",
        {"id": gid("Course", self_paced.id)},
        token=admin.token,
    )
    assert data["course"]["sessions"] == []


async def test_session_is_a_node(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=3)
    [(someone, _)] = await learners(world, course, admin, 1)
    for viewer in (admin, someone):
        data = await gql.data(SESSION, {"id": session["id"]}, token=viewer.token)
        assert data["node"] == {
            "id": session["id"],
            "title": "Morning class",
            "capacity": 3,
            "seatsTaken": 0,
            "seatsLeft": 3,
            "waitlistCount": 0,
        }
    missing = await gql.data(SESSION, {"id": gid("Session", 999_999)}, token=admin.token)
    assert missing["node"] is None
    anonymous = await gql.error(SESSION, {"id": session["id"]})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"


# --- enrollInSession: the learner's own ------------------------------------------------


async def test_learner_takes_a_seat_and_is_enrolled_in_session(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=2)
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    assert (await learner(gql, lena_id, admin))["state"] == "NOT_STARTED"

    data = await gql.data(ENROLL, {"id": session["id"]}, token=lena.token)
    mine = data["enrollInSession"]
    assert mine["id"] == lena_id
    assert mine["state"] == "ENROLLED_IN_SESSION"
    assert mine["session"] == {"id": session["id"], "seatsTaken": 1}
    assert mine["waitlistedSession"] is None
    seen = await learner(gql, lena_id, admin)
    assert seen["sessionSeats"] == [
        {"status": "ENROLLED", "attemptNumber": 1, "session": {"id": session["id"]}}
    ]
    assert seen["history"][-1]["action"] == "enroll_in_session"
    assert seen["history"][-1]["summary"].startswith("Enrolled in Morning class (")
    # Again: nothing changes.
    again = (await gql.data(ENROLL, {"id": session["id"]}, token=lena.token))["enrollInSession"]
    assert again["session"]["seatsTaken"] == 1
    counts = await gql.data(
        "query ($id: ID!) { course(id: $id) { learnerCounts { state count } } }",
        {"id": gid("Course", course.id)},
        token=admin.token,
    )
    assert {"state": "ENROLLED_IN_SESSION", "count": 1} in counts["course"]["learnerCounts"]


async def test_learner_moves_themselves_to_another_session(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    first = await new_session(gql, admin, course, title="First")
    second = await new_session(
        gql, admin, course, title="Second", starts=SOON + dt.timedelta(days=2)
    )
    [(lena, lena_id)] = await learners(world, course, admin, 1)
    await gql.data(ENROLL, {"id": first["id"]}, token=lena.token)
    moved = (await gql.data(ENROLL, {"id": second["id"]}, token=lena.token))["enrollInSession"]
    assert moved["session"]["id"] == second["id"]
    assert await taken(gql, first["id"], admin) == 0
    assert await taken(gql, second["id"], admin) == 1
    history = (await learner(gql, lena_id, admin))["history"]
    assert history[-1]["summary"].startswith("Moved from First (")


async def test_enroll_in_session_refusals(gql: GraphQLClient, world: World, lms: LMS) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    full = await new_session(gql, admin, course, title="Small", capacity=1)
    past = await new_session(
        gql, admin, course, title="Past", starts=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    )
    (anna, _), (ben, _) = await learners(world, course, admin, 2)
    outsider = await world.user("Olga Outsider")
    await gql.data(ENROLL, {"id": full["id"]}, token=anna.token)

    error = await gql.error(ENROLL, {"id": full["id"]}, token=ben.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "SESSION_FULL"
    error = await gql.error(ENROLL, {"id": past["id"]}, token=ben.token)
    assert "already started" in error["message"]
    error = await gql.error(ENROLL, {"id": full["id"]}, token=outsider.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not enrolled" in error["message"]
    error = await gql.error(ENROLL, {"id": gid("Session", 424_242)}, token=ben.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(ENROLL, {"id": gid("Course", course.id)}, token=ben.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await seat_rows(lms) == 1
    assert await taken(gql, full["id"], admin) == 1


async def test_self_enrolled_learner_may_take_a_seat(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    walk_in = await world.user("Wally Walkin")
    await start(gql, course, walk_in)
    mine = (await gql.data(ENROLL, {"id": session["id"]}, token=walk_in.token))["enrollInSession"]
    assert mine["state"] == "ENROLLED_IN_SESSION"


async def test_full_session_with_a_waitlist_queues_the_learner(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=1, waitlist=True)
    (anna, _), (ben, ben_id), (cleo, cleo_id) = await learners(world, course, admin, 3)
    await gql.data(ENROLL, {"id": session["id"]}, token=anna.token)
    ben_seen = (await gql.data(ENROLL, {"id": session["id"]}, token=ben.token))["enrollInSession"]
    cleo_seen = (await gql.data(ENROLL, {"id": session["id"]}, token=cleo.token))["enrollInSession"]
    assert ben_seen["state"] == "NOT_STARTED"
    assert ben_seen["session"] is None
    assert ben_seen["waitlistedSession"] == {"id": session["id"]}
    assert (ben_seen["waitlistPosition"], cleo_seen["waitlistPosition"]) == (1, 2)
    data = await gql.data(SESSION, {"id": session["id"]}, token=admin.token)
    assert (data["node"]["seatsTaken"], data["node"]["waitlistCount"]) == (1, 2)
    ben_menu = menu(await learner(gql, ben_id, admin))
    assert "change_session" in ben_menu
    assert "mark_no_show" not in ben_menu
    assert (await learner(gql, cleo_id, admin))["history"][-1]["summary"].startswith(
        "Joined the waitlist of"
    )


async def test_learner_is_refused_a_session_clashing_with_another_of_theirs(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    forklift = await ilt_course(world)
    first_aid = await ilt_course(world, "First aid")
    morning = await new_session(gql, admin, forklift, hours=4)
    overlapping = await new_session(
        gql, admin, first_aid, title="Overlap", starts=SOON + dt.timedelta(hours=2)
    )
    after = await new_session(
        gql, admin, first_aid, title="After", starts=SOON + dt.timedelta(hours=4)
    )
    lena = await world.user("Lena")
    await world.assign(forklift, [lena], by=admin)
    await world.assign(first_aid, [lena], by=admin)
    await gql.data(ENROLL, {"id": morning["id"]}, token=lena.token)
    error = await gql.error(ENROLL, {"id": overlapping["id"]}, token=lena.token)
    assert error["extensions"]["reason"] == "SCHEDULE_CLASH"
    assert await taken(gql, overlapping["id"], admin) == 0
    # Back to back is no clash.
    seated = (await gql.data(ENROLL, {"id": after["id"]}, token=lena.token))["enrollInSession"]
    assert seated["state"] == "ENROLLED_IN_SESSION"


# --- state and menu ----------------------------------------------------------------------


async def test_menu_of_enrolled_in_session_and_of_a_learner_without_a_seat(
    gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course)
    (anna, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await gql.data(ENROLL, {"id": session["id"]}, token=anna.token)

    seated = await learner(gql, anna_id, admin)
    assert seated["state"] == "ENROLLED_IN_SESSION"
    assert menu(seated) == ENROLLED_MENU
    labels = {action["key"]: action["label"] for action in seated["availableActions"]}
    assert labels["change_session"] == "Change/Add to Session"
    assert labels["mark_no_show"] == "Mark as No Show"
    params = {a["key"]: a["params"] for a in seated["availableActions"]}
    assert params["change_session"] == [
        {"name": "sessionId", "type": "ID", "required": True, "choices": None},
        {"name": "allowClash", "type": "Boolean", "required": False, "choices": None},
    ]
    assert params["remove"] == [
        {
            "name": "scope",
            "type": "Enum",
            "required": False,
            "choices": ["COURSE", "SESSION", "BOTH"],
        }
    ]
    assert params["mark_no_show"] == [
        {"name": "message", "type": "String", "required": False, "choices": None}
    ]
    unseated = await learner(gql, ben_id, admin)
    assert unseated["state"] == "NOT_STARTED"
    assert menu(unseated) == NOT_STARTED_MENU
    # The learner sees their session, not a menu.
    mine = await learner(gql, anna_id, anna)
    assert mine["availableActions"] == []
    assert mine["session"]["id"] == session["id"]


async def test_menu_of_an_ilt_course_with_a_quiz(gql: GraphQLClient, world: World) -> None:
    """The quiz cell: View Quiz Insights for NOT_STARTED, never for ENROLLED_IN_SESSION."""
    admin = await world.admin()
    course = await world.course("Quizzed ILT", course_type="ilt", chapters=1, quiz=True)
    session = await new_session(gql, admin, course)
    (_, anna_id), (_, ben_id) = await learners(world, course, admin, 2)
    await change_session(gql, admin, [anna_id], session["id"])
    assert menu(await learner(gql, anna_id, admin)) == ENROLLED_MENU
    # With chapters, both insights are offered.
    with_quiz = [*NOT_STARTED_MENU]
    at = with_quiz.index("mark_complete") + 1
    with_quiz[at:at] = ["view_chapter_insights", "view_quiz_insights"]
    assert menu(await learner(gql, ben_id, admin)) == with_quiz


async def test_self_paced_menus_gain_no_session_actions(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    course = await world.course()
    [(_, enrollment_id)] = await learners(world, course, admin, 1)
    keys = menu(await learner(gql, enrollment_id, admin))
    assert "change_session" not in keys
    assert "mark_no_show" not in keys


async def test_mass_actions_of_an_ilt_course(gql: GraphQLClient, world: World) -> None:
    admin = await world.admin()
    ilt = await ilt_course(world)
    other = await world.course()
    query = "query ($id: ID!) { course(id: $id) { massActions { key } } }"
    data = await gql.data(query, {"id": gid("Course", ilt.id)}, token=admin.token)
    assert [a["key"] for a in data["course"]["massActions"]] == [
        "mark_incomplete",
        "change_session",
        "remove",
        "mark_complete",
    ]
    data = await gql.data(query, {"id": gid("Course", other.id)}, token=admin.token)
    assert "change_session" not in [a["key"] for a in data["course"]["massActions"]]


async def test_a_page_of_learners_with_sessions_costs_the_same_statements(
    gql: GraphQLClient, world: World, statements: StatementCounter
) -> None:
    admin = await world.admin()
    course = await ilt_course(world)
    session = await new_session(gql, admin, course, capacity=40, waitlist=True)
    everyone = await learners(world, course, admin, 40)
    await change_session(gql, admin, [eid for _, eid in everyone[:30]], session["id"])
    query = """
    query ($id: ID!, $first: Int!) {
      course(id: $id) {
        sessions { id seatsTaken waitlistCount }
        learners(first: $first) { edges { node {
          id state availableActions { key }
          session { id title seatsTaken seatsLeft }
          waitlistedSession { id } waitlistPosition
          sessionSeats { status session { id } }
        } } }
      }
    }
    """

    async def page(first: int) -> int:
        statements.reset()
        data = await gql.data(query, {"id": gid("Course", course.id), "first": first}, admin.token)
        edges = data["course"]["learners"]["edges"]
        assert len(edges) == first
        assert any(edge["node"]["session"] for edge in edges)
        return statements.count

    small = await page(5)
    assert small == await page(40)
    assert small <= 12


# --- without the plugin --------------------------------------------------------------


@pytest.fixture
async def bare_lms(lms: LMS) -> AsyncIterator[LMS]:
    """The same (emptied) database, served without the ILT plugin."""
    service = LMS(make_settings(lms.settings.database_url, plugins=("certificates", "self_paced")))
    yield service
    await service.close()


async def test_service_works_without_the_plugin(bare_lms: LMS) -> None:
    from lms_graph.app import create_app

    world = World(bare_lms)
    transport = ASGITransport(app=create_app(lms=bare_lms))
    async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
        gql = GraphQLClient(http)
        admin = await world.admin()
        course = await world.course()
        [(_, enrollment_id)] = await learners(world, course, admin, 1)
        data = await gql.data(
            "query ($id: ID!) { enrollment(id: $id) { state availableActions { key } } }",
            {"id": enrollment_id},
            token=admin.token,
        )
        assert data["enrollment"]["state"] == "NOT_STARTED"
        keys = [action["key"] for action in data["enrollment"]["availableActions"]]
        assert "change_session" not in keys
        assert "remove" in keys
        types = await gql.data("{ courseTypes { key } }", token=admin.token)
        assert "ilt" not in {t["key"] for t in types["courseTypes"]}
        error = await gql.error(
            "query ($id: ID!) { enrollment(id: $id) { session { id } } }",
            {"id": enrollment_id},
            token=admin.token,
        )
        assert "session" in error["message"]
        error = await gql.error(
            'mutation ($ids: [ID!]) { runAction(input: {action: "change_session", '
            "enrollmentIds: $ids}) { succeeded } }",
            {"ids": [enrollment_id]},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        # The core's remove knows only the course scope again.
        error = await gql.error(
            'mutation ($ids: [ID!]) { runAction(input: {action: "remove", '
            'enrollmentIds: $ids, params: {scope: "SESSION"}}) { succeeded } }',
            {"ids": [enrollment_id]},
            token=admin.token,
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        result = await run(gql, admin, "mark_complete", [enrollment_id])
        assert result["succeeded"] == 1
    assert await seat_rows(bare_lms) == 0
