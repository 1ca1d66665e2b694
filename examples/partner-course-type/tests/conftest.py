"""lms-graph's testing plugin, with this package installed: the service loads it through
its entry point, migrates its branch, and serves it from the real ASGI app.

Every test runs on SQLite (a temporary file) and on PostgreSQL when
``LMS_TEST_POSTGRES_URL`` names a server (else that variant skips, saying how to enable
it; ``LMS_TEST_REQUIRE_POSTGRES=1`` makes that an error).
"""

from __future__ import annotations

import pytest
from lms_graph.testing import Users

pytest_plugins = ["lms_graph.testing"]


@pytest.fixture(scope="session")
def lms_plugins() -> tuple[str, ...]:
    """The allow-list: the built-in course type the tests compare with, and this plugin."""
    return ("self_paced", "attendance")


@pytest.fixture
async def admin_token(lms_users: Users) -> str:
    return (await lms_users.admin()).token
