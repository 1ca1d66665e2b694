"""``ids_in`` (``ids_param``): ``column IN ids`` bound as one parameter, on both backends,
the IDs given by name at execution or with the statement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, not_, select

from lms_graph import models as m
from lms_graph.core import LMS
from lms_graph.sql import ids_in, ids_param, pairs_in, texts_in

_BY_IDS = select(m.User.id).where(ids_param(m.User.id, "ids")).order_by(m.User.id)
_NOT_BY_IDS = select(m.User.id).where(not_(ids_param(m.User.id, "ids"))).order_by(m.User.id)


@pytest.mark.parametrize("ids", [[], [3], [1, 4, 7, 999], list(range(1, 11))])
async def test_ids_param_matches_what_in_matches(lms: LMS, ids: list[int]) -> None:
    async with lms.db.transaction() as conn:
        await conn.execute(
            insert(m.User),
            [{"id": i, "name": f"U{i}", "email": f"u{i}@x.test"} for i in range(1, 11)],
        )
    async with lms.db.reader() as conn:
        found = (await conn.execute(_BY_IDS, {"ids": ids})).scalars().all()
        others = (await conn.execute(_NOT_BY_IDS, {"ids": ids})).scalars().all()
        given = select(m.User.id).where(ids_in(m.User.id, ids)).order_by(m.User.id)
        found_given = (await conn.execute(given)).scalars().all()
        not_given = select(m.User.id).where(not_(ids_in(m.User.id, ids))).order_by(m.User.id)
        others_given = (await conn.execute(not_given)).scalars().all()
        expected = (
            (await conn.execute(select(m.User.id).where(m.User.id.in_(ids)).order_by(m.User.id)))
            .scalars()
            .all()
        )
    assert found == found_given == expected
    assert others == others_given == [i for i in range(1, 11) if i not in ids]


async def test_ids_given_with_the_statement_are_its_own_when_its_compiled_form_is_reused(
    lms: LMS,
) -> None:
    """Statements built again with other IDs share one compiled form (SQLAlchemy's cache),
    each bound to its own IDs."""
    async with lms.db.transaction() as conn:
        await conn.execute(
            insert(m.User),
            [{"id": i, "name": f"U{i}", "email": f"u{i}@x.test"} for i in range(1, 11)],
        )
    compiled: dict[Any, Any] = {}
    async with lms.db.reader() as conn:
        for ids in ([2, 5], [7], [1, 9, 10], []):
            statement = select(m.User.id).where(ids_in(m.User.id, ids)).order_by(m.User.id)
            result = await conn.execute(statement, execution_options={"compiled_cache": compiled})
            assert result.scalars().all() == ids
    assert len(compiled) == 1


_SET_TESTS: dict[str, Any] = {
    "ids_param": select(m.Enrollment.id).where(ids_param(m.Enrollment.course_id, "ids")),
    "ids_in": select(m.Enrollment.id).where(ids_in(m.Enrollment.course_id, [1])),
    "texts_in": select(m.User.id).where(texts_in(m.User.email, ["a@x.test"])),
    "pairs_in": select(m.Enrollment.id).where(
        pairs_in(m.Enrollment.user_id, m.Enrollment.course_id, [(1, 1)])
    ),
}


@pytest.mark.parametrize("name", list(_SET_TESTS))
async def test_set_tests_search_an_index_on_sqlite(lms: LMS, name: str) -> None:
    """SQLite must not get ``... = 1`` appended to a membership test: it then scans the
    whole table instead of searching the column's index."""
    if not lms.db.is_sqlite:
        pytest.skip("the plan of SQLite's json_each form; PostgreSQL uses = ANY($1)")
    async with lms.db.reader() as conn:
        compiled = _SET_TESTS[name].compile(conn.sync_connection)
        values = tuple(
            json.dumps(value) if isinstance(value := compiled.params.get(key), list) else value
            for key in compiled.positiontup or ()
        )
        plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)).all()
    details = " ".join(row[-1] for row in plan)
    assert "= 1" not in str(compiled)
    assert "SEARCH" in details, details
    assert "SCAN enrollments" not in details, details
    assert "SCAN users" not in details, details
