"""Which actions each learner's menu holds: plugin facts in one batch, then pure rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from lms_graph import models as m
from lms_graph.auth import Viewer
from lms_graph.hook_scope import concerns
from lms_graph.queries import ACTIVE_ENROLLMENT, CURRENT_ATTEMPT
from lms_graph.services.menu_memo import Menu, MenuMemo
from lms_graph.services.reach import beyond_rights, reach
from lms_graph.services.withhold import withheld
from lms_graph.sql import ids_in
from lms_graph.values import (
    ChapterKind,
    CourseKind,
    LearnerRef,
    LearnerState,
    MenuLearner,
    SQLExecutor,
)

if TYPE_CHECKING:
    from lms_graph.core import LMS


def _learners_query(ids: Sequence[int]) -> Any:
    has_quiz = exists().where(
        m.Chapter.course_id == m.Enrollment.course_id, m.Chapter.kind == ChapterKind.QUIZ.value
    )
    has_chapters = exists().where(m.Chapter.course_id == m.Enrollment.course_id)
    is_instructor = exists().where(
        m.CourseInstructor.course_id == m.Enrollment.course_id,
        m.CourseInstructor.user_id == m.Enrollment.user_id,
    )
    return (
        select(
            m.Enrollment.id,
            m.Enrollment.user_id,
            m.Enrollment.course_id,
            m.Course.course_type,
            m.Course.kind,
            m.Attempt.state,
            has_quiz.label("has_quiz"),
            m.Enrollment.attempt_number,
            m.Attempt.id.label("attempt_id"),
            m.Enrollment.version,
            is_instructor.label("is_instructor"),
            has_chapters.label("has_chapters"),
        )
        .join(m.Attempt, CURRENT_ATTEMPT)
        .join(m.Course, m.Course.id == m.Enrollment.course_id)
        .where(ids_in(m.Enrollment.id, ids), ACTIVE_ENROLLMENT)
    )


LearnerRow = tuple[int, int, int, str, CourseKind, str, bool, int, int, int, bool, bool]
"""What a menu needs of one learner, in ``_learners_query``'s column order: enrollment ID,
user ID, course ID, course type, course kind, state, has_quiz, attempt number, attempt ID,
version, is_instructor, has_chapters."""


async def load_learners(
    lms: LMS, db: SQLExecutor, viewer: Viewer, ids: Sequence[int]
) -> dict[int, MenuLearner]:
    """The learners' menu views, with every plugin's facts: one statement plus the hooks."""
    if not ids:
        return {}
    rows: list[Any] = [tuple(row) for row in (await db.execute(_learners_query(ids))).all()]
    return await learners_of(lms, db, viewer, rows)


def unasked_facts(
    lms: LMS, course_types: Collection[str], answered_by: Collection[object] = ()
) -> list[object]:
    """The plugins whose ``lms_learner_facts`` is not asked about learners of
    ``course_types``: those ``answered_by`` (their facts were read as SQL) and those that
    answer about none of these course types (``for_course_types``), as a mass action
    does not ask them."""
    return [
        *answered_by,
        *(
            impl.plugin
            for impl in lms.pm.hook.lms_learner_facts.get_hookimpls()
            if impl.plugin not in answered_by and not concerns(impl.function, course_types)
        ),
    ]


def facts_asked(lms: LMS, skipped: Collection[object]) -> bool:
    """Whether an implementation of ``lms_learner_facts`` is left once ``skipped``'s are."""
    return any(impl.plugin not in skipped for impl in lms.pm.hook.lms_learner_facts.get_hookimpls())


async def learners_of(
    lms: LMS,
    db: SQLExecutor,
    viewer: Viewer,
    rows: Sequence[LearnerRow],
    known: Mapping[int, Mapping[str, Any]] | None = None,
    answered_by: Collection[object] = (),
) -> dict[int, MenuLearner]:
    """Menu views of learners already read (a page of learners has every column), with
    every plugin's facts: only the hooks' statements. ``known``: facts read with the
    rows (``hook_scope.facts_in_sql``), by enrollment ID, from the plugins
    ``answered_by``, whose implementations are then not called."""
    facts: dict[int, dict[str, Any]] = defaultdict(dict)
    if known:
        for enrollment_id, values in known.items():
            facts[enrollment_id].update(values)
    skipped = unasked_facts(lms, {row[3] for row in rows}, answered_by)
    if rows and facts_asked(lms, skipped):
        # Enrollment, user, course, course type, attempt ID, attempt number (``LearnerRow``).
        refs = [LearnerRef(row[0], row[1], row[2], row[3], row[8], row[7]) for row in rows]
        answers = await lms.call_hook("lms_learner_facts", db=db, learners=refs, skip=skipped)
        for _plugin, answer in answers:
            for enrollment_id, values in answer.items():
                facts[enrollment_id].update(values)
    no_facts: Mapping[str, Any] = {}
    is_admin = viewer.is_admin
    states = {state.value: state for state in LearnerState}
    return {
        eid: MenuLearner(
            enrollment_id=eid,
            user_id=user_id,
            course_id=course_id,
            course_type=course_type,
            course_kind=kind,
            state=states[state],
            has_quiz=bool(has_quiz),
            attempt_number=attempt_number,
            attempt_id=attempt_id,
            version=version,
            viewer_is_admin=is_admin,
            facts=facts.get(eid, no_facts),
            is_instructor=bool(is_instructor),
            has_chapters=bool(has_chapters),
        )
        for (
            eid,
            user_id,
            course_id,
            course_type,
            kind,
            state,
            has_quiz,
            attempt_number,
            attempt_id,
            version,
            is_instructor,
            has_chapters,
        ) in rows
    }


def _shared(menus: dict[int, Menu]) -> dict[int, Menu]:
    """Learners with the same menu share one tuple, which lets the executor complete each
    distinct menu once per request (``FastExecutionContext._list``)."""
    shared: dict[tuple[int, ...], Menu] = {}
    for enrollment_id, entries in menus.items():
        # Actions live as long as the LMS, so their ids are stable keys here.
        key = tuple(map(id, entries))
        same = shared.get(key)
        if same is None:
            same = shared[key] = entries
        menus[enrollment_id] = same
    return menus


def menus_of(lms: LMS, viewer: Viewer, learners: Mapping[int, MenuLearner]) -> dict[int, Menu]:
    """Menus of many learners for this viewer by the actions' own rules; none for learners
    they do not manage. Learners alike in all the rules read share one menu, worked out
    once (``menu_memo``)."""
    memos: dict[str, MenuMemo] = {}
    interned: dict[tuple[int, ...], Menu] = {}
    manages: dict[int, bool] = {}
    found: dict[int, Menu] = {}
    for enrollment_id, learner in learners.items():
        course_id = learner.course_id
        managed = manages.get(course_id)
        if managed is None:
            managed = manages[course_id] = viewer.manages(course_id)
        if not managed:
            found[enrollment_id] = ()
            continue
        memo = memos.get(learner.course_type)
        if memo is None:
            actions = lms.menu_actions(learner.course_type)
            memo = memos[learner.course_type] = MenuMemo(actions, interned)
        found[enrollment_id] = memo.menu(learner)
    return found


def _withholding_concerns(lms: LMS, course_type: str) -> bool:
    return any(
        concerns(impl.function, (course_type,))
        for impl in lms.pm.hook.lms_withhold_actions.get_hookimpls()
    )


def _withholding(lms: LMS, learners: Iterable[MenuLearner]) -> list[MenuLearner]:
    """The learners of course types some ``lms_withhold_actions`` implementation concerns
    (``for_course_types``): the others' menus are not asked about."""
    implementations = [impl.function for impl in lms.pm.hook.lms_withhold_actions.get_hookimpls()]
    if not implementations:
        return []
    concerned: dict[str, bool] = {}
    found = []
    for learner in learners:
        course_type = learner.course_type
        asked = concerned.get(course_type)
        if asked is None:
            asked = concerned[course_type] = any(
                concerns(function, (course_type,)) for function in implementations
            )
        if asked:
            found.append(learner)
    return found


async def menus_for(
    lms: LMS, db: SQLExecutor, viewer: Viewer, learners: Mapping[int, MenuLearner]
) -> dict[int, Menu]:
    """``menus_of``, less what the learners' course types withhold
    (``lms_withhold_actions``) and the actions that would write, for a learner, to
    courses this viewer does not manage (``lms_action_reach``; not asked for admins)."""
    return await _trimmed(lms, db, viewer, learners, menus_of(lms, viewer, learners))


async def _trimmed(
    lms: LMS,
    db: SQLExecutor,
    viewer: Viewer,
    learners: Mapping[int, MenuLearner],
    found: dict[int, Menu],
) -> dict[int, Menu]:
    """``found`` less what ``lms_withhold_actions`` and ``lms_action_reach`` take out
    (``menus_for``); ``learners`` holds at least each learner offered something."""
    distinct = {id(entries): entries for entries in found.values()}.values()
    offered = [learners[eid] for eid, entries in found.items() if entries]
    dropped: dict[int, set[str]] = {}
    withholding = _withholding(lms, offered)
    if withholding:
        keys = sorted({action.key for entries in distinct for action in entries})
        for eid, by_key in (await withheld(lms, db, keys, withholding)).items():
            dropped.setdefault(eid, set()).update(by_key)
    if not viewer.is_admin:
        writes = sorted({action.key for entries in distinct for action in entries if action.run})
        for key, by_learner in (await reach(lms, db, writes, offered)).items():
            for eid in by_learner:
                if beyond_rights(viewer, by_learner, learners[eid]):
                    dropped.setdefault(eid, set()).add(key)
    if not dropped:
        return found
    for eid, keys_out in dropped.items():
        found[eid] = tuple(action for action in found[eid] if action.key not in keys_out)
    return _shared(found)


async def menus_of_rows(
    lms: LMS,
    db: SQLExecutor,
    viewer: Viewer,
    course_id: int,
    course_type: str,
    rows: Sequence[Sequence[Any]],
    columns: Mapping[str, int],
    learner_of: Callable[[Sequence[Any]], MenuLearner],
) -> list[Menu]:
    """``menus_for`` the rows of a page of one course's learners, in row order, whose
    facts were all read with them (``columns``, ``learner_of``: ``MenuMemo.menus_of_rows``):
    a ``MenuLearner`` is built for a row the rules are traced on, and for the learners
    handed to ``lms_withhold_actions`` or ``lms_action_reach`` when those are asked."""
    if not rows or not viewer.manages(course_id):
        return [()] * len(rows)
    found = MenuMemo(lms.menu_actions(course_type)).menus_of_rows(rows, columns, learner_of)
    if viewer.is_admin and not _withholding_concerns(lms, course_type):
        return found
    ids = [row[0] for row in rows]
    learners = {row[0]: learner_of(row) for row, menu in zip(rows, found, strict=True) if menu}
    trimmed = await _trimmed(lms, db, viewer, learners, dict(zip(ids, found, strict=True)))
    return [trimmed[eid] for eid in ids]


async def menus(
    lms: LMS, db: SQLExecutor, viewer: Viewer, ids: Sequence[int]
) -> Mapping[int, Menu]:
    """Menus of many learners for this viewer; none for learners they do not manage."""
    return await menus_for(lms, db, viewer, await load_learners(lms, db, viewer, ids))
