"""Connection resolvers: courses, users, a user's enrollments, a course's learners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Enum, String, exists, func, literal, select, type_coerce
from sqlalchemy.orm import aliased

from lms_graph import models as m
from lms_graph.caches import MISSING, IdentityCache
from lms_graph.context import Context
from lms_graph.errors import BadInput
from lms_graph.learners import (
    LearnerQuery,
    learners_count,
    learners_select,
    like_pattern,
    user_matches,
)
from lms_graph.queries import (
    COURSE_COLUMNS,
    USER_COLUMNS,
    enrollments_select,
)
from lms_graph.records import CourseRecord, EnrollmentRecord, UserRecord
from lms_graph.resolvers.pagination import AnySelect, Page, SortKey, keyset_page, page_size
from lms_graph.values import ChapterKind

T = TypeVar("T")


async def _page(
    ctx: Context,
    query: AnySelect,
    make: Callable[[Any], T] | None,
    first: int | None,
    after: str | None,
    keys: Sequence[SortKey] | None = None,
    count_query: AnySelect | None = None,
    make_rows: Callable[[Sequence[str]], Callable[[Any], T]] | None = None,
    reuse: bool = False,
) -> Page[T]:
    """A keyset page of ``query`` (by its rows' ``id`` unless ``keys`` say otherwise);
    ``totalCount`` counts the same query, only when asked. ``reuse``: ``query`` is built
    once and kept, so its first pages' statements may be kept too."""

    async def count() -> int:
        statement = count_query
        if statement is None:
            statement = select(func.count()).select_from(query.order_by(None).subquery())
        return int((await ctx.db.execute(statement)).scalar_one())

    return await keyset_page(
        ctx.db,
        query,
        keys or [SortKey(query.selected_columns.id)],
        first=page_size(first, ctx.lms.settings.max_page_size),
        after=after,
        make=make,
        count=count,
        make_rows=make_rows,
        reuse=reuse,
    )


async def courses(
    ctx: Context, first: int | None, after: str | None, search: str | None
) -> Page[CourseRecord]:
    ctx.require_user()
    query = select(*COURSE_COLUMNS)
    if search is not None:
        query = query.where(m.Course.title.ilike(like_pattern(search), escape="\\"))
    return await _page(ctx, query, CourseRecord.from_row, first, after)


async def users(
    ctx: Context, first: int | None, after: str | None, search: str | None
) -> Page[UserRecord]:
    ctx.require_user()
    ctx.viewer.require_admin()
    query = select(*USER_COLUMNS)
    if search is not None:
        query = query.where(user_matches(search))
    return await _page(ctx, query, UserRecord.from_row, first, after)


async def user_enrollments(
    ctx: Context, user_id: int, first: int | None, after: str | None
) -> Page[EnrollmentRecord]:
    """A user's active enrollments that the viewer may see (all of them for the user
    and admins; an instructor only those in their courses)."""
    ctx.require_user()
    viewer = ctx.viewer
    query = enrollments_select().where(m.Enrollment.user_id == user_id)
    if not (viewer.is_admin or viewer.id == user_id):
        query = query.where(m.Enrollment.course_id.in_(sorted(viewer.instructs)))
    return await _page(ctx, query, EnrollmentRecord.from_row, first, after)


def _learner_keys(spec: LearnerQuery) -> list[SortKey]:
    desc = spec.descending
    if spec.order == "NAME":
        first = SortKey(func.lower(m.User.name, type_=String()), desc)
    elif spec.order == "DUE_DATE":
        # Learners without a due date come last in either direction.
        first = SortKey(m.due_date_order(desc), desc)
    elif spec.order == "PROGRESS":
        first = SortKey(m.Attempt.progress, desc)
    elif spec.order == "ASSIGNED_AT":
        first = SortKey(m.Enrollment.assigned_at, desc)
    else:  # pragma: no cover - the GraphQL enum admits no other value
        raise BadInput(f"Cannot order learners by {spec.order}.")
    return [first, SortKey(m.Enrollment.id, desc)]


_ASSIGNER = aliased(m.User, name="assigner")


def _has_quiz(course_id: int) -> Any:
    """Whether the course has a quiz chapter (menus need it): evaluated once per query,
    literals only, so the page query keeps no parameters."""
    return (
        exists()
        .where(
            m.Chapter.course_id == literal(course_id, literal_execute=True),
            m.Chapter.kind == literal(ChapterKind.QUIZ.value, literal_execute=True),
        )
        .label("has_quiz")
    )


def _has_chapters(course_id: int) -> Any:
    """Whether the course has chapters (menus need it): evaluated once per query."""
    return (
        exists()
        .where(m.Chapter.course_id == literal(course_id, literal_execute=True))
        .label("has_chapters")
    )


def _is_instructor(course_id: int) -> Any:
    """Whether the learner holds instructor rights on the course (menus need it): one
    primary-key probe per row of the page."""
    return (
        exists()
        .where(
            m.CourseInstructor.course_id == literal(course_id, literal_execute=True),
            m.CourseInstructor.user_id == m.Enrollment.user_id,
        )
        .label("is_instructor")
    )


def _learner_from_row(course: CourseRecord) -> Callable[[Sequence[str]], Callable[[Any], Any]]:
    """Records of a page of learners, built from plain row tuples by position; the
    state and assignment come as stored (``_stored_enums``) and become members here."""

    def make_rows(names: Sequence[str]) -> Callable[[Any], EnrollmentRecord]:
        enrollment = EnrollmentRecord.from_tuple(names)
        user = UserRecord.from_tuple(names, prefix="u_")
        assigner = UserRecord.from_tuple(names, prefix="a_")
        assigner_id = names.index("a_id")
        states, assignments = _STORED["state"], _STORED["assignment"]

        def make(row: Any) -> EnrollmentRecord:
            record = enrollment(row)
            record.state = states[record.state]
            record.assignment = assignments[record.assignment]
            record.user = user(row)
            record.course = course
            record.assigned_by = None if row[assigner_id] is None else assigner(row)
            return record

        return make

    return make_rows


_STORED: dict[str, dict[str, Any]] = {}
"""Enum members by the text stored for them, for the page's enum columns read as text."""


def _stored_enums(query: AnySelect) -> AnySelect:
    """The page query with its ``state`` and ``assignment`` columns read as the text
    stored (the members' names): SQLAlchemy's enum processing costs two Python calls
    per value, 200 on a page, and ``make`` turns the text into members by lookup."""
    columns: list[Any] = []
    for column in query.selected_columns:
        kind = column.type
        if column.key in ("state", "assignment"):
            assert isinstance(kind, Enum)
            assert kind.enum_class is not None
            assert kind.values_callable is None  # stored by name
            _STORED[column.key] = {name: kind.enum_class[name] for name in kind.enums}
            columns.append(type_coerce(column, String()).label(column.key))
        else:
            columns.append(column)
    return query.with_only_columns(*columns, maintain_column_froms=True)


async def course_learners(
    ctx: Context, course: CourseRecord, first: int | None, after: str | None, spec: LearnerQuery
) -> Page[EnrollmentRecord]:
    """A page of a course's learners with their user and who assigned them: one
    statement, plus one for ``totalCount`` if asked."""
    ctx.require_user()
    ctx.viewer.require_manager(course.id)
    query, keys, count_query = _learners_page_parts(course.id, spec, dt.datetime.now(dt.UTC).date())
    return await _page(
        ctx,
        query,
        None,
        first,
        after,
        keys,
        count_query=count_query,
        make_rows=_learner_from_row(course),
        reuse=True,
    )


JsonColumns = Callable[[Any], Sequence[Any] | None]
"""Columns of JSON text a page query may carry, from the page's own columns (None: it
cannot), e.g. ``schema/rendering.node_columns``."""


async def course_learner_rows(
    ctx: Context,
    course: CourseRecord,
    first: int | None,
    after: str | None,
    spec: LearnerQuery,
    plain: Sequence[str],
    rendered: tuple[Hashable, JsonColumns],
) -> Page[tuple[Any, ...]] | None:
    """A page of a course's learners as rows: the page's columns named ``plain`` (as
    stored), then the JSON columns ``rendered`` gives for its key; None when it gives
    none (the caller then takes ``course_learners``). One statement, as that."""
    ctx.require_user()
    ctx.viewer.require_manager(course.id)
    today = dt.datetime.now(dt.UTC).date()
    base, keys, count_query = _learners_page_parts(course.id, spec, today)
    key = (tuple(plain), rendered[0])
    query = _ROW_QUERIES.get(base, key)
    if query is MISSING:
        columns = rendered[1](base.selected_columns)
        query = None
        if columns is not None:
            selected = [base.selected_columns[name] for name in plain]
            query = base.with_only_columns(*selected, *columns, maintain_column_froms=True)
        _ROW_QUERIES.put(base, query, key)
    if query is None:
        return None
    return await _page(
        ctx,
        query,
        None,
        first,
        after,
        keys,
        count_query=count_query,
        make_rows=_as_tuple,
        reuse=True,
    )


def _as_tuple(_names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    return tuple


_ROW_QUERIES: IdentityCache[AnySelect | None] = IdentityCache(256)
"""``course_learner_rows``' statements, by page query (kept alive here), columns and
rendered selection; None where the selection cannot be rendered on that page."""

_PageParts = tuple[AnySelect, list[SortKey], AnySelect]
_PAGE_PARTS: dict[tuple[Any, ...], _PageParts] = {}
_PAGE_PARTS_SIZE = 256


def _learners_page_parts(course_id: int, spec: LearnerQuery, today: dt.date) -> _PageParts:
    """The page query of a course's learners, its sort keys and its count query, built
    once per course, filter and day: SQLAlchemy then skips building the statements and
    computing their cache keys on every request."""
    states = None if spec.states is None else tuple(spec.states)
    key = (
        course_id,
        states,
        spec.assignment,
        spec.search,
        spec.overdue,
        spec.order,
        spec.descending,
        today,
    )
    found = _PAGE_PARTS.get(key)
    if found is None:
        # The course ID (an int) and the page size are written into the SQL text: a first
        # page then has no parameters, and PostgreSQL plans its prepared statement once per
        # connection instead of on every request (custom plans cost more than the query).
        query = _stored_enums(learners_select(course_id, spec, today, inline=True)).outerjoin(
            _ASSIGNER, _ASSIGNER.id == m.Enrollment.assigned_by_id
        )
        query = query.add_columns(
            *(getattr(_ASSIGNER, column.key).label(f"a_{column.key}") for column in USER_COLUMNS),
            _has_quiz(course_id),
            _is_instructor(course_id),
            _has_chapters(course_id),
        )
        found = (query, _learner_keys(spec), learners_count(course_id, spec, today))
        if len(_PAGE_PARTS) >= _PAGE_PARTS_SIZE:
            _PAGE_PARTS.clear()
        _PAGE_PARTS[key] = found
    return found


async def my_learning(ctx: Context, first: int | None, after: str | None) -> Page[EnrollmentRecord]:
    user = ctx.require_user()
    query = enrollments_select().where(m.Enrollment.user_id == user.id)
    return await _page(ctx, query, EnrollmentRecord.from_row, first, after)
