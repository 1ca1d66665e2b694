"""Every hook a plugin can implement. The plugin author's guide documents each one.

Rules that hold for all hooks:

- Hooks are always called with keyword arguments; an implementation may accept
  only the arguments it needs. Arguments are only ever added, never removed.
- Every hook is called through pluggy (``pm.hook.<name>``): hook wrappers
  (``wrapper=True``) and call tracing (``pm.enable_tracing()``,
  ``pm.add_hookcall_monitoring``) see every call. Unless a hook says that the first
  non-None answer wins (``firstresult``), every implementation runs, most recently
  registered first, and every non-None answer is kept.
- Hooks named ``lms_register_*`` run once at start-up; an exception there stops the
  server (fail at start-up, not at 3 a.m.): a ``StartupError`` the plugin raises as it
  is, anything else as ``PluginError`` naming the plugin (the exception is logged with
  it). Their implementations, and those of hooks
  where the first answer wins, must be plain functions: an ``async def`` one stops
  start-up when it registers.
- The other hooks run per request. An implementation may be a plain function or
  an ``async def``: pluggy calls each in turn (an ``async def`` one returns its
  coroutine), then the core awaits the coroutines in that order; a hook wrapper sees
  the coroutine, not what it comes to. One that raises fails the whole field it runs
  for (a mass action fails for every learner, not only one; a write rolls back,
  nothing is written),
  logged with the plugin's name; the client gets ``INTERNAL_SERVER_ERROR``, never the
  exception's text. A refusal (``LMSError``: ``BadInput``, ``Forbidden``...) reaches
  the client as it is, and fails the field the same way. After a commit
  (``lms_on_events``, ``lms_notify``) a raising implementation is only logged, and
  the others still run.
- ``lms_migrations``, ``lms_graphql``, ``lms_routes`` and ``lms_background`` are the
  deprecated names of ``lms_register_migrations``, ``lms_register_graphql``,
  ``lms_register_routes`` and ``lms_register_background`` (``DEPRECATED_NAMES``): an
  implementation under an old name still works, and warns when it registers.
- Learners always arrive in batches (a page, a mass action): never query the
  database once per learner.
- ``db`` is the SQLAlchemy ``AsyncConnection`` of the caller's transaction:
  what a plugin writes with it commits or rolls back with the core's change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection
    from starlette.routing import BaseRoute

    from lms_graph.auth import Viewer
    from lms_graph.core import LMS
    from lms_graph.records import CourseRecord
    from lms_graph.services.actions import ActionContext
    from lms_graph.services.tx import Tx
    from lms_graph.values import (
        ActionDefinition,
        ActionParam,
        CourseType,
        Event,
        GraphQLExtension,
        LearnerProgress,
        LearnerRef,
        LearnerStatus,
        MenuLearner,
        MigrationSource,
        NotificationMessage,
        Outcome,
        SQLExecutor,
    )

PROJECT = "lms_graph"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

DEPRECATED_NAMES: Mapping[str, str] = {
    "lms_migrations": "lms_register_migrations",
    "lms_graphql": "lms_register_graphql",
    "lms_routes": "lms_register_routes",
    "lms_background": "lms_register_background",
}
"""Old hook name -> its new name. An implementation under an old name is registered as
one of the new hook, with a ``DeprecationWarning``; the old names go in the next release."""


def runs_at_startup(hook: str) -> bool:
    """Whether ``hook`` is a start-up hook (``lms_register_*``)."""
    return hook.startswith("lms_register_")


# --- start-up: what a plugin brings -------------------------------------------------


@hookspec
def lms_register_course_types() -> Iterable[CourseType]:
    """Course types this plugin provides.

    Returns: an iterable of ``CourseType``. Every result is kept; two plugins
    registering the same key stop start-up with a message naming both.
    """


@hookspec
def lms_register_actions() -> Iterable[ActionDefinition]:
    """Learner actions this plugin provides: menu entries, their rule, what they do.

    Returns: an iterable of ``ActionDefinition``. Every result is kept; two
    plugins registering the same key stop start-up with a message naming both.
    """


@hookspec
def lms_register_action_params(course_type: str) -> Mapping[str, Sequence[ActionParam]] | None:
    """Params this plugin adds, for learners of ``course_type``, to actions registered by
    others (the core's included): e.g. for ``ilt``, a ``sessionId`` for ``mark_incomplete``
    and more choices for ``remove``'s scope.

    Args:
        course_type: a registered course type key; called once for each.

    Returns: ``{action_key: [ActionParam, ...]}`` or None. A param named like an
    existing one replaces it (the same enum with more choices); new ones are appended
    in plugin order. Menus and ``Course.massActions`` show each course type its own
    params; ``runAction`` accepts any course type's (then refuse what does not fit a
    learner in ``lms_veto_action``). An unknown action key, or two plugins changing
    the same param for one course type, stops start-up. What the extra params mean is
    the plugin's to carry out, in ``lms_perform_action``.
    """


@hookspec
def lms_register_migrations() -> MigrationSource | None:
    """This plugin's own tables: its ``MetaData`` and Alembic versions folder
    (formerly ``lms_migrations``).

    Returns: a ``MigrationSource``, or None when the plugin has no tables.
    Every result is kept; ``lms-graph db upgrade`` upgrades all branches.
    """


@hookspec
def lms_register_graphql() -> GraphQLExtension | None:
    """What this plugin adds to the GraphQL schema: queries, mutations, fields on
    core types, extra types (formerly ``lms_graphql``).

    Returns: a ``GraphQLExtension`` or None. Every result is merged; a field
    name defined twice stops start-up.
    """


@hookspec
def lms_register_routes(lms: LMS) -> Iterable[BaseRoute] | None:
    """HTTP routes this plugin serves (Starlette ``Route``/``Mount`` objects; formerly
    ``lms_routes``).

    Args:
        lms: the running service (settings, database, plugin manager).

    Returns: routes, or None. Every result is mounted beside the core's routes;
    a path claimed twice, or a core path, stops start-up.
    """


@hookspec
def lms_register_background(lms: LMS) -> Iterable[Callable[[], Awaitable[None]]] | None:
    """Work this plugin keeps running in each serving process (a delivery loop;
    formerly ``lms_background``).

    Args:
        lms: the running service.

    Returns: coroutine functions (no arguments), or None. Each is started as a task
    when the app starts serving (every ``lms-graph serve`` worker runs its own) and
    cancelled when it shuts down; it should loop until cancelled and handle its own
    errors (one that ends or raises is logged and not restarted). Several processes
    run the same work at once: claim shared rows so that each is done once.
    """


# --- per request: deciding -----------------------------------------------------------


@hookspec
def lms_learner_status(
    lms: LMS, db: AsyncConnection, course_type: str, learners: Sequence[LearnerProgress]
) -> Mapping[int, LearnerStatus] | None:
    """Decide state and progress of learners of one course type.

    Called whenever progress may have changed, with every affected learner of
    ``course_type`` at once. This is where a course type says what
    "meaningful progress" (STARTED vs IN_PROGRESS) and completion mean.

    Args:
        lms: the running service.
        db: the connection of the transaction recording the progress.
        course_type: the course type key the learners belong to.
        learners: their current attempts, with chapter and quiz counts.

    Returns: ``{enrollment_id: LearnerStatus}`` for the learners this plugin
    decides (it may leave some out), or None when ``course_type`` is not
    its own. The first plugin to decide a learner wins; learners nobody
    decides get the core's rule (NOT_STARTED until started, COMPLETED when
    every chapter is done, STARTED otherwise).
    """


@hookspec
def lms_learner_facts(
    lms: LMS, db: SQLExecutor, learners: Sequence[LearnerRef]
) -> Mapping[int, Mapping[str, Any]] | None:
    """Facts about learners that menu rules need (e.g. "holds a seat", "has a
    certificate"), for a whole page or mass action at once.

    Args:
        lms: the running service.
        db: the caller's connection (``await db.execute(statement)``).
        learners: the learners whose menus are being built.

    Returns: ``{enrollment_id: {fact: value}}`` or None. Every result is merged
    into ``MenuLearner.facts``; name facts after your plugin to avoid clashes.
    """


@hookspec
def lms_withhold_actions(
    lms: LMS,
    db: SQLExecutor,
    course_type: str,
    actions: Sequence[str],
    learners: Sequence[MenuLearner],
) -> Mapping[int, Mapping[str, Outcome]] | None:
    """Which actions (any plugin's, the core's included) do not apply to some learners of
    your course type, beyond each action's own rule: a page's menus, a mass action's
    preview and its run all follow the answer.

    Called once per course type in a batch, with that type's learners only (answer when
    ``course_type`` is yours) and the action keys in question (those in the page's menus;
    the one being run). Decide from the learners and their facts (one statement for the
    batch at most): what is withheld here is never offered, so a learner is never offered
    what could only come back SKIPPED.

    Returns: ``{enrollment_id: {action_key: Outcome.skipped(code, reason)}}`` for the
    actions that do not apply, or None. The action leaves that learner's menu, and a run
    on them is SKIPPED with that code and reason. Every result is merged; the first answer
    for a learner and action wins; answers about other course types' learners are
    ignored.
    """


@hookspec
def lms_veto_action(
    lms: LMS,
    db: SQLExecutor,
    action: str,
    viewer: Viewer,
    learners: Sequence[MenuLearner],
    params: Mapping[str, Any],
) -> Mapping[int, Outcome] | None:
    """Refuse an action for some learners before it runs.

    Called with the learners the action applies to, after its menu rule and
    before anything is written.

    Returns: ``{enrollment_id: Outcome.skipped(code, reason)}`` for the learners
    to leave out, or None. Every result is merged; the first veto of a learner
    wins.
    """


@hookspec
def lms_action_reach(
    lms: LMS, db: SQLExecutor, actions: Sequence[str], learners: Sequence[MenuLearner]
) -> Mapping[str, Mapping[int, Iterable[int]]] | None:
    """The courses beyond each learner's own that running an action on them would write
    to (a curriculum's member courses, a course your plugin keeps in step with another).

    The viewer needs rights over each of them: a learner whose reach includes a course
    the viewer does not manage is left out of that action's menu, and a run on them is
    SKIPPED with code FORBIDDEN, with nothing of it written. Not called for admins (they
    manage every course).

    Args:
        lms: the running service.
        db: the caller's connection.
        actions: the action keys in question (one for a run; those in a page's menus).
        learners: the learners in question, of every course type.

    Returns: ``{action_key: {enrollment_id: course_ids}}`` for the actions and learners
    whose writes reach other courses, or None. Every result is merged (the courses
    added up). Answer only for what your own code writes.
    """


@hookspec
def lms_perform_action(
    lms: LMS, ctx: ActionContext, learners: Sequence[MenuLearner]
) -> Mapping[int, Outcome] | None:
    """Do your course type's part of an action run: what the action means for it.

    Called inside the run's transaction (dry runs included: they roll back), after the
    learners passed the action's menu rule and every veto and were claimed, and before
    the action's own ``run``.

    Args:
        lms: the running service.
        ctx: the run: ``ctx.action`` (its definition; ``ctx.action.key``), ``ctx.params``
            (validated, camelCase), ``ctx.note``, ``ctx.db``, ``ctx.now``, ``ctx.tx``.
        learners: every learner about to be acted on, of every course type: pick yours.

    Returns: ``{enrollment_id: Outcome}`` for the learners you took care of completely,
    or None. Those learners do not go on to the action's own ``run``: an OK one still
    gets the action's history line; a SKIPPED or FAILED one gets none, so write nothing
    for it. Learners you leave out go on to the action's own ``run``. When two plugins
    answer for one learner, the first answer wins, but both have run: answer only for
    your own course type.
    """


@hookspec(firstresult=True)
def lms_mass_actions(lms: LMS, course: CourseRecord) -> Sequence[str] | None:
    """The action keys offered as mass actions for a course of your course type.

    Returns: action keys in display order, or None when the course is not of your
    type. The first non-None result wins (``firstresult``: the plugins after it are
    not called, so an implementation must be a plain function); when none answers,
    every action registered with ``mass=True`` is offered.
    """


# --- per request: reacting ----------------------------------------------------------


@hookspec
def lms_on_assigned(lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    """Learners were assigned (or self-enrolled in) a course; runs inside the transaction.

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_completed(lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    """Learners completed their current attempt (on their own or marked complete);
    runs inside the transaction. ``attempt_id`` is the completed attempt.

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_incomplete(
    lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef], actor_id: int | None
) -> None:
    """Learners' latest attempt was marked incomplete: its completion is taken back
    (``attempt_id``). Take back what the completion gave (certificates, credits).
    Runs inside the transaction.

    Args:
        actor_id: the user who took the completions back (Mark as Incomplete), or None
            when no user did (a course type re-opening a completion it decided).

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_reset(lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    """Learners' progress was reset; runs inside the transaction. ``attempt_id`` is
    the attempt whose progress was cleared (a new one when the learner had
    completed). Clear what your tables hold of that attempt's progress.

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_unassigned(lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    """Learners were unassigned; their current attempt (``attempt_id``) is about to be
    dropped. Runs inside the transaction, before the core deletes.

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_removed(lms: LMS, db: AsyncConnection, learners: Sequence[LearnerRef]) -> None:
    """Learners are being removed from a course for good: delete every row of theirs
    tied to it in your tables. Runs inside the transaction, before the core
    deletes its own rows.

    Returns: nothing; every implementation runs.
    """


@hookspec
def lms_on_events(lms: LMS, events: Sequence[Event]) -> None:
    """What a transaction did, once it has committed (never for a rollback or a dry
    run): the place for webhooks and other outside deliveries. Called once per
    transaction with all its events (a mass action of 10,000 learners: one call).

    Args:
        lms: the running service.
        events: ``Event`` values in the order they happened.

    Returns: nothing; every implementation runs, and a failing one is logged
    without affecting the others or the committed change.
    """


@hookspec
def lms_on_notified(
    lms: LMS, db: AsyncConnection, notifications: Sequence[NotificationMessage]
) -> None:
    """Notifications were just stored, inside the transaction that stores them: write
    what must commit or roll back with them (an outbox of e-mails to send). Nothing
    may leave the process here; ``lms_notify`` follows once the transaction commits.

    Args:
        db: the transaction's connection.
        notifications: the stored notifications (their IDs included), with the ``data``
            their ``Note`` carried.

    Returns: nothing; every implementation runs; a failure rolls the transaction back.
    """


@hookspec
def lms_notify(lms: LMS, notifications: Sequence[NotificationMessage]) -> None:
    """Notifications were stored for users (after the transaction committed):
    deliver them elsewhere too (e-mail, chat, push).

    Returns: nothing; every implementation runs. A failure is logged and does
    not undo the stored notification.
    """


# --- the demo -------------------------------------------------------------------------


@hookspec
def lms_seed_demo(
    lms: LMS, tx: Tx, course: CourseRecord, enrollment_ids: Sequence[int], instructor_id: int
) -> None:
    """Make a demo course of your course type look lived-in (``lms-graph demo``).

    The core has created ``course`` (one per installed course type it knows no
    sample for) and assigned demo learners (``enrollment_ids``, in order);
    ``instructor_id`` teaches it. Add what your type needs to be tried out: sessions
    and seats, recorded activity. Runs once, inside the seed's transaction
    (``tx.db``; ``tx.viewer`` is the demo admin).

    Returns: nothing; only the plugin whose course type ``course`` has should act.
    """


def spec_names() -> list[str]:
    """Every hook name defined here, in file order."""
    return [
        name for name, value in globals().items() if name.startswith("lms_") and callable(value)
    ]
