"""``Course``, ``Chapter``, ``Question``, ``CourseType`` and learner counts."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from lms_graph.learners import LearnerQuery
from lms_graph.records import ChapterRecord, CourseRecord, QuestionRecord
from lms_graph.resolvers import actions, insights, lists
from lms_graph.resolvers.pagination import Page
from lms_graph.schema import rendering
from lms_graph.schema.base import Connection, Info, Node, record_type_check, selects
from lms_graph.schema.enums import Direction, LearnerOrderField
from lms_graph.schema.users import User
from lms_graph.values import AssignmentType, ChapterKind, CourseKind, LearnerState

if TYPE_CHECKING:
    from lms_graph.schema.actions import Action
    from lms_graph.schema.enrollments import Enrollment

ActionRef = Annotated["Action", strawberry.lazy("lms_graph.schema.actions")]

EnrollmentRef = Annotated["Enrollment", strawberry.lazy("lms_graph.schema.enrollments")]


@strawberry.type
class CourseType:
    key: str
    label: str
    description: str


@strawberry.type
class StateCount:
    state: LearnerState
    count: int


@strawberry.type
class Question(Node):
    is_type_of = record_type_check("Question")

    prompt: str
    choices: list[str]
    position: int

    @strawberry.field(description="The right answer: only for admins and the course's instructors.")
    async def correct_choice(
        self, root: strawberry.Parent[QuestionRecord], info: Info
    ) -> int | None:
        chapter = await info.context.loaders.chapters.load(root.chapter_id)
        if chapter is not None and info.context.viewer.manages(chapter.course_id):
            return root.correct_choice
        return None


@strawberry.type
class Chapter(Node):
    is_type_of = record_type_check("Chapter")

    title: str
    kind: ChapterKind
    position: int

    @strawberry.field
    async def questions(self, root: strawberry.Parent[ChapterRecord], info: Info) -> list[Question]:
        return await info.context.loaders.questions_by_chapter.load(root.id)


@strawberry.input
class LearnerFilter:
    states: list[LearnerState] | None = None
    assignment: AssignmentType | None = None
    search: str | None = None
    overdue: bool | None = None


@strawberry.input
class LearnerOrder:
    field: LearnerOrderField
    direction: Direction = Direction.ASC


def learner_query(filter: LearnerFilter | None, order: LearnerOrder | None) -> LearnerQuery:
    return LearnerQuery(
        states=filter.states if filter else None,
        assignment=filter.assignment if filter else None,
        search=filter.search if filter else None,
        overdue=filter.overdue if filter else None,
        order=order.field.value if order else LearnerOrderField.NAME.value,
        descending=bool(order and order.direction is Direction.DESC),
    )


async def _rendered_page(
    info: Info,
    course: CourseRecord,
    first: int | None,
    after: str | None,
    spec: LearnerQuery,
    shape: rendering.Shape,
) -> Page[Any] | None:
    """The page with each node's JSON built by PostgreSQL (``schema/rendering.py``); None
    when it cannot be (the ordinary path then answers)."""
    ctx = info.context
    menu = rendering.has_menu(shape)
    plain = actions.MENU_COLUMNS if menu else ("id",)
    facts = actions.facts_in_sql(ctx.lms, course.course_type) if menu else actions.FactsInSql()
    columns = functools.partial(_page_columns, shape, facts)
    page = await lists.course_learner_rows(
        ctx, course, first, after, spec, plain, ((shape, facts), columns)
    )
    if page is None:
        return None
    rows = page.nodes
    menus = await actions.menus_of_rows(ctx, course, rows, facts) if menu else ()
    start = len(plain) + (1 if facts.functions else 0)
    nodes = rendering.embed(shape, rows, start, menus)
    if nodes is None:
        return None
    for edge, node in zip(page.edges, nodes, strict=True):
        edge.node = node
    return page


def _page_columns(
    shape: rendering.Shape, facts: actions.FactsInSql, columns: Any
) -> list[Any] | None:
    """The facts plugins give as SQL (if any), then the nodes' JSON."""
    nodes = rendering.node_columns(shape, columns)
    if nodes is None:
        return None
    return [facts.column(columns), *nodes] if facts.functions else nodes


@strawberry.type
class Course(Node):
    is_type_of = record_type_check("Course")

    title: str
    kind: CourseKind
    course_type: str
    credits: float

    @strawberry.field
    async def chapters(self, root: strawberry.Parent[CourseRecord], info: Info) -> list[Chapter]:
        return await info.context.loaders.chapters_by_course.load(root.id)

    @strawberry.field
    async def has_quiz(self, root: strawberry.Parent[CourseRecord], info: Info) -> bool:
        chapters = await info.context.loaders.chapters_by_course.load(root.id)
        return any(chapter.kind == ChapterKind.QUIZ.value for chapter in chapters)

    @strawberry.field(description="A curriculum's courses, in order; empty for a course.")
    async def courses(self, root: strawberry.Parent[CourseRecord], info: Info) -> list[Course]:
        if root.kind is not CourseKind.CURRICULUM:
            return []
        return await info.context.loaders.member_courses_by_curriculum.load(root.id)

    @strawberry.field
    async def instructors(self, root: strawberry.Parent[CourseRecord], info: Info) -> list[User]:
        return await info.context.loaders.instructors_by_course.load(root.id)

    @strawberry.field(description="Admins and the course's instructors only.")
    async def learners(
        self,
        root: strawberry.Parent[CourseRecord],
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: LearnerFilter | None = None,
        order_by: LearnerOrder | None = None,
    ) -> Connection[EnrollmentRef]:
        spec = learner_query(filter, order_by)
        if info.context.render_sql:
            shape = rendering.shape_of(info)
            if shape is not None:
                rendered = await _rendered_page(info, root, first, after, spec, shape)
                if rendered is not None:
                    return rendered
        page = await lists.course_learners(info.context, root, first, after, spec)
        if selects(info, "edges", "node", "availableActions"):
            await actions.prefetch_menus(info.context, page.nodes)
        return page

    @strawberry.field(description="How many learners are in each state (every state listed).")
    async def learner_counts(
        self, root: strawberry.Parent[CourseRecord], info: Info
    ) -> list[StateCount]:
        info.context.viewer.require_manager(root.id)
        counts = await info.context.loaders.learner_counts_by_course.load(root.id)
        return [StateCount(state=state, count=count) for state, count in counts]

    @strawberry.field(description="Actions offered for many learners of this course at once.")
    async def mass_actions(
        self, root: strawberry.Parent[CourseRecord], info: Info
    ) -> list[ActionRef]:
        return await actions.mass_actions(info.context, root)

    @strawberry.field(
        description="A signed link (valid 5 minutes) to every learner's quiz insights as an "
        ".xlsx workbook. Admins and the course's instructors only; null when the course has "
        "no quiz."
    )
    async def quiz_export_url(
        self, root: strawberry.Parent[CourseRecord], info: Info
    ) -> str | None:
        return await insights.course_export_url(info.context, root)
