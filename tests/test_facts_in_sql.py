# mypy: disable-error-code="untyped-decorator"
"""Facts given as SQL (``facts_in_sql``): a dashboard page rendered on PostgreSQL reads
them with its query and does not call the implementation that declared them; everywhere
else (SQLite, ``sql_rendering`` off, mass actions) the implementation is called. Either
way the menus must be the same.

- Differential: the certificates plugin's fact (``certificates.latest``) on learners
  whose certificate is valid, expiring later, expired, revoked, or of an earlier attempt;
  an ILT course (whose facts are not SQL and must still be asked); a course with no
  certificate at all. Each page is asked of an app rendering in SQL and of one not, on
  the same database, and each learner's menu is also checked against what it must be.
- A test plugin declaring its facts as SQL: its Python implementation is not called on a
  rendered page, and is on SQLite, with rendering off and in a mass action, with the
  same menus; one declared for other course types adds nothing to a page.
- ``call_hook(skip=)``: the skipped plugin is not called, the others are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, exists, literal, select, update
from sqlalchemy.orm import aliased

from bench.queries import LMS_QUERY_ACTIONS
from lms_graph import (
    ActionContext,
    ActionDefinition,
    ActionKind,
    LearnerRef,
    MenuLearner,
    Outcome,
    SQLExecutor,
    facts_in_sql,
    for_course_types,
    hookimpl,
)
from lms_graph import models as m
from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.hook_scope import sql_facts_of
from lms_graph.plugin_manager import call_hook
from lms_graph.resolvers.actions import facts_in_sql as facts_of_course_type
from lms_graph.settings import Settings
from lms_graph.testing import StatementCounter
from lms_graph.values import LearnerState
from lms_graph_plugins.certificates.tables import certificates
from tests.helpers import Actor, GraphQLClient, World, gid
from tests.test_ilt_sessions import ilt_course, new_session
from tests.test_sql_rendering import Pair, same

UTC = dt.UTC
CERTIFICATE_FACT = "certificates.latest"


# --- helpers ----------------------------------------------------------------------------


def spy_on_facts(lms: LMS, plugin: str, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The learners (enrollment IDs) each call of ``plugin``'s ``lms_learner_facts`` on
    ``lms`` was handed; the implementation still answers (and keeps its declarations)."""
    calls: list[list[int]] = []
    [impl] = [
        impl for impl in lms.pm.hook.lms_learner_facts.get_hookimpls() if impl.plugin_name == plugin
    ]
    inner = impl.function
    names = list(impl.argnames)

    @functools.wraps(inner)
    def counted(*args: Any, **kwargs: Any) -> Any:
        learners: Sequence[LearnerRef] = {**dict(zip(names, args, strict=False)), **kwargs}[
            "learners"
        ]
        calls.append(sorted(learner.enrollment_id for learner in learners))
        return inner(*args, **kwargs)

    monkeypatch.setattr(impl, "function", counted)
    return calls


async def run_action(
    http: AsyncClient,
    token: str,
    action: str,
    ids: Sequence[int],
    params: Mapping[str, Any] | None = None,
) -> list[tuple[int, str, str | None]]:
    """``runAction`` on these enrollments: (enrollment ID, status, code) of each."""
    response = await http.post(
        "/graphql",
        json={
            "query": "mutation ($a: String!, $ids: [ID!]!, $p: JSON) {"
            " runAction(input: {action: $a, enrollmentIds: $ids, params: $p})"
            " { outcomes { enrollmentId status code } } }",
            "variables": {
                "a": action,
                "ids": [gid("Enrollment", pk) for pk in ids],
                "p": dict(params or {}),
            },
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, response.text
    return [
        (int(_pk(outcome["enrollmentId"])), outcome["status"], outcome["code"])
        for outcome in body["data"]["runAction"]["outcomes"]
    ]


def _pk(global_id: str) -> int:
    from lms_graph.ids import decode_id

    return decode_id(global_id, "Enrollment")


async def run_ok(http: AsyncClient, token: str, action: str, ids: Sequence[int], **p: Any) -> None:
    outcomes = await run_action(http, token, action, ids, p)
    assert [status for _, status, _ in outcomes] == ["OK"] * len(ids), (action, outcomes)


async def page_menus(
    http: AsyncClient, course: str, token: str
) -> tuple[dict[int, list[str]], dict[str, Any]]:
    """The dashboard page (with menus) of ``course``: each learner's menu keys, and the
    answer."""
    response = await http.post(
        "/graphql",
        json={"query": LMS_QUERY_ACTIONS, "variables": {"course": course, "first": 100}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = json.loads(response.content)
    assert response.status_code == 200, response.text
    assert "errors" not in body, response.text
    return menus_in(body), body


def menus_in(answer: Mapping[str, Any]) -> dict[int, list[str]]:
    return {
        _pk(edge["node"]["id"]): [action["key"] for action in edge["node"]["availableActions"]]
        for edge in answer["data"]["course"]["learners"]["edges"]
    }


def rendered(counter: StatementCounter) -> bool:
    return any("json_build_object" in sql for sql in counter.statements)


def _has(statements: Iterable[str], text: str) -> bool:
    return any(text in sql for sql in statements)


def check_menus(
    menus: Mapping[int, Sequence[str]],
    ids: Mapping[str, int],
    expected: Mapping[str, tuple[set[str], set[str]]],
) -> None:
    """Each learner named in ``expected`` has the actions of its first set in their menu
    and none of its second."""
    for key, (present, absent) in expected.items():
        keys = set(menus[ids[key]])
        assert present <= keys, (key, sorted(keys))
        assert not absent & keys, (key, sorted(keys))


async def set_current_attempt(lms: LMS, enrollment_id: int, **values: Any) -> None:
    """Write the learner's current attempt past the services (no hook is told)."""
    current = (
        select(m.Enrollment.attempt_number)
        .where(m.Enrollment.id == enrollment_id)
        .scalar_subquery()
    )
    async with lms.db.transaction() as conn:
        await conn.execute(
            update(m.Attempt)
            .where(m.Attempt.enrollment_id == enrollment_id, m.Attempt.number == current)
            .values(**values)
        )


# --- the certificates plugin's fact, rendering on and off ------------------------------

GENERATE, REMOVE, NO_SHOW = "generate_certificate", "remove_certificate", "mark_no_show"
HOLDS = ({REMOVE}, {GENERATE})
HOLDS_NOT = ({GENERATE}, {REMOVE})
NEITHER: tuple[set[str], set[str]] = (set(), {GENERATE, REMOVE})

EXPECTED: dict[str, dict[str, tuple[set[str], set[str]]]] = {
    "certificates": {
        "valid": HOLDS,
        "expiring_later": HOLDS,
        "expired": HOLDS_NOT,
        "revoked": HOLDS_NOT,
        "earlier_attempt": HOLDS_NOT,  # reset, then completed without a new certificate
        "reset": NEITHER,
        "not_started": NEITHER,
    },
    "ilt": {
        "seated": ({NO_SHOW}, {GENERATE, REMOVE}),
        "enrolled_without_seat": (set(), {NO_SHOW, GENERATE, REMOVE}),
        "ilt_completed": ({REMOVE}, {GENERATE, NO_SHOW}),
        "ilt_new": (set(), {NO_SHOW, GENERATE, REMOVE}),
    },
    "none": {
        "completed_without": HOLDS_NOT,
        "in_progress": NEITHER,
        "fresh": NEITHER,
    },
}
"""Per course of the world, each learner's menu: what it holds, what it must not."""


@dataclasses.dataclass
class Dashboard:
    pair: Pair
    courses: dict[str, str]
    ids: dict[str, int]
    on_calls: dict[str, list[list[int]]]
    off_calls: dict[str, list[list[int]]]


async def _certificate_world(
    lms: LMS, world: World, gql: GraphQLClient, http: AsyncClient
) -> tuple[Actor, Actor, dict[str, str], dict[str, int]]:
    admin = await world.admin()
    instructor = await world.user("Ines Instructor")
    courses = {
        "certificates": await world.course("Certificates"),
        "ilt": await ilt_course(world),
        "none": await world.course("No certificates"),
    }
    ids: dict[str, int] = {}
    for name, course in courses.items():
        await world.instructor(course, instructor)
        keys = list(EXPECTED[name])
        people = [await world.user(key.replace("_", " ").title()) for key in keys]
        ids.update(zip(keys, await world.assign(course, people, admin), strict=True))
    token = admin.token
    completed = ["valid", "expiring_later", "expired", "revoked", "earlier_attempt", "reset"]
    await run_ok(http, token, "mark_complete", [ids[key] for key in completed])
    await run_ok(http, token, "mark_complete", [ids["completed_without"]])
    await run_ok(http, token, "mark_complete", [ids["ilt_completed"]])
    await run_ok(http, token, REMOVE, [ids["revoked"]])
    await run_ok(http, token, "reset_progress", [ids["earlier_attempt"], ids["reset"]])
    session = await new_session(gql, admin, courses["ilt"], capacity=5)
    await run_ok(http, token, "change_session", [ids["seated"]], sessionId=session["id"])
    now = dt.datetime.now(UTC)
    await set_current_attempt(
        lms, ids["earlier_attempt"], state=LearnerState.COMPLETED, progress=100, completed_at=now
    )
    await set_current_attempt(lms, ids["in_progress"], state=LearnerState.IN_PROGRESS, progress=40)
    await set_current_attempt(
        lms, ids["enrolled_without_seat"], state=LearnerState.ENROLLED_IN_SESSION
    )
    async with lms.db.transaction() as conn:
        for key, expires in (
            ("expired", now - dt.timedelta(days=1)),
            ("expiring_later", now + dt.timedelta(days=30)),
        ):
            await conn.execute(
                update(certificates)
                .where(certificates.c.enrollment_id == ids[key])
                .values(expires_at=expires)
            )
        await conn.execute(
            delete(certificates).where(certificates.c.enrollment_id == ids["completed_without"])
        )
        held = {
            row.enrollment_id: (row.attempt_number, row.revoked_at is not None)
            for row in await conn.execute(select(certificates))
        }
    # The world holds what it should, else agreeing proves less.
    assert held[ids["revoked"]] == (1, True)
    assert held[ids["earlier_attempt"]] == (1, False)
    assert held[ids["valid"]] == (1, False)
    assert held[ids["ilt_completed"]] == (1, False)
    none = {ids[key] for key in EXPECTED["none"]}
    assert not none & set(held), held
    return admin, instructor, {k: gid("Course", c.id) for k, c in courses.items()}, ids


@pytest.fixture
async def dashboard(
    lms: LMS,
    world: World,
    gql: GraphQLClient,
    lms_backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Dashboard]:
    if lms_backend != "postgresql":
        pytest.skip("SQL rendering is PostgreSQL's alone (SQLite never renders)")
    assert lms.settings.sql_rendering
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
            admin, instructor, courses, ids = await _certificate_world(lms, world, gql, on)
            on_calls = {
                name: spy_on_facts(lms, name, monkeypatch) for name in ("certificates", "ilt")
            }
            off_calls = {
                name: spy_on_facts(off_lms, name, monkeypatch) for name in ("certificates", "ilt")
            }
            pair = Pair(
                on,
                off,
                lms,
                off_lms,
                courses["certificates"],
                courses["none"],
                {"admin": admin.token, "instructor": instructor.token},
            )
            yield Dashboard(pair, courses, ids, on_calls, off_calls)
    finally:
        await off_lms.close()


@pytest.mark.parametrize("who", ["admin", "instructor"])
@pytest.mark.parametrize("course", sorted(EXPECTED))
async def test_certificate_facts_on_a_rendered_page(
    dashboard: Dashboard, course: str, who: str
) -> None:
    pair = dataclasses.replace(dashboard.pair, course=dashboard.courses[course])
    answers = await same(pair, LMS_QUERY_ACTIONS, {"first": 100}, who)
    page = sorted(dashboard.ids[key] for key in EXPECTED[course])
    assert sorted(menus_in(answers.on[1])) == page
    check_menus(menus_in(answers.on[1]), dashboard.ids, EXPECTED[course])
    # Rendering on: the page query carried the fact and certificates was not asked; the
    # ILT plugin's facts are not SQL: it was asked, with the page's learners, for a page
    # of an ILT course only (it declares ``for_course_types("ilt")``).
    ilt = [page] if course == "ilt" else []
    assert _has(answers.on_sql.statements, CERTIFICATE_FACT), str(answers.on_sql)
    assert dashboard.on_calls == {"certificates": [], "ilt": ilt}
    # Rendering off: both were asked (ILT as above), and no statement carried the fact.
    assert not _has(answers.off_sql.statements, CERTIFICATE_FACT)
    assert dashboard.off_calls == {"certificates": [page], "ilt": ilt}


async def test_certificates_declares_its_fact_for_every_course_type(
    dashboard: Dashboard,
) -> None:
    """What the page query carries is worked out per course type: the same for ILT and
    self-paced here (certificates' implementation concerns every type)."""
    for course_type in ("ilt", "self_paced", "scorm"):
        found = facts_of_course_type(dashboard.pair.on_lms, course_type)
        assert [dashboard.pair.on_lms.pm.get_name(p) for p in found.plugins] == ["certificates"]


async def test_the_fact_follows_the_data_between_requests(dashboard: Dashboard) -> None:
    """The page query is built once and kept: a certificate expiring, one reissued and
    one revoked since show in the next request's menus (the fact is read, not kept)."""
    pair, ids = dashboard.pair, dashboard.ids
    await same(pair, LMS_QUERY_ACTIONS, {"first": 100})
    async with pair.on_lms.db.transaction() as conn:
        await conn.execute(
            update(certificates)
            .where(certificates.c.enrollment_id == ids["valid"])
            .values(expires_at=dt.datetime.now(UTC) - dt.timedelta(seconds=5))
        )
    await run_ok(pair.on, pair.tokens["admin"], GENERATE, [ids["expired"]])
    await run_ok(pair.on, pair.tokens["admin"], REMOVE, [ids["expiring_later"]])
    answers = await same(pair, LMS_QUERY_ACTIONS, {"first": 100})
    check_menus(
        menus_in(answers.on[1]),
        ids,
        {"valid": HOLDS_NOT, "expired": HOLDS, "expiring_later": HOLDS_NOT},
    )


# --- a plugin of this test declaring its facts as SQL ----------------------------------

FLAGGED = "probe.flagged"
ATTEMPTS = "probe.attempts"
ODD = 'probe.it\'s 100%: :odd "id" \\ %(x)s $1'
"""A fact name with quotes, percent signs, colons and a dollar (written into the SQL)."""

_PROBED = aliased(m.Enrollment, name="probe_enrollments")


def probe_sql(learner: Mapping[str, Any]) -> Mapping[str, Any]:
    return {
        FLAGGED: exists().where(_PROBED.id == learner["id"], _PROBED.message == "flag"),
        ATTEMPTS: learner["attempt_number"],
        ODD: learner["id"] % 2 == 1,
    }


async def _probed(ctx: ActionContext, learners: Sequence[MenuLearner]) -> Mapping[int, Outcome]:
    return {learner.enrollment_id: Outcome.ok("Probed.") for learner in learners}


def _probe_action(key: str, position: int, applies: Callable[[MenuLearner], bool]) -> Any:
    return ActionDefinition(
        key=key,
        label=key.replace("_", " ").title(),
        kind=ActionKind.MUTATION,
        position=position,
        applies=applies,
        run=_probed,
    )


def _retaken(learner: MenuLearner) -> bool:
    attempts = learner.facts.get(ATTEMPTS)
    return type(attempts) is int and attempts > 1


PROBE_ACTIONS = (
    _probe_action("probe_flagged", 900, lambda learner: learner.facts.get(FLAGGED) is True),
    _probe_action("probe_retaken", 901, _retaken),
    _probe_action("probe_odd", 902, lambda learner: learner.facts.get(ODD) is True),
)


class SqlFactsProbe:
    """Facts about every learner, declared as SQL too; actions whose rules read them."""

    name = "sql_facts_probe"

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    @hookimpl
    @facts_in_sql(probe_sql)
    async def lms_learner_facts(
        self, db: SQLExecutor, learners: Sequence[LearnerRef]
    ) -> Mapping[int, Mapping[str, Any]]:
        ids = [learner.enrollment_id for learner in learners]
        self.calls.append(sorted(ids))
        rows = await db.execute(
            select(m.Enrollment.id).where(m.Enrollment.id.in_(ids), m.Enrollment.message == "flag")
        )
        flagged = {row[0] for row in rows.all()}
        return {
            learner.enrollment_id: {
                FLAGGED: learner.enrollment_id in flagged,
                ATTEMPTS: learner.attempt_number,
                ODD: learner.enrollment_id % 2 == 1,
            }
            for learner in learners
        }

    @hookimpl
    def lms_register_actions(self) -> Iterable[ActionDefinition]:
        return PROBE_ACTIONS


PROBE_LEARNERS = ("plain", "flagged", "retaken", "flagged_retaken", "other_1", "other_2")


def probe_expected(ids: Mapping[str, int]) -> dict[str, tuple[set[str], set[str]]]:
    expected: dict[str, tuple[set[str], set[str]]] = {}
    for key in PROBE_LEARNERS:
        present: set[str] = set()
        absent: set[str] = set()
        for action, holds in (
            ("probe_flagged", key.startswith("flagged")),
            ("probe_retaken", key.endswith("retaken")),
            ("probe_odd", ids[key] % 2 == 1),
        ):
            (present if holds else absent).add(action)
        expected[key] = (present, absent)
    return expected


@dataclasses.dataclass
class ProbeApp:
    lms: LMS
    probe: SqlFactsProbe
    http: AsyncClient


@contextlib.asynccontextmanager
async def probe_app(settings: Settings, plugin: Any = None) -> AsyncIterator[ProbeApp]:
    probe = plugin or SqlFactsProbe()
    service = LMS(settings, plugins=[probe])
    try:
        async with AsyncClient(
            transport=ASGITransport(app=create_app(lms=service)), base_url="http://t"
        ) as http:
            yield ProbeApp(service, probe, http)
    finally:
        await service.close()


async def _probe_world(world: World, app: ProbeApp) -> tuple[Actor, str, dict[str, int]]:
    admin = await world.admin()
    course = await world.course("Probed")
    ids: dict[str, int] = {}
    for key in PROBE_LEARNERS:
        [ids[key]] = await world.assign(
            course,
            [await world.user(key.replace("_", " ").title())],
            admin,
            message="flag" if key.startswith("flagged") else "no flag",
        )
    again = [ids["retaken"], ids["flagged_retaken"]]
    await run_ok(app.http, admin.token, "mark_complete", again)
    await run_ok(app.http, admin.token, "reset_progress", again)
    return admin, gid("Course", course.id), ids


@pytest.mark.parametrize("rendering", [True, False], ids=["rendering", "not_rendering"])
async def test_a_plugins_facts_in_sql_reach_the_menu(
    lms: LMS, world: World, lms_backend: str, rendering: bool
) -> None:
    """On a page PostgreSQL renders, the facts come with the page query and the Python
    implementation is not called; on SQLite and with rendering off it is. The menus are
    the same, twice over (the page query is built once and kept)."""
    in_sql = lms_backend == "postgresql" and rendering
    async with probe_app(lms.settings.replace(sql_rendering=rendering)) as app:
        admin, course, ids = await _probe_world(world, app)
        page = sorted(ids.values())
        for _ in range(2):
            app.probe.calls.clear()
            with StatementCounter(*app.lms.db.engines) as counter:
                menus, _ = await page_menus(app.http, course, admin.token)
            assert sorted(menus) == page
            check_menus(menus, ids, probe_expected(ids))
            assert rendered(counter) is in_sql, str(counter)
            assert _has(counter.statements, "probe_enrollments") is in_sql, str(counter)
            assert app.probe.calls == ([] if in_sql else [page])


async def test_a_plugins_facts_in_sql_answer_as_its_implementation(
    lms: LMS, world: World, lms_backend: str
) -> None:
    """Two apps with the plugin on one database, one rendering and one not: the same
    answers (on PostgreSQL, one from SQL and one from Python)."""
    async with (
        probe_app(lms.settings) as on,
        probe_app(lms.settings.replace(sql_rendering=False)) as off,
    ):
        admin, course, ids = await _probe_world(world, on)
        tokens = {"admin": admin.token}
        pair = Pair(on.http, off.http, on.lms, off.lms, course, course, tokens)
        on.probe.calls.clear()
        off.probe.calls.clear()
        renders = lms_backend == "postgresql"
        answers = await same(pair, LMS_QUERY_ACTIONS, {"first": 100}, renders=renders)
        check_menus(menus_in(answers.on[1]), ids, probe_expected(ids))
        page = sorted(ids.values())
        assert on.probe.calls == ([] if renders else [page])
        assert off.probe.calls == [page]


async def test_a_mass_action_still_asks_the_implementation(
    lms: LMS, world: World, lms_backend: str
) -> None:
    """``runAction`` on many learners decides with the facts the implementation gives
    (its SQL is for a page only): the flagged learners are probed, the others are not."""
    async with probe_app(lms.settings) as app:
        admin, course, ids = await _probe_world(world, app)
        everyone = sorted(ids.values())
        app.probe.calls.clear()
        outcomes = await run_action(app.http, admin.token, "probe_flagged", everyone)
        assert app.probe.calls
        assert sorted({pk for call in app.probe.calls for pk in call}) == everyone
        flagged = {ids["flagged"], ids["flagged_retaken"]}
        assert sorted(outcomes) == sorted(
            (pk, "OK", None) if pk in flagged else (pk, "SKIPPED", "NOT_APPLICABLE")
            for pk in everyone
        )
        # A page after the run: from SQL again on PostgreSQL, with the same rules.
        app.probe.calls.clear()
        menus, _ = await page_menus(app.http, course, admin.token)
        check_menus(menus, ids, probe_expected(ids))
        assert app.probe.calls == ([] if lms_backend == "postgresql" else [everyone])


TYPED = "typed_probe.declared_fact"


def typed_sql(learner: Mapping[str, Any]) -> Mapping[str, Any]:
    return {TYPED: learner["id"] > 0}


def typed_probe(*course_types: str) -> Any:
    """A plugin whose facts, declared as SQL, concern ``course_types`` only."""

    class TypedProbe:
        name = "typed_probe"

        def __init__(self) -> None:
            self.calls: list[list[int]] = []

        @hookimpl
        @for_course_types(*course_types)
        @facts_in_sql(typed_sql)
        def lms_learner_facts(self, learners: Sequence[LearnerRef]) -> Mapping[int, Any]:
            self.calls.append(sorted(learner.enrollment_id for learner in learners))
            return {
                learner.enrollment_id: {TYPED: True}
                for learner in learners
                if learner.course_type in course_types
            }

    return TypedProbe()


@pytest.mark.parametrize(
    ("course_types", "in_sql"), [(("other",), False), (("self_paced", "other"), True)]
)
async def test_facts_in_sql_of_other_course_types_stay_out_of_the_page(
    lms: LMS, world: World, lms_backend: str, course_types: tuple[str, ...], in_sql: bool
) -> None:
    if lms_backend != "postgresql":
        pytest.skip("SQL rendering is PostgreSQL's alone (SQLite never renders)")
    plugin = typed_probe(*course_types)
    async with (
        probe_app(lms.settings, plugin) as on,
        probe_app(lms.settings.replace(sql_rendering=False), typed_probe(*course_types)) as off,
    ):
        admin = await world.admin()
        course = await world.course("Self-paced")
        ids = await world.assign(course, [await world.user(f"L {i}") for i in range(3)], admin)
        await run_ok(on.http, admin.token, "mark_complete", ids[:1])
        declared = facts_of_course_type(on.lms, "self_paced")
        assert (plugin in declared.plugins) is in_sql
        assert plugin not in facts_of_course_type(on.lms, "ilt").plugins
        pair = Pair(
            on.http, off.http, on.lms, off.lms, gid("Course", course.id), "", {"admin": admin.token}
        )
        plugin.calls.clear()
        answers = await same(pair, LMS_QUERY_ACTIONS, {"first": 100})
        assert _has(answers.on_sql.statements, TYPED) is in_sql, str(answers.on_sql)
        # The certificates' fact is carried either way.
        assert _has(answers.on_sql.statements, CERTIFICATE_FACT)
        if in_sql:
            assert plugin.calls == []


def wide_probe(count: int) -> Any:
    """A plugin declaring ``count`` facts as SQL, each true for some learners."""

    def sql(learner: Mapping[str, Any]) -> Mapping[str, Any]:
        return {f"wide.fact_{i}": learner["id"] % (i + 2) == 0 for i in range(count)}

    class WideProbe:
        name = "wide_probe"

        @hookimpl
        @facts_in_sql(sql)
        def lms_learner_facts(self, learners: Sequence[LearnerRef]) -> Mapping[int, Any]:
            return {
                learner.enrollment_id: {
                    f"wide.fact_{i}": learner.enrollment_id % (i + 2) == 0 for i in range(count)
                }
                for learner in learners
            }

        @hookimpl
        def lms_register_actions(self) -> Iterable[ActionDefinition]:
            last = f"wide.fact_{count - 1}"
            return (
                _probe_action("wide_last", 950, lambda learner: learner.facts.get(last) is True),
            )

    return WideProbe()


async def _wide_page(lms: LMS, world: World, count: int) -> None:
    async with (
        probe_app(lms.settings, wide_probe(count)) as on,
        probe_app(lms.settings.replace(sql_rendering=False), wide_probe(count)) as off,
    ):
        admin = await world.admin()
        course = await world.course("Wide")
        people = [await world.user(f"W {i}") for i in range(count + 2)]
        ids = await world.assign(course, people, admin)
        pair = Pair(
            on.http, off.http, on.lms, off.lms, gid("Course", course.id), "", {"admin": admin.token}
        )
        answers = await same(pair, LMS_QUERY_ACTIONS, {"first": 100})
        menus = menus_in(answers.on[1])
        assert [pk for pk in ids if "wide_last" in menus[pk]] == [
            pk for pk in ids if pk % (count + 1) == 0
        ]


async def test_as_many_facts_in_sql_as_one_json_object_takes(
    lms: LMS, world: World, lms_backend: str
) -> None:
    """49 facts of the plugin and the certificates' one: 100 arguments to
    ``json_build_object``, PostgreSQL's most."""
    if lms_backend != "postgresql":
        pytest.skip("SQL rendering is PostgreSQL's alone (SQLite never renders)")
    await _wide_page(lms, world, 49)


async def test_more_facts_in_sql_than_one_json_object_takes(
    lms: LMS, world: World, lms_backend: str
) -> None:
    """50 facts of the plugin and the certificates' one: past what one
    ``jsonb_build_object`` takes, so the facts are built in parts."""
    if lms_backend != "postgresql":
        pytest.skip("SQL rendering is PostgreSQL's alone (SQLite never renders)")
    await _wide_page(lms, world, 50)


# --- call_hook(skip=) -----------------------------------------------------------------


class Answers:
    """Answers ``lms_learner_facts`` with its name, plainly or as a coroutine."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def answer(self, learners: Sequence[LearnerRef]) -> Mapping[int, Mapping[str, Any]]:
        self.calls += 1
        return {learner.enrollment_id: {self.name: True} for learner in learners}


class PlainAnswers(Answers):
    @hookimpl
    def lms_learner_facts(self, learners: Sequence[LearnerRef]) -> Mapping[int, Any]:
        return self.answer(learners)


class AsyncAnswers(Answers):
    @hookimpl
    async def lms_learner_facts(self, learners: Sequence[LearnerRef]) -> Mapping[int, Any]:
        return self.answer(learners)


async def test_call_hook_leaves_out_the_plugins_it_skips() -> None:
    first, second, third = PlainAnswers("first"), AsyncAnswers("second"), PlainAnswers("third")
    plugins: list[Answers] = [first, second, third]
    service = LMS(Settings(database_url="sqlite+aiosqlite://", plugins=()), plugins=plugins)
    refs = [LearnerRef(7, 1, 1, "self_paced", 70, 1), LearnerRef(8, 2, 1, "self_paced", 80, 1)]

    def answer(name: str) -> tuple[str, dict[int, dict[str, bool]]]:
        return (name, {7: {name: True}, 8: {name: True}})

    async def called(skip: Sequence[object]) -> tuple[list[Any], list[int]]:
        for plugin in plugins:
            plugin.calls = 0
        found = await service.call_hook("lms_learner_facts", db=None, learners=refs, skip=skip)
        return sorted(found), [plugin.calls for plugin in plugins]

    try:
        everyone = [answer("first"), answer("second"), answer("third")]
        assert await called(()) == (everyone, [1, 1, 1])
        assert await called([second]) == ([answer("first"), answer("third")], [1, 0, 1])
        assert await called((first, third)) == ([answer("second")], [0, 1, 0])
        assert await called(plugins) == ([], [0, 0, 0])
        # Objects that are not plugins, or plugins not implementing the hook, change nothing.
        assert await called([object(), "second"]) == (everyone, [1, 1, 1])
        # A skip holds for that call only.
        assert await called([first]) == ([answer("second"), answer("third")], [0, 1, 1])
        assert await called(()) == (everyone, [1, 1, 1])
        # The same through plugin_manager.call_hook, with the core registered too.
        found = await call_hook(
            service.pm, "lms_learner_facts", skip={third}, lms=service, db=None, learners=refs
        )
        assert sorted(found) == [answer("first"), answer("second")]
    finally:
        await service.close()


def test_the_declaration_is_read_through_what_the_plugin_manager_calls() -> None:
    """``LMSPluginManager`` wraps each implementation; ``facts_in_sql`` stays readable on
    what pluggy calls, for a module's function and for a plugin object's method."""
    probe = SqlFactsProbe()
    service = LMS(
        Settings(database_url="sqlite+aiosqlite://", plugins=("certificates",)), plugins=[probe]
    )
    declared = {
        impl.plugin_name: sql_facts_of(impl.function)
        for impl in service.pm.hook.lms_learner_facts.get_hookimpls()
    }
    from lms_graph_plugins import certificates as certificates_plugin

    assert declared == {
        "certificates": certificates_plugin._holds_in_sql,
        "sql_facts_probe": probe_sql,
    }
    # In the order pluggy calls them (the last registered first), as their answers merge.
    assert facts_of_course_type(service, "self_paced").plugins == (probe, certificates_plugin)
    expressions = probe_sql({"id": literal(3), "attempt_number": literal(2)})
    assert sorted(expressions) == sorted([FLAGGED, ATTEMPTS, ODD])
