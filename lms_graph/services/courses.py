"""Creating courses and curricula (administrators only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import insert, select

from lms_graph import models as m
from lms_graph.errors import BadInput
from lms_graph.queries import COURSE_COLUMNS
from lms_graph.records import CourseRecord
from lms_graph.services.tx import Tx
from lms_graph.values import ChapterKind, CourseKind


@dataclasses.dataclass(frozen=True, slots=True)
class QuestionSpec:
    prompt: str
    choices: Sequence[str]
    correct_choice: int


@dataclasses.dataclass(frozen=True, slots=True)
class ChapterSpec:
    title: str
    kind: str = ChapterKind.CONTENT.value
    questions: Sequence[QuestionSpec] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class CourseSpec:
    title: str
    course_type: str
    kind: CourseKind = CourseKind.COURSE
    credits: float = 0.0
    chapters: Sequence[ChapterSpec] = ()
    course_ids: Sequence[int] = ()


def _validate(tx: Tx, spec: CourseSpec) -> None:
    if not spec.title.strip():
        raise BadInput("A course needs a title.")
    if len(spec.title) > 300:
        raise BadInput("A course title has at most 300 characters.")
    if spec.course_type not in tx.lms.course_types:
        known = ", ".join(sorted(tx.lms.course_types)) or "none"
        raise BadInput(f"Unknown course type {spec.course_type!r} (known: {known}).")
    if spec.credits < 0:
        raise BadInput("Credits cannot be negative.")
    if spec.kind is CourseKind.CURRICULUM:
        if spec.chapters:
            raise BadInput("A curriculum has courses, not chapters.")
        if not spec.course_ids:
            raise BadInput("A curriculum needs at least one course.")
        if len(set(spec.course_ids)) != len(spec.course_ids):
            raise BadInput("A curriculum lists each course once.")
    elif spec.course_ids:
        raise BadInput("Only a curriculum has member courses.")
    for chapter in spec.chapters:
        if not chapter.title.strip():
            raise BadInput("Every chapter needs a title.")
        if chapter.kind == ChapterKind.QUIZ.value and not chapter.questions:
            raise BadInput(f"The quiz chapter {chapter.title!r} needs at least one question.")
        if chapter.kind != ChapterKind.QUIZ.value and chapter.questions:
            raise BadInput(f"Only quiz chapters have questions ({chapter.title!r}).")
        for question in chapter.questions:
            if not question.prompt.strip():
                raise BadInput("Every question needs a prompt.")
            if len(question.choices) < 2:
                raise BadInput(f"The question {question.prompt!r} needs at least two choices.")
            if not 0 <= question.correct_choice < len(question.choices):
                raise BadInput(
                    f"The correct choice of {question.prompt!r} must be between 0 and "
                    f"{len(question.choices) - 1}."
                )


async def create_course(tx: Tx, spec: CourseSpec) -> CourseRecord:
    tx.viewer.require_admin()
    return await insert_course(tx, spec)


async def insert_course(tx: Tx, spec: CourseSpec) -> CourseRecord:
    """Create a course without a permission check (the demo seed uses it)."""
    _validate(tx, spec)
    if spec.course_ids:
        members = (
            await tx.db.execute(
                select(m.Course.id, m.Course.kind).where(m.Course.id.in_(spec.course_ids))
            )
        ).all()
        if len(members) != len(spec.course_ids):
            raise BadInput("A curriculum can only hold existing courses.")
        if any(kind is CourseKind.CURRICULUM for _, kind in members):
            raise BadInput("A curriculum cannot hold another curriculum.")
    row = (
        (
            await tx.db.execute(
                insert(m.Course)
                .values(
                    title=spec.title.strip(),
                    kind=spec.kind,
                    course_type=spec.course_type,
                    credits=spec.credits,
                    created_at=tx.now,
                )
                .returning(*COURSE_COLUMNS)
            )
        )
        .mappings()
        .one()
    )
    course = CourseRecord.from_row(row)
    if spec.course_ids:
        await tx.db.execute(
            insert(m.CurriculumCourse),
            [
                {"curriculum_id": course.id, "course_id": course_id, "position": position}
                for position, course_id in enumerate(spec.course_ids)
            ],
        )
    for position, chapter in enumerate(spec.chapters):
        chapter_id = (
            await tx.db.execute(
                insert(m.Chapter)
                .values(
                    course_id=course.id,
                    title=chapter.title.strip(),
                    kind=chapter.kind,
                    position=position,
                )
                .returning(m.Chapter.id)
            )
        ).scalar_one()
        if chapter.questions:
            await tx.db.execute(
                insert(m.Question),
                [
                    {
                        "chapter_id": chapter_id,
                        "prompt": question.prompt.strip(),
                        "choices": list(question.choices),
                        "correct_choice": question.correct_choice,
                        "position": index,
                    }
                    for index, question in enumerate(question for question in chapter.questions)
                ],
            )
    return course
