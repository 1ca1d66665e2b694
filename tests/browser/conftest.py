"""Browser fixtures: one seeded server per session, Debian's Chromium through Playwright.

Without Playwright or Chromium the tests skip with the way to enable them, unless
``LMS_TEST_REQUIRE_BROWSER=1`` (CI) makes that a failure. SQLite only: the page is
what is tested here; the API's behaviour on PostgreSQL is the rest of the suite's job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, Server, browser_missing, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REQUIRE_BROWSER = os.environ.get("LMS_TEST_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser")) as running:
        yield running


# Module-scoped: Playwright's sync API keeps an event loop in this thread while it runs,
# which must be gone before the suite's asyncio tests run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = browser_missing()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """The dashboard, signed in as the seeded admin; a script error fails the test."""
    context = browser.new_context(
        base_url=server.base_url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"/admin/#token={server.token}")
    page.locator("#learners tbody tr").first.wait_for()
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"
