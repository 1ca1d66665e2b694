"""Migration scorm_xapi_0002 on a database with statements stored before it: their links
(``related_*`` filters) and StatementRef targets are filled in, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from lms_graph.core import LMS
from lms_graph.migrations import upgrade
from lms_graph_plugins.scorm_xapi.tables import xapi_statement_links, xapi_statements
from tests.conftest import _make_postgres_database, _postgres_admin, make_settings

OLD: dict[str, Any] = {
    "actor": {"mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
    "object": {"id": "https://example.com/a"},
    "context": {
        "contextActivities": {"parent": {"id": "https://example.com/p"}},
        "instructor": {"mbox": "mailto:teacher@example.com"},
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    url = _make_postgres_database()
    yield url
    name = make_url(url).database
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_statements_stored_before_get_their_links_and_targets(fresh_url: str) -> None:
    lms = LMS(make_settings(fresh_url))
    try:
        await upgrade(lms, "scorm_xapi_0001")
        target, voiding = str(uuid.uuid4()), str(uuid.uuid4())
        ref: dict[str, Any] = {
            "actor": {"mbox": "mailto:ada@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target},
        }
        async with lms.db.transaction() as conn:
            for statement_id, body in ((target, OLD), (voiding, ref)):
                # only the columns of scorm_xapi_0001 (no ref_id yet)
                await conn.execute(
                    insert(xapi_statements).values(
                        statement_id=statement_id,
                        signature="0" * 64,
                        verb_id=body["verb"]["id"],
                        stored=dt.datetime.now(dt.UTC),
                        body=body,
                    )
                )
        await upgrade(lms)
        s, links = xapi_statements.c, xapi_statement_links.c
        async with lms.db.reader() as conn:
            refs = dict((await conn.execute(select(s.statement_id, s.ref_id))).all())
            found = (
                await conn.execute(
                    select(links.kind, links.key)
                    .join(xapi_statements, s.id == links.statement_pk)
                    .where(s.statement_id == target)
                    .order_by(links.kind, links.key)
                )
            ).all()
        assert refs == {target: None, voiding: target}
        assert [tuple(row) for row in found] == [
            ("activity", "https://example.com/a"),
            ("activity", "https://example.com/p"),
            ("agent", "mbox:mailto:ada@example.com"),
            ("agent", "mbox:mailto:teacher@example.com"),
        ]
    finally:
        await lms.close()
