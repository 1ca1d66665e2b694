"""Files a person opens in a spreadsheet never run what users typed (CONTRACT section 6).

Property tests: text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab,
CR) goes through the real CSV import into the real "Non_Imported_List" download,
and through user names, quiz prompts and answers into the real ``.xlsx`` export
opened with openpyxl; no cell comes out as a formula or starting with a trigger,
and every cell shows exactly ``safe_cell`` of what was stored.
"""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

from httpx import AsyncClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from sqlalchemy import select

from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.services.courses import ChapterSpec, CourseSpec, QuestionSpec, insert_course
from lms_graph.services.learning import answer_quiz, start_course
from lms_graph.services.tx import write
from lms_graph.spreadsheet import FORMULA_TRIGGERS, safe_cell
from lms_graph.values import ChapterKind, CourseKind
from tests.helpers import Actor, World
from tests.test_authz_matrix import _viewer

_PAYLOADS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
_PLAIN = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24
)
_PREFIX = st.sampled_from([*FORMULA_TRIGGERS, "", " ", "'"])
CELL_TEXT = st.one_of(
    st.sampled_from(_PAYLOADS), st.builds(lambda p, t: p + t, _PREFIX, _PLAIN)
).filter(lambda t: t.strip() != "")
"""Text a user might type, heavy on formula triggers."""

_EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    # A failure is shown as found: shrinking through the database takes minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_counter = itertools.count()


def _unsafe(cell: str) -> bool:
    return cell.startswith(FORMULA_TRIGGERS)


@given(text=st.text(max_size=30) | CELL_TEXT)
def test_safe_cell_never_starts_a_formula_and_keeps_the_text(text: str) -> None:
    cell = safe_cell(text)
    assert not _unsafe(cell)
    assert cell in (text, "'" + text)
    assert (cell == text) == (not _unsafe(text))


@_EXAMPLES
@given(rows=st.lists(st.tuples(CELL_TEXT, CELL_TEXT), min_size=1, max_size=6))
async def test_csv_failure_download_neutralises_formulas(
    client: AsyncClient, world: World, lms: LMS, rows: list[tuple[str, str]]
) -> None:
    admin = await world.admin(f"Admin {next(_counter)}")
    course = await world.course()
    upload = io.StringIO()
    writer = csv.writer(upload)
    writer.writerow(["Email ID", "Employee ID"])
    writer.writerows(rows)
    auth = {"Authorization": f"Bearer {admin.token}"}
    response = await client.post(
        "/imports/assignments",
        params={"courseId": _gid("Course", course.id)},
        files={"file": ("in.csv", upload.getvalue().encode(), "text/csv")},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["importedCount"] == 0
    failures = report["failures"]
    assert failures, report
    download = await client.get(report["downloadUrl"])
    assert download.status_code == 200
    lines = list(csv.reader(io.StringIO(download.text, newline="")))
    assert lines[0] == ["Email ID", "Employee ID", "Reason"]
    expected = [
        [safe_cell(f["email"]), safe_cell(f["employeeId"]), safe_cell(f["reason"])]
        for f in failures
    ]
    assert lines[1:] == expected
    for line in lines[1:]:
        assert not any(_unsafe(cell) for cell in line), line


@_EXAMPLES
@given(name=CELL_TEXT, prompt=CELL_TEXT, choices=st.lists(CELL_TEXT, min_size=2, max_size=3))
async def test_xlsx_export_neutralises_formulas(
    client: AsyncClient, world: World, lms: LMS, name: str, prompt: str, choices: list[str]
) -> None:
    n = next(_counter)
    admin = await world.admin(f"Admin {n}")
    learner = await world.user(name, email=f"learner{n}@example.com")
    async with write(lms, await _viewer(lms, admin)) as tx:
        course = await insert_course(
            tx,
            CourseSpec(
                prompt,
                "self_paced",
                CourseKind.COURSE,
                1.0,
                [ChapterSpec(prompt, ChapterKind.QUIZ.value, [QuestionSpec(prompt, choices, 0)])],
            ),
        )
    await world.assign(course, [learner], admin)
    await _answer(lms, learner, course.id, len(choices) - 1)
    response = await client.get(
        f"/exports/quiz/courses/{_gid('Course', course.id)}.xlsx",
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert cells
    for cell in cells:
        assert cell.data_type != "f", cell.value
        assert not (isinstance(cell.value, str) and _unsafe(unescape(cell.value))), cell.value
    stored = await _stored(lms, learner, course.id)
    # openpyxl leaves XML-escaped control characters (``_x000D_``) as they are stored.
    row = [
        unescape(cell.value) if isinstance(cell.value, str) else cell.value
        for cell in next(sheet.iter_rows(min_row=2, max_row=2))
    ]
    assert row[0] == safe_cell(stored["name"])
    assert row[3] == safe_cell(stored["title"])
    assert row[4] == safe_cell(stored["prompt"])
    assert row[5] == safe_cell(stored["choices"][-1])


def _gid(type_name: str, pk: int) -> str:
    from lms_graph.ids import to_global_id

    return to_global_id(type_name, pk)


async def _answer(lms: LMS, learner: Actor, course_id: int, choice: int) -> None:
    async with lms.db.reader() as conn:
        enrollment, question = (
            await conn.execute(
                select(m.Enrollment.id, m.Question.id)
                .join(m.Chapter, m.Chapter.course_id == m.Enrollment.course_id)
                .join(m.Question, m.Question.chapter_id == m.Chapter.id)
                .where(m.Enrollment.course_id == course_id, m.Enrollment.user_id == learner.user.id)
            )
        ).one()
    async with write(lms, await _viewer(lms, learner)) as tx:
        await start_course(tx, course_id)
        await answer_quiz(tx, enrollment, question, choice)


async def _stored(lms: LMS, learner: Actor, course_id: int) -> dict[str, Any]:
    """What the database holds (creation may tidy what was typed)."""
    async with lms.db.reader() as conn:
        row = (
            await conn.execute(
                select(m.User.name, m.Chapter.title, m.Question.prompt, m.Question.choices)
                .select_from(m.User)
                .join(m.Chapter, m.Chapter.course_id == course_id)
                .join(m.Question, m.Question.chapter_id == m.Chapter.id)
                .where(m.User.id == learner.user.id)
            )
        ).one()
    return dict(row._mapping)
