# mypy: disable-error-code="untyped-decorator"
"""SQL rendering of a course's learners page (PostgreSQL): PostgreSQL builds each node's
JSON, the executor embeds it. Differential: every document is sent to two apps on the
same database, one with ``sql_rendering`` on and one with it off, and the whole answers
(data and errors, key order included, ``true`` never equal to ``1``) must agree.

Each case also says whether the rendering app is expected to have PostgreSQL build the
nodes (a statement with ``json_build_object``), so that an agreement does not come from
both apps taking the ordinary path; the app with rendering off never does. SQLite never
renders: these tests skip there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from bench.queries import LMS_QUERY, LMS_QUERY_ACTIONS
from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.testing import StatementCounter
from lms_graph.values import LearnerState
from lms_graph_plugins.certificates.tables import certificates
from tests.helpers import Actor, World, gid

UTC = dt.UTC

# --- the fields PostgreSQL renders ---------------------------------------------------

USER_FIELDS: dict[str, Any] = dict.fromkeys(
    ("__typename", "id", "name", "email", "employeeId", "active", "isAdmin")
)
CERTIFICATE_FIELDS: dict[str, Any] = dict.fromkeys(
    (
        "__typename",
        "id",
        "code",
        "issuedAt",
        "attemptNumber",
        "expiresAt",
        "revokedAt",
        "credits",
        "enrollmentId",
        "userId",
        "courseId",
    )
)
ACTION_FIELDS: dict[str, Any] = dict.fromkeys(
    ("__typename", "key", "label", "description", "kind", "destructive", "confirm")
)
ENROLLMENT_FIELDS: dict[str, Any] = {
    **dict.fromkeys(
        (
            "__typename",
            "id",
            "state",
            "progress",
            "assignment",
            "dueDate",
            "assignedAt",
            "completedAt",
            "message",
        )
    ),
    "user": USER_FIELDS,
    "assignedBy": USER_FIELDS,
    "certificates": CERTIFICATE_FIELDS,
    "availableActions": ACTION_FIELDS,
}
TYPES = {
    "user": "User",
    "assignedBy": "User",
    "certificates": "Certificate",
    "availableActions": "Action",
}


def _everything(fields: dict[str, Any]) -> str:
    return " ".join(
        name if sub is None else f"{name} {{ {_everything(sub)} }}" for name, sub in fields.items()
    )


ALL_NODE = _everything(ENROLLMENT_FIELDS)
"""Every rendered field of a learner, once each."""


def page(
    node: str, arguments: str = "first: 50", *, around: str = "", edge: str = "", after: str = ""
) -> str:
    """A course's page of learners, each node ``node``; ``around`` before ``edges`` and
    ``after`` after them, ``edge`` beside ``node``."""
    return (
        "query ($course: ID!) { course(id: $course) { learners(" + arguments + ") { "
        f"{around} edges {{ {edge} node {{ {node} }} }} {after} }} }} }}"
    )


# --- the world ------------------------------------------------------------------------

QUOTED = 'Zoë "Quoted" O\'Brien \\ back\\slash'
NEWLINE = "New\nline\ttab 😀 中文 \u2028 \x01 end"
MESSAGE = 'Say "hi" \\ to\nall 🎉 — ünïcödé \u2029 \x1f'


@dataclasses.dataclass
class Pair:
    """Two apps on one database: ``on`` renders in SQL, ``off`` does not."""

    on: AsyncClient
    off: AsyncClient
    on_lms: LMS
    off_lms: LMS
    course: str
    other_course: str
    tokens: dict[str, str]
    """admin, instructor (of the course), stranger (instructor of another), learner."""


@dataclasses.dataclass
class Answers:
    document: str
    variables: dict[str, Any]
    on: tuple[int, Any]
    off: tuple[int, Any]
    on_sql: StatementCounter
    off_sql: StatementCounter

    @property
    def rendered(self) -> bool:
        return _rendered(self.on_sql)

    def report(self) -> str:
        return (
            f"document:\n{self.document}\nvariables: {self.variables}\n"
            f"rendering on ({self.on[0]}):\n{json.dumps(self.on[1], ensure_ascii=False)}\n"
            f"rendering off ({self.off[0]}):\n{json.dumps(self.off[1], ensure_ascii=False)}"
        )


def _rendered(counter: StatementCounter) -> bool:
    return any("json_build_object" in sql for sql in counter.statements)


def _canonical(value: Any) -> Any:
    """JSON as compared: objects keep their key order, booleans are not numbers."""
    if isinstance(value, dict):
        return ("{", tuple((key, _canonical(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("[", tuple(_canonical(item) for item in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    return value


@pytest.fixture(autouse=True)
def _postgresql_only(lms_backend: str) -> None:
    if lms_backend != "postgresql":
        pytest.skip("SQL rendering is PostgreSQL's alone (SQLite never renders)")


async def _run(http: AsyncClient, action: str, ids: list[int], token: str) -> None:
    response = await http.post(
        "/graphql",
        json={
            "query": "mutation ($a: String!, $ids: [ID!]!) {"
            " runAction(input: {action: $a, enrollmentIds: $ids}) { succeeded } }",
            "variables": {"a": action, "ids": [gid("Enrollment", i) for i in ids]},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["data"]["runAction"]["succeeded"] == len(ids), response.text


async def _learners(lms: LMS, world: World) -> tuple[dict[str, Actor], Any, Any, dict[str, int]]:
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    stranger = await world.user("Oscar Other")
    course = await world.course("Rendering")
    other = await world.course("Other")
    await world.instructor(course, instructor)
    await world.instructor(other, stranger)
    people = {
        "quoted": await world.user(QUOTED, employee_id='E-"1"\\'),
        "no_email": await world.user("Nomail Person", employee_id="EMP-2"),
        "newline": await world.user("Newline Placeholder"),
        "several": await world.user("Several Certificates"),
        "unassigned_by": await world.user("Nobody Assigned"),
        "admin_inactive": await world.user("Ädmin Inactive", admin=True),
        "whole_seconds": await world.user("Whole Seconds"),
        "in_progress": await world.user("Ivy Progress"),
        "learner": await world.user("Lena Learner"),
    }
    ids: dict[str, int] = {}
    for key, due, message in (
        ("quoted", dt.date(2030, 1, 1), MESSAGE),
        ("no_email", None, None),
        ("newline", dt.date(2020, 1, 1), ""),
        ("several", dt.date(2031, 12, 31), "Two certificates"),
        ("unassigned_by", None, "Assigned by nobody"),
        ("admin_inactive", dt.date(2029, 6, 1), None),
        ("whole_seconds", None, None),
        ("in_progress", dt.date(2021, 3, 4), None),
        ("learner", None, None),
    ):
        [ids[key]] = await world.assign(course, [people[key]], admin, due=due, message=message)
    await world.assign(other, [people["quoted"], people["learner"]], admin)
    actors = {"admin": admin, "instructor": instructor, "stranger": stranger, **people}
    return actors, course, other, ids


async def _shape(lms: LMS, http: AsyncClient, admin: Actor, ids: dict[str, int]) -> None:
    """Completions, certificates (several, revoked, expiring), timestamps with and
    without microseconds, a null assigner, an inactive user."""
    token = admin.token
    await _run(http, "mark_complete", [ids["quoted"], ids["several"], ids["whole_seconds"]], token)
    await _run(http, "reset_progress", [ids["several"]], token)
    await _run(http, "mark_complete", [ids["several"]], token)
    async with lms.db.transaction() as conn:
        attempt = (
            await conn.execute(
                select(m.Attempt.id, m.Attempt.number)
                .where(m.Attempt.enrollment_id == ids["several"])
                .order_by(m.Attempt.number.desc())
                .limit(1)
            )
        ).one()
        enrollment = (
            await conn.execute(
                select(m.Enrollment.user_id, m.Enrollment.course_id).where(
                    m.Enrollment.id == ids["several"]
                )
            )
        ).one()
        await conn.execute(
            insert(certificates).values(
                enrollment_id=ids["several"],
                attempt_id=attempt.id,
                attempt_number=attempt.number,
                user_id=enrollment.user_id,
                course_id=enrollment.course_id,
                code="REVOKED-CODE",
                issued_at=dt.datetime(2023, 5, 6, 7, 8, 9, tzinfo=UTC),
                revoked_at=dt.datetime(2023, 6, 7, 8, 9, 10, 120000, tzinfo=UTC),
                credits=2.0,
            )
        )
        held = (
            (
                await conn.execute(
                    select(certificates.c.id)
                    .where(certificates.c.enrollment_id == ids["several"])
                    .where(certificates.c.revoked_at.is_(None))
                    .order_by(certificates.c.id)
                )
            )
            .scalars()
            .all()
        )
        assert len(held) == 2, held
        await conn.execute(
            update(certificates)
            .where(certificates.c.id == held[0])
            .values(
                issued_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                expires_at=dt.datetime(2099, 1, 1, tzinfo=UTC),
                credits=1.5,
                code='C"O\\DE',
            )
        )
        await conn.execute(
            update(certificates)
            .where(certificates.c.id == held[1])
            .values(
                issued_at=dt.datetime(2024, 2, 3, 4, 5, 6, 120000, tzinfo=UTC),
                expires_at=dt.datetime(2098, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
                credits=0.1,
            )
        )
        await conn.execute(
            update(m.Enrollment)
            .where(m.Enrollment.id == ids["unassigned_by"])
            .values(assigned_by_id=None)
        )
        await conn.execute(
            update(m.Enrollment)
            .where(m.Enrollment.id == ids["whole_seconds"])
            .values(assigned_at=dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC))
        )
        await conn.execute(
            update(m.Enrollment)
            .where(m.Enrollment.id == ids["no_email"])
            .values(assigned_at=dt.datetime(2024, 1, 1, 0, 0, 0, 100, tzinfo=UTC))
        )
        await conn.execute(
            update(m.Attempt)
            .where(m.Attempt.enrollment_id == ids["whole_seconds"])
            .values(completed_at=dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC))
        )
        await conn.execute(
            update(m.Attempt)
            .where(m.Attempt.enrollment_id == ids["in_progress"])
            .values(
                state=LearnerState.IN_PROGRESS,
                progress=50,
                started_at=dt.datetime(2024, 4, 5, 6, 7, 8, 900000, tzinfo=UTC),
            )
        )
        # Written past the service, which folds whitespace in names.
        await conn.execute(
            update(m.User).where(m.User.name == "Newline Placeholder").values(name=NEWLINE)
        )
        await conn.execute(
            update(m.User)
            .where(m.User.name == "Ädmin Inactive")
            .values(active=False, email=None, employee_id="Ω-7")
        )


@pytest.fixture
async def pair(lms: LMS, world: World) -> AsyncIterator[Pair]:
    assert lms.settings.sql_rendering, "rendering is on by default"
    off_lms = LMS(lms.settings.replace(sql_rendering=False))
    try:
        async with (
            AsyncClient(
                transport=ASGITransport(app=create_app(lms=lms)), base_url="http://t"
            ) as on,
            AsyncClient(
                transport=ASGITransport(app=create_app(lms=off_lms)), base_url="http://t"
            ) as off,
        ):
            actors, course, other, ids = await _learners(lms, world)
            await _shape(lms, on, actors["admin"], ids)
            yield Pair(
                on,
                off,
                lms,
                off_lms,
                gid("Course", course.id),
                gid("Course", other.id),
                {who: actors[who].token for who in ("admin", "instructor", "stranger", "learner")},
            )
    finally:
        await off_lms.close()


async def _both(
    pair: Pair, document: str, variables: dict[str, Any] | None = None, who: str = "admin"
) -> Answers:
    variables = {"course": pair.course, **(variables or {})}
    headers = {"Authorization": f"Bearer {pair.tokens[who]}"}
    body = {"query": document, "variables": variables}
    with StatementCounter(*pair.on_lms.db.engines) as on_sql:
        on = await pair.on.post("/graphql", json=body, headers=headers)
    with StatementCounter(*pair.off_lms.db.engines) as off_sql:
        off = await pair.off.post("/graphql", json=body, headers=headers)
    return Answers(
        document,
        variables,
        (on.status_code, json.loads(on.content)),
        (off.status_code, json.loads(off.content)),
        on_sql,
        off_sql,
    )


async def same(
    pair: Pair,
    document: str,
    variables: dict[str, Any] | None = None,
    who: str = "admin",
    *,
    renders: bool | None = True,
) -> Answers:
    """Both apps' answers to ``document``, asserted equal; ``renders``: whether the
    rendering app must (True) or must not (False) have PostgreSQL build the nodes."""
    answers = await _both(pair, document, variables, who)
    assert (answers.on[0], _canonical(answers.on[1])) == (
        answers.off[0],
        _canonical(answers.off[1]),
    ), answers.report()
    assert not _rendered(answers.off_sql), "rendering off, yet rendered:\n" + str(answers.off_sql)
    if renders is not None:
        assert answers.rendered is renders, (
            f"expected {'a rendered' if renders else 'the ordinary'} page\n"
            f"{answers.report()}\n{answers.on_sql}"
        )
    return answers


# --- the dashboard ----------------------------------------------------------------------


@pytest.mark.parametrize("document", [LMS_QUERY, LMS_QUERY_ACTIONS], ids=["plain", "actions"])
@pytest.mark.parametrize("who", ["admin", "instructor"])
async def test_dashboard_document(pair: Pair, document: str, who: str) -> None:
    answers = await same(pair, document, {"first": 100}, who)
    assert len(answers.off[1]["data"]["course"]["learners"]["edges"]) == 9


# --- every rendered field, alone and together -------------------------------------------


def _alone() -> list[str]:
    cases = []
    for name, sub in ENROLLMENT_FIELDS.items():
        if sub is None:
            cases.append(name)
        else:
            cases += [f"{name} {{ {field} }}" for field in sub]
            cases.append(f"{name} {{ {_everything(sub)} }}")
    return cases


@pytest.mark.parametrize("node", _alone())
async def test_each_rendered_field_alone(pair: Pair, node: str) -> None:
    await same(pair, page(node))


@pytest.mark.parametrize("who", ["admin", "instructor"])
async def test_every_rendered_field_together(pair: Pair, who: str) -> None:
    await same(pair, page(ALL_NODE), who=who)
    backwards = " ".join(
        name if sub is None else f"{name} {{ {' '.join(reversed(list(sub)))} }}"
        for name, sub in reversed(list(ENROLLMENT_FIELDS.items()))
    )
    await same(pair, page(backwards), who=who)


# --- aliases, __typename, fragments, directives ---------------------------------------

SHAPES = {
    "alias_scalars": "a: id b: id i: id state s: state",
    "same_field_two_aliases": "a: user { name } b: user { email }",
    "same_key_merged": "user { name } user { email id } user { name }",
    "aliased_objects": "who: user { n: name e: email } by: assignedBy { name n: name }",
    "two_certificate_lists": "c1: certificates { code } c2: certificates { issuedAt credits }",
    "aliased_actions": "acts: availableActions { k: key } availableActions { label }",
    "actions_twice_then_fields": (
        "id acts: availableActions { key } state availableActions { label } message user { name }"
    ),
    "actions_first_then_fields": "availableActions { key } id state user { name }",
    "aliased_typename": "t: __typename user { t: __typename u: __typename }",
    "alias_like_a_field": "id: state state: id user: assignedBy { name }",
    "typename_everywhere": (
        "__typename user { __typename } assignedBy { __typename } "
        "certificates { __typename } availableActions { __typename }"
    ),
    "named_fragments": "...Learner assignedBy { ...Person }",
    "nested_named_fragments": "...Deep",
    "inline_enrollment": "... on Enrollment { id user { ... on User { name } } } state",
    "inline_node": "... on Node { id } user { ... on Node { id } name }",
    "inline_node_typename": "... on Node { __typename id } ... on Enrollment { __typename }",
    "inline_untyped": "... { state progress } ... { user { email } }",
    "fragment_and_field_merge": "...Learner user { email employeeId } state",
    "literal_directives": (
        "id @include(if: true) state @include(if: false) progress @skip(if: true) "
        "message @skip(if: false) dueDate @include(if: true) @skip(if: true) "
        "user @skip(if: false) { name email @skip(if: true) } "
        "certificates @include(if: false) { code }"
    ),
    "variable_directives": (
        "id @include(if: $yes) state @include(if: $no) progress @skip(if: $yes) "
        "message @skip(if: $no) user @include(if: $yes) { name @skip(if: $yes) email } "
        "availableActions @skip(if: $no) { key label @include(if: $no) } "
        "certificates @include(if: $yes) { code @include(if: $yes) issuedAt @skip(if: $yes) }"
    ),
    "directives_on_fragments": (
        "...Learner @include(if: $no) ...Person2 @skip(if: $no) "
        "... on Enrollment @include(if: $yes) { progress } "
        "... @skip(if: $yes) { message }"
    ),
    "field_kept_by_one_of_two": "user { name } user @skip(if: true) { email }",
    "empty_after_directives": "id user { name @skip(if: true) }",
}
MAY_NOT_RENDER = {"empty_after_directives"}
"""An object left with no field: rendered or not, the answers must agree."""
FRAGMENTS = """
fragment Learner on Enrollment { id state user { ...Person } }
fragment Person on User { name email }
fragment Person2 on Enrollment { assignedBy { ...Person } }
fragment Deep on Enrollment { ... on Enrollment { ...Learner certificates { ...Cert } } }
fragment Cert on Certificate { code ... on Certificate { issuedAt } }
"""


def _with_fragments(document: str, node: str) -> str:
    """``document`` followed by the fragments ``node`` spreads, and theirs."""
    definitions = {line.split()[1]: line for line in FRAGMENTS.strip().splitlines()}
    needed: list[str] = []
    waiting = re.findall(r"\.\.\.([A-Z]\w*)", node)
    while waiting:
        name = waiting.pop()
        if name not in needed:
            needed.append(name)
            waiting += re.findall(r"\.\.\.([A-Z]\w*)", definitions[name].split("{", 1)[1])
    return "\n".join([document, *(definitions[name] for name in sorted(needed))])


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_selection_shapes(pair: Pair, shape: str) -> None:
    node = SHAPES[shape]
    variables: dict[str, Any] = {}
    document = page(node)
    if "$yes" in node or "$no" in node:
        document = document.replace(
            "query ($course: ID!)", "query ($course: ID!, $yes: Boolean!, $no: Boolean!)"
        )
        variables = {"yes": True, "no": False}
    document = _with_fragments(document, node)
    renders = None if shape in MAY_NOT_RENDER else True
    await same(pair, document, variables, renders=renders)
    if variables:  # the same document, each variable the other way
        await same(pair, document, {"yes": False, "no": True}, renders=renders)


async def test_typename_at_every_level_of_the_page(pair: Pair) -> None:
    await same(
        pair,
        page(
            "__typename id user { __typename }",
            around="__typename",
            edge="__typename",
        ),
    )


# --- the page around the nodes --------------------------------------------------------


@pytest.mark.parametrize(
    ("around", "edge"),
    [
        ("totalCount", ""),
        ("pageInfo { hasNextPage endCursor }", ""),
        ("", "cursor"),
        ("totalCount pageInfo { endCursor hasNextPage }", "c: cursor cursor"),
        ("", "cursor __typename"),
    ],
)
async def test_cursor_page_info_and_total_beside_edges(pair: Pair, around: str, edge: str) -> None:
    node = "id user { name }"
    await same(pair, page(node, "first: 4", around=around, edge=edge))
    await same(pair, page(node, "first: 4", after=around, edge=edge))  # after the edges


@pytest.mark.parametrize(
    "order",
    [
        "",
        *(
            f"orderBy: {{field: {field}, direction: {direction}}}"
            for field in ("NAME", "DUE_DATE", "PROGRESS", "ASSIGNED_AT")
            for direction in ("ASC", "DESC")
        ),
    ],
)
async def test_second_pages_after_a_cursor(pair: Pair, order: str) -> None:
    arguments = "first: $first, after: $after" + (f", {order}" if order else "")
    document = page(
        ALL_NODE, arguments, around="pageInfo { hasNextPage endCursor } totalCount", edge="cursor"
    ).replace("query ($course: ID!)", "query ($course: ID!, $first: Int!, $after: String)")
    first = await same(pair, document, {"first": 3, "after": None})
    cursor = first.off[1]["data"]["course"]["learners"]["pageInfo"]["endCursor"]
    assert cursor
    second = await same(pair, document, {"first": 4, "after": cursor})
    third_cursor = second.off[1]["data"]["course"]["learners"]["pageInfo"]["endCursor"]
    await same(pair, document, {"first": 10, "after": third_cursor})


@pytest.mark.parametrize(
    "arguments",
    [
        "first: 50, filter: {states: [COMPLETED]}",
        "first: 50, filter: {states: [NOT_STARTED, IN_PROGRESS]}",
        "first: 50, filter: {states: [STARTED]}",
        'first: 50, filter: {search: "quoted"}',
        'first: 50, filter: {search: "ünï"}',
        'first: 50, filter: {search: "\\"Quoted\\""}',
        'first: 50, filter: {search: "EMP-2"}',
        "first: 50, filter: {overdue: true}",
        "first: 50, filter: {overdue: false}",
        "first: 50, filter: {assignment: OPTIONAL}",
        "first: 2, filter: {assignment: REQUIRED, overdue: false}, orderBy: {field: DUE_DATE}",
        *(
            f"first: 50, orderBy: {{field: {field}, direction: {direction}}}"
            for field in ("NAME", "DUE_DATE", "PROGRESS", "ASSIGNED_AT")
            for direction in ("ASC", "DESC")
        ),
        "first: 1",
    ],
)
async def test_filters_and_orders(pair: Pair, arguments: str) -> None:
    await same(pair, page(ALL_NODE, arguments, around="totalCount"))


@pytest.mark.parametrize(
    "arguments",
    [
        "first: 50, filter: {states: [STARTED]}",
        'first: 50, filter: {search: "nobody-is-called-this"}',
        "first: 50, filter: {states: [ENROLLED_IN_SESSION], overdue: true}",
    ],
)
@pytest.mark.parametrize(
    ("around", "after"),
    [("", ""), ("totalCount", ""), ("", "totalCount"), ("pageInfo { hasNextPage endCursor }", "")],
)
@pytest.mark.parametrize("node", [ALL_NODE, "id user { name } certificates { code }"])
async def test_empty_pages(pair: Pair, node: str, arguments: str, around: str, after: str) -> None:
    answers = await same(pair, page(node, arguments, around=around, after=after))
    assert answers.off[1]["data"]["course"]["learners"]["edges"] == []


async def test_a_page_size_out_of_range_is_refused_alike(pair: Pair) -> None:
    for first in (0, -1, 101):
        await same(pair, page(ALL_NODE, f"first: {first}", around="totalCount"), renders=None)


async def test_filter_and_order_from_variables(pair: Pair) -> None:
    document = page(ALL_NODE, "first: $first, filter: $filter, orderBy: $order").replace(
        "query ($course: ID!)",
        "query ($course: ID!, $first: Int, $filter: LearnerFilter, $order: LearnerOrder)",
    )
    for variables in (
        {"first": 5, "filter": {"states": ["COMPLETED"]}, "order": {"field": "NAME"}},
        {
            "first": 50,
            "filter": {"search": "e"},
            "order": {"field": "PROGRESS", "direction": "DESC"},
        },
        {"first": 50, "filter": None, "order": None},
    ):
        await same(pair, document, variables)


# --- the data's edge cases ------------------------------------------------------------


async def test_the_worlds_edge_cases_answer_the_same(pair: Pair) -> None:
    answers = await same(pair, page(ALL_NODE, "first: 50, orderBy: {field: NAME}"))
    nodes = {
        edge["node"]["user"]["name"]: edge["node"]
        for edge in answers.off[1]["data"]["course"]["learners"]["edges"]
    }
    # The world holds what it should (else the agreement proves less).
    assert not nodes["Nomail Person"]["certificates"]
    assert nodes["Nomail Person"]["user"]["email"] is None
    assert nodes["Nomail Person"]["dueDate"] is None
    several = [cert["code"] for cert in nodes["Several Certificates"]["certificates"]]
    assert len(several) == 2, several
    assert "REVOKED-CODE" not in several, several
    assert nodes["Nobody Assigned"]["assignedBy"] is None
    assert nodes[QUOTED]["message"] == MESSAGE
    assert nodes[QUOTED]["state"] == "COMPLETED"
    assert nodes[NEWLINE]["user"]["name"] == NEWLINE
    assert nodes["Ädmin Inactive"]["user"]["active"] is False
    assert nodes["Ädmin Inactive"]["user"]["isAdmin"] is True
    assert nodes["Whole Seconds"]["assignedAt"].startswith("2024-01-01T00:00:00")
    assert nodes["Ivy Progress"]["progress"] == 50


# --- viewers ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "instructor", "stranger", "learner"])
@pytest.mark.parametrize("document", [ALL_NODE, "id availableActions { key label kind }"])
async def test_viewers(pair: Pair, who: str, document: str) -> None:
    await same(
        pair, page(document), who=who, renders=True if who in ("admin", "instructor") else None
    )
    await same(pair, LMS_QUERY_ACTIONS, {"first": 100}, who, renders=None)


async def test_another_courses_page_for_its_instructor(pair: Pair) -> None:
    await same(pair, page(ALL_NODE), {"course": pair.other_course}, "stranger")
    await same(pair, page(ALL_NODE), {"course": pair.other_course}, "instructor", renders=None)


async def test_without_a_token(pair: Pair) -> None:
    body = {"query": page(ALL_NODE), "variables": {"course": pair.course}}
    on = await pair.on.post("/graphql", json=body)
    off = await pair.off.post("/graphql", json=body)
    assert (on.status_code, _canonical(json.loads(on.content))) == (
        off.status_code,
        _canonical(json.loads(off.content)),
    ), (on.text, off.text)


# --- documents that must not render ----------------------------------------------------

NOT_RENDERED = {
    "attempts": page("id attempts { number }"),
    "attempt": page("id attempt { number state }"),
    "history": page("id history { action }"),
    "course": page("id course { title }"),
    "certificate_valid": page("id certificates { code valid }"),
    "certificate_revoked_by": page("id certificates { code revokedBy { name } }"),
    "certificate_download": page("id certificates { downloadUrl }"),
    "action_params": page("id availableActions { key params { name } }"),
    "user_credits": page("id user { name credits }"),
    "user_with_arguments": page("id user { name mails(first: 1) { kind } }"),
    "two_edges": (
        "query ($course: ID!) { course(id: $course) { learners(first: 50) {"
        " a: edges { node { id } } b: edges { node { state } } } } }"
    ),
    "two_nodes": (
        "query ($course: ID!) { course(id: $course) { learners(first: 50) {"
        " edges { a: node { id } b: node { state user { name } } } } } }"
    ),
    "unrendered_inside_fragment": page("...F") + "\nfragment F on Enrollment { id history { at } }",
    "unrendered_inside_inline": page("id ... on Enrollment { attempts { number } }"),
    "unrendered_but_skipped": page("id history @skip(if: true) { action }"),
}


@pytest.mark.parametrize("name", sorted(NOT_RENDERED))
async def test_documents_that_do_not_render(pair: Pair, name: str) -> None:
    document = NOT_RENDERED[name]
    # A skipped unrendered field may or may not stop rendering: the answers must agree.
    renders = None if name == "unrendered_but_skipped" else False
    await same(pair, document, renders=renders)


UNCERTAIN = {
    "certificate_history": page(
        "id certificateHistory { __typename id code issuedAt attemptNumber expiresAt revokedAt"
        " credits enrollmentId userId courseId } certificates { code }"
    ),
    "edges_aliased": (
        "query ($course: ID!) { course(id: $course) { learners(first: 50) {"
        " rows: edges { item: node { id user { name } } } } } }"
    ),
    "edges_twice_same_key": (
        "query ($course: ID!) { course(id: $course) { learners(first: 50) {"
        " edges { node { id } } edges { node { state } cursor } } } }"
    ),
    "directive_on_node": page("id").replace("node {", "node @include(if: true) {"),
    "directive_on_edges": page("id").replace("edges {", "edges @skip(if: false) {"),
    "two_pages": (
        "query ($course: ID!) { course(id: $course) {"
        " a: learners(first: 2) { edges { node { id user { name } } } }"
        " b: learners(first: 3, orderBy: {field: NAME, direction: DESC})"
        " { edges { node { id certificates { code } } } } } }"
    ),
    "two_courses": (
        "query ($course: ID!) { a: course(id: $course) { learners(first: 2)"
        " { edges { node { id } } } } b: course(id: $course) { learners(first: 2)"
        " { edges { node { state } } } } }"
    ),
}


@pytest.mark.parametrize("name", sorted(UNCERTAIN))
async def test_pages_rendered_or_not_answer_the_same(pair: Pair, name: str) -> None:
    await same(pair, UNCERTAIN[name], renders=None)


# --- statements -------------------------------------------------------------------------


async def test_a_rendered_dashboard_page_takes_one_statement_fewer(pair: Pair) -> None:
    answers = await same(pair, LMS_QUERY, {"first": 100})
    assert answers.on_sql.count == answers.off_sql.count - 1, (
        f"rendering on:\n{answers.on_sql}\nrendering off:\n{answers.off_sql}"
    )


async def test_a_rendered_page_without_certificates_takes_as_many_statements(
    pair: Pair,
) -> None:
    answers = await same(pair, page("id state user { name email } assignedBy { name }"))
    assert answers.on_sql.count == answers.off_sql.count, (
        f"rendering on:\n{answers.on_sql}\nrendering off:\n{answers.off_sql}"
    )


# --- generated selections -------------------------------------------------------------


@dataclasses.dataclass
class Drawn:
    variables: set[str] = dataclasses.field(default_factory=set)
    fragments: list[str] = dataclasses.field(default_factory=list)


_DIRECTIVE = st.sampled_from(
    [
        *("",) * 8,
        " @include(if: true)",
        " @include(if: false)",
        " @skip(if: true)",
        " @skip(if: false)",
        " @include(if: $a)",
        " @skip(if: $a)",
        " @include(if: $b)",
        " @skip(if: $b)",
    ]
)


def _directive(draw: st.DrawFn, drawn: Drawn) -> str:
    directive: str = draw(_DIRECTIVE)
    for name in ("a", "b"):
        if f"${name}" in directive:
            drawn.variables.add(name)
    return directive


def _fields(draw: st.DrawFn, drawn: Drawn, fields: dict[str, Any], type_name: str) -> str:
    """Some of ``fields`` in any order (some twice, some aliased, some under directives),
    some of them in inline or named fragments."""
    chosen = draw(st.lists(st.sampled_from(list(fields)), min_size=1, max_size=len(fields) + 2))
    parts = []
    for name in chosen:
        alias = draw(st.sampled_from(["", "", "", f"{name.strip('_')}_1: ", "x: "]))
        if alias == "x: ":  # one key for different fields would not validate
            alias = f"x_{name.strip('_')}: "
        sub = fields[name]
        selection = f"{alias}{name}{_directive(draw, drawn)}"
        if sub is not None:
            selection += f" {{ {_fields(draw, drawn, sub, TYPES[name])} }}"
        parts.append(selection)
    if len(parts) > 1 and draw(st.integers(0, 3)) == 0:
        start = draw(st.integers(0, len(parts) - 1))
        end = draw(st.integers(start + 1, len(parts)))
        inner = " ".join(parts[start:end])
        kind = draw(st.sampled_from(["inline", "untyped", "node", "named"]))
        node_fields = {"id", "__typename"}
        if kind == "node" and (
            type_name not in ("Enrollment", "User")
            or not set(chosen[start:end]) <= node_fields  # only these are fields of Node
        ):
            kind = "inline"
        directive = _directive(draw, drawn)
        if kind == "named":
            name = f"F{len(drawn.fragments)}"
            drawn.fragments.append(f"fragment {name} on {type_name} {{ {inner} }}")
            wrapped = f"...{name}{directive}"
        else:
            condition = {"inline": f" on {type_name}", "untyped": "", "node": " on Node"}[kind]
            wrapped = f"...{condition}{directive} {{ {inner} }}"
        parts[start:end] = [wrapped]
    return " ".join(parts)


@st.composite
def generated(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    drawn = Drawn()
    node = "id " + _fields(draw, drawn, ENROLLMENT_FIELDS, "Enrollment")
    order = draw(
        st.sampled_from(
            [
                "",
                *(
                    f", orderBy: {{field: {field}, direction: {direction}}}"
                    for field in ("NAME", "DUE_DATE", "PROGRESS", "ASSIGNED_AT")
                    for direction in ("ASC", "DESC")
                ),
            ]
        )
    )
    first = draw(st.integers(1, 12))
    around = draw(st.sampled_from(["", "", "totalCount", "pageInfo { hasNextPage endCursor }"]))
    edge = draw(st.sampled_from(["", "", "cursor"]))
    names = sorted(drawn.variables)
    declared = "".join(f", ${name}: Boolean!" for name in names)
    document = page(node, f"first: {first}{order}", around=around, edge=edge).replace(
        "query ($course: ID!)", f"query ($course: ID!{declared})"
    )
    document = "\n".join([document, *drawn.fragments])
    variables = {name: draw(st.booleans(), label=name) for name in names}
    who = draw(st.sampled_from(["admin", "admin", "instructor"]))
    return document, variables, who


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(case=generated())
async def test_generated_selections_answer_the_same(
    pair: Pair, case: tuple[str, dict[str, Any], str]
) -> None:
    document, variables, who = case
    # Directives may leave an object without fields, which need not render.
    await same(pair, document, variables, who, renders=None if "@" in document else True)
