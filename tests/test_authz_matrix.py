"""The authorization matrix (CONTRACT section 3): every entry point, every role.

The entries are enumerated from the running service, never listed by hand: the
root fields of ``Query`` and ``Mutation`` and the fields of the types anyone
signed in can reach (``Course``, ``Enrollment``) from the built schema, every
registered action key from ``lms.actions``, every route from the Starlette
router, every ``Node`` type. An entry with no expectation below fails with a
message naming it, so a new field, action or route cannot ship unexamined: add
one line to the right table.

Answers, one per role in ``ROLES`` order:

- ``ok``: no error, a value (a non-empty list, a connection with rows; for
  ``runAction``: the learner's outcome is OK; for a route: a 2xx response);
- ``null``: no error, a null value (``node`` of what the viewer may not see);
- ``none``: no error, nothing in it (an empty list or connection);
- ``any``: no error, whatever the value;
- an error code (``FORBIDDEN``, ``UNAUTHENTICATED``, ``NOT_FOUND``,
  ``BAD_USER_INPUT``): the GraphQL error's ``extensions.code``, or for a route
  the HTTP status it maps to (401, 403, 404, 400) with that ``code`` in its body.

Every refused mutation, action and route is also checked to change nothing:
the whole database is dumped before and after.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Awaitable, Callable, Mapping
from string import Template
from typing import Any

import pytest
from graphql import GraphQLInterfaceType
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import Table, select, text
from starlette.routing import Mount, Route

from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.auth import Viewer, load_viewer
from lms_graph.core import LMS
from lms_graph.ids import to_global_id
from lms_graph.schema import build_schema
from lms_graph.services.actions import ActionRequest, run_action
from lms_graph.services.imports import ImportRequest, import_assignments
from lms_graph.services.journal import Note, notify
from lms_graph.services.tx import write
from lms_graph_plugins.email.links import signature
from lms_graph_plugins.ilt.sessions import SessionSpec, create_session
from lms_graph_plugins.scorm_xapi.credentials import create_credential
from tests.conftest import SECRET, _empty, merged_metadata
from tests.helpers import Actor, World

ROLES = ("admin", "instructor", "other_instructor", "peer", "self", "anonymous")
"""admin; the course's instructor; another course's instructor; another learner of
the course; the learner the request is about; no token."""

Answers = tuple[str, str, str, str, str, str]


def answers(line: str) -> Answers:
    words = tuple(line.split())
    assert len(words) == len(ROLES), f"{line!r}: one answer per role {ROLES}"
    return words  # type: ignore[return-value]


READER = answers("ok ok null null ok UNAUTHENTICATED")
"""What only the learner and the people managing the course see."""
MANAGER = answers("ok ok FORBIDDEN FORBIDDEN FORBIDDEN UNAUTHENTICATED")
ADMIN = answers("ok FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN UNAUTHENTICATED")
SIGNED_IN = answers("ok ok ok ok ok UNAUTHENTICATED")
EVERYONE = answers("ok ok ok ok ok ok")
OWN = answers("NOT_FOUND NOT_FOUND NOT_FOUND NOT_FOUND ok UNAUTHENTICATED")
"""The learner's own progress: anyone else's enrollment is as if absent."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One request: a GraphQL document (``$name`` placeholders filled from the scene)
    whose first root field's value is judged, or an HTTP request for a route."""

    document: str = ""
    answers: Answers = SIGNED_IN
    pick: str = ""
    """Dotted path below the root field to judge (``history`` of ``enrollment``)."""
    prepare: tuple[tuple[str, str], ...] = ()
    """Actions an admin runs first: (action key, scene enrollment name)."""
    http: Callable[[Scene, AsyncClient, str | None], Awaitable[Response]] | None = None


# --- the scene ---------------------------------------------------------------------------


@dataclasses.dataclass
class Scene:
    """Course A (self-paced, with a quiz): ``self`` IN_PROGRESS, ``peer`` NOT_STARTED;
    course A2: ``self`` COMPLETED (with a certificate); course B: another instructor's,
    with a learner; course C: nobody's; course I (ILT, the instructor's): ``self``
    seated in its morning session, an afternoon session free; course S (SCORM, the
    instructor's): ``self`` assigned, with an xAPI credential. An admin's import report
    on A with failures, a notification for ``self``."""

    actors: dict[str, Actor]
    ids: dict[str, str]
    pks: dict[str, int]

    def token(self, role: str) -> str | None:
        return None if role == "anonymous" else self.actors[role].token

    def fill(self, document: str) -> str:
        return Template(document).substitute(self.ids)


async def _viewer(lms: LMS, actor: Actor) -> Viewer:
    async with lms.db.reader() as conn:
        return await load_viewer(conn, actor.user.id)


async def act(lms: LMS, actor: Actor, key: str, enrollment_id: int, **params: Any) -> None:
    result = await run_action(
        lms,
        await _viewer(lms, actor),
        ActionRequest(key, enrollment_ids=[enrollment_id], params=params),
    )
    assert [o.status.value for _, o in result.outcomes] == ["OK"], result


async def build_scene(lms: LMS) -> Scene:
    world = World(lms)
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    other = await world.user("Otto Other")
    peer = await world.user("Pia Peer")
    learner = await world.user("Sam Self")
    outsider = await world.user("Nora Newcomer")
    b_learner = await world.user("Bea B-learner")
    course_a = await world.course("Course A", quiz=True)
    course_a2 = await world.course("Course A2")
    course_b = await world.course("Course B", quiz=True)
    course_c = await world.course("Course C")
    for course in (course_a, course_a2):
        await world.instructor(course, instructor)
    await world.instructor(course_b, other)
    [enrollment, peer_enrollment] = await world.assign(course_a, [learner, peer], admin)
    [completed] = await world.assign(course_a2, [learner], admin)
    await world.assign(course_b, [b_learner], admin)
    await act(lms, admin, "mark_complete", completed)
    async with lms.db.reader() as conn:
        chapter, question = (
            await conn.execute(
                select(m.Chapter.id, m.Question.id)
                .join(m.Question, m.Question.chapter_id == m.Chapter.id)
                .where(m.Chapter.course_id == course_a.id)
            )
        ).first() or (0, 0)
        first_chapter, open_chapter = (
            await conn.execute(
                select(m.Chapter.id)
                .where(m.Chapter.course_id == course_a.id, m.Chapter.kind == "CONTENT")
                .order_by(m.Chapter.position)
            )
        ).scalars()
        code = (await conn.execute(text("SELECT code FROM certificates"))).scalar_one()
    async with write(lms, await _viewer(lms, admin)) as tx:
        await notify(tx, [Note(learner.user.id, "info", "Welcome")])
    async with lms.db.reader() as conn:
        notification = (await conn.execute(select(m.Notification.id))).scalar_one()
    # Self has started and done a chapter: IN_PROGRESS.
    from lms_graph.services.learning import complete_chapter, start_course

    async with write(lms, await _viewer(lms, learner)) as tx:
        await start_course(tx, course_a.id)
        await complete_chapter(tx, enrollment, first_chapter)
    # Course I (ILT, taught by the instructor): self holds a seat in the morning session.
    course_i = await world.course("Course I", course_type="ilt")
    course_s = await world.course("Course S", course_type="scorm")
    for course in (course_i, course_s):
        await world.instructor(course, instructor)
    [ilt_enrollment] = await world.assign(course_i, [learner], admin)
    [scorm_enrollment] = await world.assign(course_s, [learner], admin)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
    async with write(lms, await _viewer(lms, admin)) as tx:
        morning, afternoon = [
            await create_session(
                tx,
                SessionSpec(
                    course_i.id,
                    title,
                    start + dt.timedelta(hours=offset),
                    start + dt.timedelta(hours=offset + 2),
                    capacity=5,
                    location="Room 1",
                ),
            )
            for title, offset in (("Morning", 0), ("Afternoon", 4))
        ]
        credential = await create_credential(tx.db, learner.user.id, "scene", admin.user.id, tx.now)
    await act(
        lms, admin, "change_session", ilt_enrollment, sessionId=to_global_id("Session", morning)
    )
    # Curricula the instructor teaches: Path P of P1 (theirs) and P2 (nobody's), Path Q
    # of Q1 (theirs). Self is in both (and so in their courses), with a chapter of P2 done.
    course_p1 = await world.course("Course P1")
    course_p2 = await world.course("Course P2")
    course_q1 = await world.course("Course Q1")
    path_p = await world.curriculum("Path P", [course_p1, course_p2])
    path_q = await world.curriculum("Path Q", [course_q1])
    for course in (path_p, course_p1, path_q, course_q1):
        await world.instructor(course, instructor)
    [path_enrollment] = await world.assign(path_p, [learner], admin)
    [path_q_enrollment] = await world.assign(path_q, [learner], admin)
    async with lms.db.reader() as conn:
        p2_enrollment, p2_chapter = (
            await conn.execute(
                select(m.Enrollment.id, m.Chapter.id)
                .join(m.Chapter, m.Chapter.course_id == m.Enrollment.course_id)
                .where(
                    m.Enrollment.course_id == course_p2.id,
                    m.Enrollment.user_id == learner.user.id,
                )
                .order_by(m.Chapter.position)
            )
        ).first() or (0, 0)
    async with write(lms, await _viewer(lms, learner)) as tx:
        await start_course(tx, course_p2.id)
        await complete_chapter(tx, p2_enrollment, p2_chapter)
    csv = b"Email ID,Employee ID\nnobody@example.com,\n" + (f"{peer.user.email},\n".encode())
    report = await import_assignments(
        lms, await _viewer(lms, admin), ImportRequest(course_id=course_a.id), io.BytesIO(csv)
    )
    pks = {
        "enrollment": enrollment,
        "peer_enrollment": peer_enrollment,
        "completed": completed,
        "course": course_a.id,
        "course_b": course_b.id,
        "course_c": course_c.id,
        "chapter": chapter,
        "open_chapter": open_chapter,
        "question": question,
        "report": report.id,
        "self_user": learner.user.id,
        "outsider": outsider.user.id,
        "notification": notification,
        "course_i": course_i.id,
        "course_s": course_s.id,
        "ilt_enrollment": ilt_enrollment,
        "scorm_enrollment": scorm_enrollment,
        "session": morning,
        "other_session": afternoon,
        "credential": credential.id,
        "path_p": path_p.id,
        "course_p2": course_p2.id,
        "path_enrollment": path_enrollment,
        "path_q_enrollment": path_q_enrollment,
        "p2_enrollment": p2_enrollment,
    }
    types = {
        "enrollment": "Enrollment",
        "peer_enrollment": "Enrollment",
        "completed": "Enrollment",
        "course": "Course",
        "course_b": "Course",
        "course_c": "Course",
        "chapter": "Chapter",
        "open_chapter": "Chapter",
        "question": "Question",
        "report": "ImportReport",
        "self_user": "User",
        "outsider": "User",
        "notification": "Notification",
        "course_i": "Course",
        "course_s": "Course",
        "ilt_enrollment": "Enrollment",
        "scorm_enrollment": "Enrollment",
        "session": "Session",
        "other_session": "Session",
        "credential": "XapiCredential",
        "path_p": "Course",
        "course_p2": "Course",
        "path_enrollment": "Enrollment",
        "path_q_enrollment": "Enrollment",
        "p2_enrollment": "Enrollment",
    }
    ids = {name: json.dumps(to_global_id(types[name], pk)) for name, pk in pks.items()}
    ids["code"] = code
    ids["future"] = json.dumps((dt.date.today() + dt.timedelta(days=30)).isoformat())
    ids["later"] = json.dumps((start + dt.timedelta(days=2)).isoformat())
    ids["later_end"] = json.dumps((start + dt.timedelta(days=2, hours=2)).isoformat())
    ids["course_s_iri"] = f"urn:lms-graph:course:{course_s.id}"
    actors = {
        "admin": admin,
        "instructor": instructor,
        "other_instructor": other,
        "peer": peer,
        "self": learner,
    }
    return Scene(actors, ids, pks)


# --- the tables ---------------------------------------------------------------------------

QUERIES: dict[str, Case] = {
    "viewer": Case("{ viewer { id } }", answers("ok ok ok ok ok null")),
    "node": Case("{ node(id: $enrollment) { id } }", READER),
    "course": Case("{ course(id: $course) { id } }", SIGNED_IN),
    "courses": Case("{ courses { totalCount } }", SIGNED_IN),
    "enrollment": Case("{ enrollment(id: $enrollment) { id } }", READER),
    "users": Case("{ users { totalCount } }", ADMIN),
    "myLearning": Case(
        "{ myLearning { totalCount } }", answers("none none none ok ok UNAUTHENTICATED")
    ),
    "courseTypes": Case("{ courseTypes { key } }", SIGNED_IN),
    "importReport": Case(
        "{ importReport(id: $report) { id } }",
        answers("ok ok null null null UNAUTHENTICATED"),
    ),
    "importSampleUrl": Case("{ importSampleUrl }", SIGNED_IN),
    "certificatesExpiring": Case(
        "{ certificatesExpiring(withinDays: 30) { code } }",
        answers("any FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN UNAUTHENTICATED"),
    ),
    "mailOutbox": Case("{ mailOutbox { queued } }", ADMIN),
}

_ON_COURSE = "{ course(id: $course) { %s } }"
COURSE_FIELDS: dict[str, Case] = {
    name: Case(_ON_COURSE % selection, expected, pick=name)
    for name, selection, expected in [
        ("id", "id", SIGNED_IN),
        ("title", "title", SIGNED_IN),
        ("kind", "kind", SIGNED_IN),
        ("courseType", "courseType", SIGNED_IN),
        ("credits", "credits", SIGNED_IN),
        ("chapters", "chapters { id }", SIGNED_IN),
        ("hasQuiz", "hasQuiz", SIGNED_IN),
        ("courses", "courses { id }", answers("none none none none none UNAUTHENTICATED")),
        ("instructors", "instructors { id }", SIGNED_IN),
        ("learners", "learners { totalCount }", MANAGER),
        ("learnerCounts", "learnerCounts { count }", MANAGER),
        ("massActions", "massActions { key }", MANAGER),
        ("quizExportUrl", "quizExportUrl", answers("ok ok null null null UNAUTHENTICATED")),
        ("certificateValidity", "certificateValidity { validDays }", SIGNED_IN),
    ]
}

# The ILT plugin's and the SCORM/xAPI plugin's, on a course of their own type.
COURSE_FIELDS["sessions"] = Case(
    "{ course(id: $course_i) { sessions { id } } }", SIGNED_IN, pick="sessions"
)
# The e-mail plugin's: the course's reminder days are no secret to anyone signed in.
COURSE_FIELDS["reminderDays"] = Case(_ON_COURSE % "reminderDays", SIGNED_IN, pick="reminderDays")
COURSE_FIELDS["activityId"] = Case(
    "{ course(id: $course_s) { activityId } }", SIGNED_IN, pick="activityId"
)

_ON_ENROLLMENT = "{ enrollment(id: $enrollment) { %s } }"
_NESTED = answers("ok ok null null ok UNAUTHENTICATED")
ENROLLMENT_FIELDS: dict[str, Case] = {
    name: Case(_ON_ENROLLMENT % selection, expected, pick=name)
    for name, selection, expected in [
        ("id", "id", _NESTED),
        ("user", "user { id }", _NESTED),
        ("course", "course { id }", _NESTED),
        ("assignment", "assignment", _NESTED),
        ("dueDate", "dueDate", answers("any any null null any UNAUTHENTICATED")),
        ("assignedBy", "assignedBy { id }", _NESTED),
        ("assignedAt", "assignedAt", _NESTED),
        ("message", "message", answers("any any null null any UNAUTHENTICATED")),
        ("state", "state", _NESTED),
        ("progress", "progress", _NESTED),
        ("completedAt", "completedAt", answers("any any null null any UNAUTHENTICATED")),
        ("attempt", "attempt { number }", _NESTED),
        ("attempts", "attempts { number }", _NESTED),
        # A learner acts on nobody, themself included: their menu is empty.
        (
            "availableActions",
            "availableActions { key }",
            answers("ok ok null null none UNAUTHENTICATED"),
        ),
        ("history", "history { action }", _NESTED),
        ("chapterInsights", "chapterInsights { status }", _NESTED),
        ("quizInsights", "quizInsights { score }", _NESTED),
        ("quizExportUrl", "quizExportUrl", answers("ok ok null null null UNAUTHENTICATED")),
        (
            "certificates",
            "certificates { code }",
            answers("none none null null none UNAUTHENTICATED"),
        ),
        (
            "certificateHistory",
            "certificateHistory { code revokedBy { id } }",
            answers("none none null null none UNAUTHENTICATED"),
        ),
    ]
}

_ON_ILT = "{ enrollment(id: $ilt_enrollment) { %s } }"
_ACTIVITY = Case(
    "{ enrollment(id: $scorm_enrollment) { activity { edges { cursor } } } }",
    # View SCORM/xAPI Activity is admin-only (CONTRACT section 3).
    answers("ok FORBIDDEN null null FORBIDDEN UNAUTHENTICATED"),
    pick="activity",
)
ENROLLMENT_FIELDS |= {
    "session": Case(_ON_ILT % "session { id }", _NESTED, pick="session"),
    "sessionSeats": Case(_ON_ILT % "sessionSeats { status }", _NESTED, pick="sessionSeats"),
    # Seated, not waiting: nothing to show, but readable by the same people.
    "waitlistedSession": Case(
        _ON_ILT % "waitlistedSession { id }",
        answers("any any null null any UNAUTHENTICATED"),
        pick="waitlistedSession",
    ),
    "waitlistPosition": Case(
        _ON_ILT % "waitlistPosition",
        answers("any any null null any UNAUTHENTICATED"),
        pick="waitlistPosition",
    ),
    "activity": _ACTIVITY,
    # The registration content is launched with: whoever sees the enrollment.
    "xapiRegistration": Case(
        "{ enrollment(id: $scorm_enrollment) { xapiRegistration } }",
        answers("ok ok null null ok UNAUTHENTICATED"),
        pick="xapiRegistration",
    ),
    # The learner's saved xAPI State: administrators, as View SCORM/xAPI Activity (the
    # scene saves none: an empty list).
    "xapiState": Case(
        "{ enrollment(id: $scorm_enrollment) { xapiState { stateId } } }",
        answers("none FORBIDDEN null null FORBIDDEN UNAUTHENTICATED"),
        pick="xapiState",
    ),
}

MUTATIONS: dict[str, Case] = {
    "createUser": Case(
        'mutation { createUser(input: {name: "New", email: "new@example.com"}) { id } }', ADMIN
    ),
    "updateUser": Case(
        'mutation { updateUser(input: {id: $outsider, name: "Renamed"}) { id } }', ADMIN
    ),
    "createCourse": Case(
        'mutation { createCourse(input: {title: "New", courseType: "self_paced", '
        "kind: COURSE, credits: 1}) { id } }",
        ADMIN,
    ),
    "assignCourse": Case(
        "mutation { assignCourse(input: {courseId: $course, userIds: [$outsider]}) "
        "{ enrollments { id } } }",
        MANAGER,
        pick="enrollments",
    ),
    "startCourse": Case("mutation { startCourse(courseId: $course_c) { id } }", SIGNED_IN),
    "completeChapter": Case(
        "mutation { completeChapter(enrollmentId: $enrollment, chapterId: $open_chapter) { id } }",
        OWN,
    ),
    "answerQuiz": Case(
        "mutation { answerQuiz(enrollmentId: $enrollment, questionId: $question, choice: 1) "
        "{ id } }",
        OWN,
    ),
    "runAction": Case(
        'mutation { runAction(input: {action: "mark_complete", enrollmentIds: [$enrollment]}) '
        "{ succeeded outcomes { code } } }",
        MANAGER,
    ),
    "importAssignments": Case(http=lambda s, c, t: _graphql_upload(s, c, t), answers=MANAGER),
    "createSession": Case(
        'mutation { createSession(input: {courseId: $course_i, title: "Extra", '
        'startsAt: $later, endsAt: $later_end, capacity: 3, location: "Room 2"}) { id } }',
        MANAGER,
    ),
    # Only one's own seat: whoever is not enrolled in the course has none to take.
    "enrollInSession": Case(
        "mutation { enrollInSession(sessionId: $other_session) { id } }",
        answers("BAD_USER_INPUT BAD_USER_INPUT BAD_USER_INPUT BAD_USER_INPUT ok UNAUTHENTICATED"),
    ),
    # API keys: a user's own, or anyone's for an admin.
    "createXapiCredential": Case(
        "mutation { createXapiCredential(userId: $self_user) { secret } }",
        answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED"),
    ),
    "revokeXapiCredential": Case(
        "mutation { revokeXapiCredential(id: $credential) { id } }",
        answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED"),
    ),
    "setCertificateValidity": Case(
        "mutation { setCertificateValidity(courseId: $course, validDays: 30) { validDays } }",
        ADMIN,
    ),
    # Each user their own reminders; a course's reminder days are its managers'.
    "setMailReminders": Case("mutation { setMailReminders(enabled: true) }", SIGNED_IN),
    "setCourseReminderDays": Case(
        "mutation { setCourseReminderDays(courseId: $course, days: 5) }", MANAGER
    ),
}


def _action(key: str, target: str = "enrollment", params: str = "", *prep: tuple[str, str]) -> Case:
    document = (
        f'mutation {{ runAction(input: {{action: "{key}", enrollmentIds: [${target}]'
        f"{params}}}) {{ succeeded outcomes {{ code }} }} }}"
    )
    return Case(document, MANAGER, prepare=prep)


ACTIONS: dict[str, Case] = {
    "update_due_date": _action("update_due_date", "enrollment", ", params: {dueDate: $future}"),
    "reset_progress": _action("reset_progress"),
    "mark_complete": _action("mark_complete"),
    "mark_incomplete": _action("mark_incomplete", "completed"),
    "make_instructor": _action("make_instructor"),
    # Made an instructor of course A first, ``self`` manages it too: they may give their
    # own rights up.
    "remove_instructor": dataclasses.replace(
        _action("remove_instructor", "enrollment", "", ("make_instructor", "enrollment")),
        answers=answers("ok ok FORBIDDEN FORBIDDEN ok UNAUTHENTICATED"),
    ),
    "unassign": _action("unassign"),
    "remove": _action("remove"),
    "remove_certificate": _action("remove_certificate", "completed"),
    "generate_certificate": _action(
        "generate_certificate", "completed", "", ("remove_certificate", "completed")
    ),
    "change_session": _action(
        "change_session", "ilt_enrollment", ", params: {sessionId: $other_session}"
    ),
    "mark_no_show": _action("mark_no_show", "ilt_enrollment"),
    # Views are read through their fields, not runAction.
    "view_activity": _ACTIVITY,
    "view_history": Case(_ON_ENROLLMENT % "history { action }", _NESTED, pick="history"),
    "view_chapter_insights": Case(
        _ON_ENROLLMENT % "chapterInsights { status }", _NESTED, pick="chapterInsights"
    ),
    "view_quiz_insights": Case(
        _ON_ENROLLMENT % "quizInsights { score }", _NESTED, pick="quizInsights"
    ),
}


# Rights over every course an action writes to (CONTRACT section 11): the instructor
# teaches Path P and P1, not P2; Path Q and all of its courses.
FORBIDDEN_BEYOND = answers("ok SKIPPED:FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN UNAUTHENTICATED")
CURRICULA: dict[str, Case] = {
    # Completing or resetting Path P would write to P2 as well.
    "mark_complete on Path P": Case(
        _action("mark_complete", "path_enrollment").document, FORBIDDEN_BEYOND
    ),
    "reset_progress on Path P": Case(
        _action("reset_progress", "path_enrollment").document, FORBIDDEN_BEYOND
    ),
    "mark_complete on Path Q": _action("mark_complete", "path_q_enrollment"),
    "reset_progress on Path Q, completed first": _action(
        "reset_progress", "path_q_enrollment", "", ("mark_complete", "path_q_enrollment")
    ),
    # Only the curriculum's own row: allowed.
    "update_due_date on Path P": _action(
        "update_due_date", "path_enrollment", ", params: {dueDate: $future}"
    ),
    # Assigning Path P assigns P2 too.
    "assignCourse to Path P": Case(
        "mutation { assignCourse(input: {courseId: $path_p, userIds: [$outsider]}) "
        "{ enrollments { id } } }",
        ADMIN,
        pick="enrollments",
    ),
    "learners of P2": Case("{ course(id: $course_p2) { learners { totalCount } } }", ADMIN),
    # Of a learner, an instructor sees what belongs to their courses only.
    "self's enrollment in P2": Case(
        "{ node(id: $p2_enrollment) { id } }", answers("ok null null null ok UNAUTHENTICATED")
    ),
}


def _get_route(template: str) -> Callable[[Scene, AsyncClient, str | None], Awaitable[Response]]:
    async def get(scene: Scene, http: AsyncClient, token: str | None) -> Response:
        return await http.get(  # a redirect is an answer of its own
            Template(template).substitute(scene.ids).replace('"', ""), headers=_auth(token)
        )

    return get


async def _upload(scene: Scene, http: AsyncClient, token: str | None) -> Response:
    csv = b"Email ID,Employee ID\n" + f"{scene.actors['self'].user.email},\n".encode()
    return await http.post(
        "/imports/assignments",
        params={"courseId": json.loads(scene.ids["course"])},
        files={"file": ("in.csv", csv, "text/csv")},
        headers=_auth(token),
    )


async def _graphql_upload(scene: Scene, http: AsyncClient, token: str | None) -> Response:
    csv = b"Email ID,Employee ID\n" + f"{scene.actors['peer'].user.email},\n".encode()
    operations = {
        "query": "mutation($file: Upload!) { importAssignments(input: "
        f"{{courseId: {scene.ids['course']}, file: $file}}) {{ id }} }}",
        "variables": {"file": None},
    }
    return await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("in.csv", csv, "text/csv")},
        headers=_auth(token),
    )


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


ROUTES: dict[str, Case] = {
    "GET /healthz": Case(http=_get_route("/healthz"), answers=EVERYONE),
    # For the operator's scraper: counts only, no user data (tests/test_metrics.py).
    "GET /metrics": Case(http=_get_route("/metrics"), answers=EVERYONE),
    # The sample holds no data: any signed-in user may fetch it.
    "GET /imports/sample.csv": Case(http=_get_route("/imports/sample.csv"), answers=SIGNED_IN),
    # The dashboard's static files hold no data; every data call carries a token.
    "GET /admin": Case(http=_get_route("/admin"), answers=EVERYONE),
    "GET /admin/": Case(http=_get_route("/admin/"), answers=EVERYONE),
    "POST /imports/assignments": Case(http=_upload, answers=MANAGER),
    "GET /imports/reports/{id}/failures.csv": Case(
        http=_get_route("/imports/reports/$report/failures.csv"),
        answers=answers("ok ok NOT_FOUND NOT_FOUND NOT_FOUND UNAUTHENTICATED"),
    ),
    "GET /exports/quiz/enrollments/{id}.xlsx": Case(
        http=_get_route("/exports/quiz/enrollments/$enrollment.xlsx"), answers=MANAGER
    ),
    "GET /exports/quiz/courses/{id}.xlsx": Case(
        http=_get_route("/exports/quiz/courses/$course.xlsx"), answers=MANAGER
    ),
    "GET /certificates/verify/{code}": Case(
        http=_get_route("/certificates/verify/$code"), answers=EVERYONE
    ),
    "GET /certificates/{code}.pdf": Case(
        http=_get_route("/certificates/$code.pdf"),
        answers=answers("ok ok FORBIDDEN FORBIDDEN ok UNAUTHENTICATED"),
    ),
    # The signed link in a reminder, not a token, decides: GET only asks to confirm;
    # a POST with a signature that does not match is refused whoever sends it.
    "GET /mail/unsubscribe": Case(
        http=lambda s, c, t: _unsubscribe(s, c, t, "GET"), answers=EVERYONE
    ),
    "POST /mail/unsubscribe": Case(
        http=lambda s, c, t: _unsubscribe(s, c, t, "POST", forged=True),
        answers=answers("FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN"),
    ),
}


async def _unsubscribe(
    scene: Scene, http: AsyncClient, token: str | None, method: str, *, forged: bool = False
) -> Response:
    user = scene.pks["self_user"]
    sig = signature(SECRET, user) if not forged else signature("another key", user)
    return await http.request(
        method, "/mail/unsubscribe", params={"user": user, "sig": sig}, headers=_auth(token)
    )


XAPI = {"X-Experience-API-Version": "1.0.3"}


def _statement(scene: Scene) -> dict[str, Any]:
    """A statement about ``self`` launching course S."""
    return {
        "actor": {"mbox": f"mailto:{scene.actors['self'].user.email}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/launched", "display": {"en-US": "launched"}},
        "object": {"id": scene.ids["course_s_iri"]},
    }


def _xapi(method: str) -> Callable[[Scene, AsyncClient, str | None], Awaitable[Response]]:
    async def send(scene: Scene, http: AsyncClient, token: str | None) -> Response:
        headers = {**_auth(token), **XAPI}
        if method == "GET":
            return await http.get("/xapi/statements", headers=headers)
        if method == "POST":
            return await http.post("/xapi/statements", json=_statement(scene), headers=headers)
        params = {"statementId": "2f1e1c4e-6a7b-4c1d-9e8f-0a1b2c3d4e5f"}
        return await http.put(
            "/xapi/statements", params=params, json=_statement(scene), headers=headers
        )

    return send


def _xapi_call(
    method: str,
    path: str,
    *,
    document: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Callable[[Scene, AsyncClient, str | None], Awaitable[Response]]:
    """A request to an xAPI resource about ``self`` and course S: ``document`` adds the
    State/profile parameters; OPTIONS is a CORS preflight; ``POST /xapi/activities`` and
    ``/xapi/agents`` are the alternate syntax's GET."""

    async def send(scene: Scene, http: AsyncClient, token: str | None) -> Response:
        agent = json.dumps({"mbox": f"mailto:{scene.actors['self'].user.email}"})
        params = {"agent": agent, "activityId": scene.ids["course_s_iri"]}
        if document:
            params["stateId" if "state" in path else "profileId"] = "bookmark"
        if path.endswith("/activities") or path.endswith("/activities/profile"):
            params.pop("agent")
        elif path.endswith("/agents") or path.endswith("/agents/profile"):
            params.pop("activityId")
        sent = {**_auth(token), **XAPI, **(headers or {})}
        if method == "POST" and path in ("/xapi/activities", "/xapi/agents"):
            form = {**params, **sent}
            return await http.post(path, params={"method": "GET"}, data=form)
        return await http.request(
            method, path, params=params, json={"page": 3} if document else None, headers=sent
        )

    return send


async def _scorm_commit(scene: Scene, http: AsyncClient, token: str | None) -> Response:
    return await http.post(
        f"/scorm/runtime/{json.loads(scene.ids['scorm_enrollment'])}",
        json={"cmi.core.lesson_status": "incomplete"},
        headers=_auth(token),
    )


ROUTES |= {
    # Statements about self: self and admins may send them; nobody else (CONTRACT 10).
    "POST /xapi/statements": Case(
        http=_xapi("POST"), answers=answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED")
    ),
    "PUT /xapi/statements": Case(
        http=_xapi("PUT"), answers=answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED")
    ),
    # Reading: every signed-in user gets an answer, a learner only about themself.
    "GET /xapi/statements": Case(http=_xapi("GET"), answers=SIGNED_IN),
    "GET /xapi/about": Case(http=_get_route("/xapi/about"), answers=EVERYONE),
    # CORS preflights carry no credentials and answer nothing about anyone.
    **{
        f"OPTIONS {path}": Case(http=_xapi_call("OPTIONS", path), answers=EVERYONE)
        for path in (
            "/xapi/statements",
            "/xapi/activities/state",
            "/xapi/activities/profile",
            "/xapi/agents/profile",
            "/xapi/activities",
            "/xapi/agents",
            "/xapi/about",
        )
    },
    # State and Agent Profile documents: the agent's own, and admins'.
    **{
        f"{method} {path}": Case(
            http=_xapi_call(
                method,
                path,
                document=True,
                headers={"If-None-Match": "*"} if method == "PUT" else None,
            ),
            answers=answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED")
            if method != "GET"
            else answers("NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN NOT_FOUND UNAUTHENTICATED"),
        )
        for path in ("/xapi/activities/state", "/xapi/agents/profile")
        for method in ("GET", "PUT", "POST", "DELETE")
    },
    # Activity Profile documents: every signed-in user reads them (none stored: 404),
    # administrators write them.
    "GET /xapi/activities/profile": Case(
        http=_xapi_call("GET", "/xapi/activities/profile", document=True),
        answers=answers("NOT_FOUND NOT_FOUND NOT_FOUND NOT_FOUND NOT_FOUND UNAUTHENTICATED"),
    ),
    **{
        f"{method} /xapi/activities/profile": Case(
            http=_xapi_call(
                method,
                "/xapi/activities/profile",
                document=True,
                headers={"If-None-Match": "*"} if method == "PUT" else None,
            ),
            answers=ADMIN,
        )
        for method in ("PUT", "POST", "DELETE")
    },
    # The Activity and Person objects: every signed-in user.
    **{
        f"{method} {path}": Case(http=_xapi_call(method, path), answers=SIGNED_IN)
        for path in ("/xapi/activities", "/xapi/agents")
        for method in ("GET", "POST")
    },
    "POST /scorm/runtime/{enrollment_id}": Case(
        http=_scorm_commit,
        answers=answers("ok FORBIDDEN FORBIDDEN FORBIDDEN ok UNAUTHENTICATED"),
    ),
}
GRAPHQL_ROUTE = "/graphql"
"""Served by the tables above."""

NODE_TYPES: dict[str, str] = {
    # Node type -> the scene object of that type the roles are asked about.
    "Enrollment": "enrollment",
    "User": "self_user",
    "ImportReport": "report",
    "Notification": "notification",
    "Course": "course",
    "Chapter": "chapter",
    "Question": "question",
    "Session": "session",
}
NODE_ANSWERS: dict[str, Answers] = {
    "Enrollment": READER,
    # Instructors see the users learning in their courses; a peer does not.
    "User": READER,
    "ImportReport": answers("ok ok null null null UNAUTHENTICATED"),
    "Notification": answers("ok null null null ok UNAUTHENTICATED"),
    # The catalog: every signed-in user may see courses, their chapters and questions.
    "Course": SIGNED_IN,
    "Chapter": SIGNED_IN,
    "Question": SIGNED_IN,
    # Sessions are seen by whoever sees their course: the catalog.
    "Session": SIGNED_IN,
}


# --- judging -----------------------------------------------------------------------------

_HTTP_CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 400: "BAD_USER_INPUT"}


def judge_graphql(body: Mapping[str, Any], pick: str) -> str:
    if body.get("errors"):
        return str(body["errors"][0].get("extensions", {}).get("code", "NO_CODE"))
    value: Any = next(iter((body.get("data") or {}).values()), None)
    for step in filter(None, pick.split(".")):
        value = None if value is None else value.get(step)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "ok" if value else "none"
    if isinstance(value, dict):
        if "succeeded" in value:  # an ActionRun
            codes = ",".join(str(o["code"]) for o in value["outcomes"])
            return "ok" if value["succeeded"] else f"SKIPPED:{codes}"
        if "totalCount" in value:
            return "ok" if value["totalCount"] else "none"
    return "ok"


def judge_http(response: Response) -> str:
    if response.status_code < 400:  # a redirect is an answer too
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            if isinstance(body, dict) and "data" in body:  # a GraphQL answer
                return judge_graphql(body, "")
        return "ok"
    try:
        code = response.json().get("code")
    except ValueError:
        code = None
    expected = _HTTP_CODES.get(response.status_code, f"HTTP {response.status_code}")
    return str(code) if code == expected else f"HTTP {response.status_code} {code}"


def matches(expected: str, got: str) -> bool:
    if expected == "any":
        return got in ("ok", "null", "none")
    return expected == got


async def dump(lms: LMS) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the scene is small): what "nothing changed" compares."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with lms.db.reader() as conn:
        for table in merged_metadata(lms).sorted_tables:
            result = await conn.execute(select(table))
            rows[table.name] = sorted((tuple(row) for row in result), key=repr)
    return rows


class Runner:
    def __init__(self, lms: LMS) -> None:
        self.lms = lms
        self.app = create_app(lms=lms)
        self.mismatches: list[str] = []
        self._scene: Scene | None = None
        self._rows: list[tuple[Table, list[dict[str, Any]]]] = []

    async def fresh_scene(self) -> Scene:
        """The scene as first built: built once, then restored from its rows (fast)."""
        await _empty(self.lms)
        if self._scene is None:
            self._scene = await build_scene(self.lms)
            async with self.lms.db.reader() as conn:
                for table in merged_metadata(self.lms).sorted_tables:
                    found = (await conn.execute(select(table))).mappings()
                    self._rows.append((table, [dict(row) for row in found]))
            return self._scene
        async with self.lms.db.transaction() as conn:
            for table, rows in self._rows:
                if rows:
                    await conn.execute(table.insert(), rows)
                if not self.lms.db.is_sqlite and "id" in table.c:
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'COALESCE(MAX(id), 0) + 1, false) FROM "{table.name}"'
                        )
                    )
        return self._scene

    async def ask(self, scene: Scene, case: Case, role: str) -> str:
        for key, target in case.prepare:
            await act(self.lms, scene.actors["admin"], key, scene.pks[target])
        token = scene.token(role)
        transport = ASGITransport(app=self.app)
        async with AsyncClient(transport=transport, base_url="http://lms.test") as http:
            if case.http is not None:
                return judge_http(await case.http(scene, http, token))
            response = await http.post(
                "/graphql", json={"query": scene.fill(case.document)}, headers=_auth(token)
            )
            assert response.status_code == 200, response.text
            return judge_graphql(response.json(), case.pick)

    def check(self, entry: str, role: str, expected: str, got: str) -> None:
        if not matches(expected, got):
            self.mismatches.append(f"{entry} as {role}: expected {expected}, got {got}")

    async def reads(self, entries: Mapping[str, Case]) -> None:
        """Entries that change nothing: one scene for all of them."""
        scene = await self.fresh_scene()
        before = await dump(self.lms)
        for entry, case in entries.items():
            for role, expected in zip(ROLES, case.answers, strict=True):
                self.check(entry, role, expected, await self.ask(scene, case, role))
        assert await dump(self.lms) == before, "a read changed the database"

    async def writes(self, entries: Mapping[str, Case]) -> None:
        """Refusals first, on one scene, checked to change nothing; then each role that
        may act, on a fresh scene."""
        for entry, case in entries.items():
            scene = await self.fresh_scene()
            for key, target in case.prepare:
                await act(self.lms, scene.actors["admin"], key, scene.pks[target])
            prepared = dataclasses.replace(case, prepare=())
            before = await dump(self.lms)
            allowed = []
            for role, expected in zip(ROLES, case.answers, strict=True):
                if expected in ("ok", "any"):
                    allowed.append((role, expected))
                    continue
                self.check(entry, role, expected, await self.ask(scene, prepared, role))
            if await dump(self.lms) != before:
                self.mismatches.append(f"{entry}: refused, yet rows changed")
            for role, expected in allowed:
                scene = await self.fresh_scene()
                self.check(entry, role, expected, await self.ask(scene, case, role))

    def verdict(self) -> None:
        assert not self.mismatches, "authorization matrix:\n" + "\n".join(self.mismatches)


def _listed(runner: Runner, kind: str, found: list[str], table: Mapping[str, Any]) -> list[str]:
    """The entries ``table`` has an expectation for; the others are reported as failures
    (after the known ones have run, so one new entry does not hide the rest)."""
    missing = [name for name in found if name not in table]
    if missing:
        runner.mismatches.append(
            f"no authorization expectation for {kind} {', '.join(missing)}: add a line per "
            f"entry to the {kind} table of tests/test_authz_matrix.py saying what each of "
            f"{', '.join(ROLES)} gets"
        )
    return [name for name in found if name in table]


def _fields(lms: LMS, type_name: str) -> list[str]:
    schema = build_schema(lms)
    graphql_type = schema._schema.get_type(type_name)
    assert graphql_type is not None
    return list(graphql_type.fields)  # type: ignore[attr-defined]


# --- the tests ---------------------------------------------------------------------------


async def test_every_query_field(lms: LMS) -> None:
    runner = Runner(lms)
    found = _listed(runner, "Query field", _fields(lms, "Query"), QUERIES)
    await runner.reads({name: QUERIES[name] for name in found})
    runner.verdict()


async def test_every_field_of_course_and_enrollment(lms: LMS) -> None:
    """Everyone signed in reaches a course; whoever sees an enrollment sees its fields."""
    runner = Runner(lms)
    course = _listed(runner, "Course field", _fields(lms, "Course"), COURSE_FIELDS)
    enrollment = _listed(runner, "Enrollment field", _fields(lms, "Enrollment"), ENROLLMENT_FIELDS)
    await runner.reads(
        {f"Course.{name}": COURSE_FIELDS[name] for name in course}
        | {f"Enrollment.{name}": ENROLLMENT_FIELDS[name] for name in enrollment}
    )
    runner.verdict()


async def test_every_mutation(lms: LMS) -> None:
    runner = Runner(lms)
    found = _listed(runner, "Mutation", _fields(lms, "Mutation"), MUTATIONS)
    await runner.writes({name: MUTATIONS[name] for name in found})
    runner.verdict()


async def test_actions_on_curricula(lms: LMS) -> None:
    runner = Runner(lms)
    reads = {
        name: case for name, case in CURRICULA.items() if not case.document.startswith("mutation")
    }
    await runner.reads(reads)
    await runner.writes({name: case for name, case in CURRICULA.items() if name not in reads})
    runner.verdict()


async def test_every_action(lms: LMS) -> None:
    runner = Runner(lms)
    found = _listed(runner, "action", sorted(lms.actions), ACTIONS)
    views = {key: ACTIONS[key] for key in found if ACTIONS[key].pick}
    await runner.reads(views)
    await runner.writes({key: ACTIONS[key] for key in found if key not in views})
    runner.verdict()


def _routes(lms: LMS) -> list[str]:
    found: list[str] = []
    for route in create_app(lms=lms).routes:
        if isinstance(route, Mount):  # a whole tree: judged by what its root serves
            found.append(f"GET {route.path}/")
            continue
        assert isinstance(route, Route), f"{route!r}: the matrix knows only Route and Mount"
        if route.path == GRAPHQL_ROUTE:
            continue
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            found.append(f"{method} {route.path}")
    return found


async def test_every_http_route(lms: LMS) -> None:
    runner = Runner(lms)
    found = _listed(runner, "route", _routes(lms), ROUTES)
    await runner.reads({name: ROUTES[name] for name in found if name.startswith("GET ")})
    await runner.writes({name: ROUTES[name] for name in found if not name.startswith("GET ")})
    runner.verdict()


async def test_node_of_every_type(lms: LMS) -> None:
    """``node(id)`` of anything the viewer may not see is null, for every Node type."""
    schema = build_schema(lms)._schema
    node = schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    runner = Runner(lms)
    found = _listed(
        runner, "Node type", sorted(t.name for t in schema.get_possible_types(node)), NODE_TYPES
    )
    await runner.reads(
        {
            f"node({name})": Case(
                f"{{ node(id: ${NODE_TYPES[name]}) {{ __typename id }} }}", NODE_ANSWERS[name]
            )
            for name in found
        }
    )
    runner.verdict()


@pytest.mark.parametrize("bad_id", ['"VXNlcjo5OTk5OQ=="', '"not-an-id"', '"Q291cnNlOg=="'])
async def test_node_of_a_missing_or_malformed_id_is_null(lms: LMS, bad_id: str) -> None:
    scene = await Runner(lms).fresh_scene()
    runner = Runner(lms)
    got = await runner.ask(scene, Case(f"{{ node(id: {bad_id}) {{ id }} }}"), "admin")
    assert got == "null"
