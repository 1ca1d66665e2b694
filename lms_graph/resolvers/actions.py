"""Menus and mass actions for the read side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Text, cast, func, literal

from lms_graph.context import Context
from lms_graph.hook_scope import SqlFacts, concerns, sql_facts_of
from lms_graph.records import CourseRecord, EnrollmentRecord
from lms_graph.services import menus
from lms_graph.values import ActionDefinition, LearnerState, MenuLearner

if TYPE_CHECKING:
    from lms_graph.core import LMS


def _menu_loader(ctx: Context) -> Any:
    async def load(ids: list[int]) -> list[Sequence[ActionDefinition]]:
        found = await menus.menus(ctx.lms, ctx.db, ctx.viewer, ids)
        return [found.get(eid, ()) for eid in ids]

    return ctx.loaders.get("menus", load)


def available_actions(ctx: Context, enrollment: EnrollmentRecord) -> Any:
    """The viewer's menu for this learner (batched per request); none for learners."""
    if not ctx.viewer.manages(enrollment.course_id):
        return []
    if enrollment.menu is not None:
        return enrollment.menu
    return _menu_loader(ctx).load(enrollment.id)


def _menu_row(enrollment: EnrollmentRecord) -> menus.LearnerRow | None:
    """What the menu needs of a learner, when the page query read it all."""
    course = enrollment.course
    if (
        course is None
        or enrollment.has_quiz is None
        or enrollment.is_instructor is None
        or enrollment.has_chapters is None
    ):
        return None
    return (
        enrollment.id,
        enrollment.user_id,
        enrollment.course_id,
        course.course_type,
        course.kind,
        enrollment.state,
        enrollment.has_quiz,
        enrollment.attempt_number,
        enrollment.attempt_id,
        enrollment.version,
        enrollment.is_instructor,
        enrollment.has_chapters,
    )


MENU_COLUMNS = (
    "id",
    "user_id",
    "course_id",
    "state",
    "has_quiz",
    "attempt_number",
    "attempt_id",
    "version",
    "is_instructor",
    "has_chapters",
)
"""The columns of a page of a course's learners that its menus need (``menu_rows``)."""


@dataclass(frozen=True, slots=True)
class FactsInSql:
    """The facts of a course type's learners that plugins give as SQL
    (``hook_scope.facts_in_sql``): what to read with a page, and whose implementations
    of ``lms_learner_facts`` that answers for."""

    plugins: tuple[object, ...] = ()
    functions: tuple[SqlFacts, ...] = ()

    def column(self, learner: Mapping[str, Any]) -> Any:
        """One column of JSON text: every fact by name, for the learner's columns, in the
        order pluggy calls the implementations (a name given twice keeps the last one,
        as merging their answers does); ``jsonb_build_object`` takes at most 50 pairs,
        so more are built in parts and concatenated."""
        pairs: list[Any] = []
        for function in self.functions:
            for name, expression in function(learner).items():
                pairs += (literal(name, literal_execute=True), expression)
        parts = [
            func.jsonb_build_object(*pairs[start : start + 100])
            for start in range(0, len(pairs), 100)
        ]
        combined: Any = parts[0] if parts else func.jsonb_build_object()
        for part in parts[1:]:
            combined = combined.op("||")(part)
        return cast(combined, Text).label("facts")


def facts_in_sql(lms: LMS, course_type: str) -> FactsInSql:
    """What ``lms_learner_facts`` implementations concerning ``course_type`` give as SQL."""
    plugins: list[object] = []
    functions: list[SqlFacts] = []
    # In call order (pluggy calls the last registered first), as their answers merge.
    for implementation in reversed(lms.pm.hook.lms_learner_facts.get_hookimpls()):
        function = sql_facts_of(implementation.function)
        if function is not None and concerns(implementation.function, (course_type,)):
            plugins.append(implementation.plugin)
            functions.append(function)
    return FactsInSql(tuple(plugins), tuple(functions))


_MENU_FIELDS = {
    "enrollment_id": 0,
    "user_id": 1,
    "course_id": 2,
    "state": 3,
    "has_quiz": 4,
    "attempt_number": 5,
    "attempt_id": 6,
    "version": 7,
    "is_instructor": 8,
    "has_chapters": 9,
}
"""The ``MenuLearner`` field each of ``MENU_COLUMNS`` gives, by column index."""

_NO_FACTS: Mapping[str, Any] = {}


async def menus_of_rows(
    ctx: Context,
    course: CourseRecord,
    rows: Sequence[Sequence[Any]],
    facts: FactsInSql = FactsInSql(),
) -> Sequence[Sequence[ActionDefinition]]:
    """The menus of a page of a course's learners read as ``MENU_COLUMNS`` (the state
    as stored), then, when ``facts`` has functions, their facts (``FactsInSql.column``),
    in row order. When no other plugin's facts hook concerns the course type, a
    ``MenuLearner`` is built only where a rule or a hook looks at one; otherwise the
    other plugins' facts hooks run for the page."""
    course_type, kind, is_admin = course.course_type, course.kind, ctx.viewer.is_admin
    facts_at = len(MENU_COLUMNS) if facts.functions else None
    skipped = menus.unasked_facts(ctx.lms, (course_type,), facts.plugins)
    if menus.facts_asked(ctx.lms, skipped):
        learner_rows: list[menus.LearnerRow] = [
            (
                row[0],
                row[1],
                row[2],
                course_type,
                kind,
                LearnerState(row[3]),
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                row[9],
            )
            for row in rows
        ]
        known = None if facts_at is None else {row[0]: orjson.loads(row[facts_at]) for row in rows}
        learners = await menus.learners_of(
            ctx.lms, ctx.db, ctx.viewer, learner_rows, known, facts.plugins
        )
        found = await menus.menus_for(ctx.lms, ctx.db, ctx.viewer, learners)
        return [found.get(row[0], ()) for row in rows]

    def learner_of(row: Sequence[Any]) -> MenuLearner:
        return MenuLearner(
            enrollment_id=row[0],
            user_id=row[1],
            course_id=row[2],
            course_type=course_type,
            course_kind=kind,
            state=LearnerState(row[3]),
            has_quiz=bool(row[4]),
            attempt_number=row[5],
            attempt_id=row[6],
            version=row[7],
            viewer_is_admin=is_admin,
            facts=_NO_FACTS if facts_at is None else orjson.loads(row[facts_at]),
            is_instructor=bool(row[8]),
            has_chapters=bool(row[9]),
        )

    columns = _MENU_FIELDS if facts_at is None else {**_MENU_FIELDS, "facts": facts_at}
    return await menus.menus_of_rows(
        ctx.lms, ctx.db, ctx.viewer, course.id, course_type, rows, columns, learner_of
    )


async def prefetch_menus(ctx: Context, enrollments: Sequence[EnrollmentRecord]) -> None:
    """Load a page's menus in one batch up front, so each ``availableActions`` field
    resolves without an awaitable. A page of a course's learners holds all the menus
    need, so only the plugins' facts hooks are asked; otherwise the learners are read."""
    rows = [_menu_row(enrollment) for enrollment in enrollments]
    found: Mapping[int, Sequence[ActionDefinition]]
    if all(row is not None for row in rows):
        learners = await menus.learners_of(
            ctx.lms, ctx.db, ctx.viewer, [row for row in rows if row is not None]
        )
        found = await menus.menus_for(ctx.lms, ctx.db, ctx.viewer, learners)
    else:
        found = await menus.menus(ctx.lms, ctx.db, ctx.viewer, [e.id for e in enrollments])
    for enrollment in enrollments:
        enrollment.menu = found.get(enrollment.id, ())


async def mass_actions(ctx: Context, course: CourseRecord) -> list[ActionDefinition]:
    """What the course type offers for many learners at once (``lms_mass_actions``)."""
    ctx.require_user()
    ctx.viewer.require_manager(course.id)
    actions = ctx.lms.actions_for(course.course_type)
    for _plugin, keys in await ctx.lms.call_hook("lms_mass_actions", course=course):
        return [actions[key] for key in keys if key in actions]
    return [action for action in ctx.lms.menu_actions(course.course_type) if action.mass]
