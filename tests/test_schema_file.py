"""``schema.graphql`` is the committed API: it must match what the code serves."""

from __future__ import annotations

from pathlib import Path

from lms_graph.core import LMS
from lms_graph.schema import build_schema
from tests.conftest import make_settings

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_committed_schema_is_current(tmp_path: Path) -> None:
    lms = LMS(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"))
    served = str(build_schema(lms)).strip() + "\n"
    assert SCHEMA_FILE.read_text() == served, (
        "schema.graphql is stale: run `make schema` and commit the result"
    )
