"""Browser fixtures: one seeded server per session, Debian's Chromium through Playwright.

Without Playwright or Chromium the tests skip with the way to enable them, unless
``LMS_TEST_REQUIRE_BROWSER=1`` (CI) makes that a failure. SQLite only: the page is
what is tested here; the API's behaviour on PostgreSQL is the rest of the suite's job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, Server, browser_missing, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REQUIRE_BROWSER = os.environ.get("LMS_TEST_REQUIRE_BROWSER") == "1"

API_WORDS = re.compile(
    r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"  # a code: SESSION_FULL, NOT_APPLICABLE, BAD_USER_INPUT
    r"|\b(?:allowClash|dueDate|sessionId)\b|`"  # param names, as the API writes them
    r"|\b\d{4}-\d{2}-\d{2}\b"  # an ISO date: the page has one format of its own
    r"|[\x00-\x08\x0e-\x1f\ufffd]"  # bytes of a binary file
)
"""What a person never reads in the dashboard's dialogs, alerts and status line."""

RECORD_TEXTS = """
window.__shownTexts = [];
new MutationObserver(() => {
  const shown = document.querySelectorAll("dialog[open], [role=status], [role=alert]");
  for (const el of shown) {
    const text = el.innerText;
    if (text && !window.__shownTexts.includes(text)) window.__shownTexts.push(text);
  }
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""
"""Keeps every text a dialog, alert or the status line showed during a test."""


def raw_api_words(page: Page) -> list[str]:
    """The texts shown so far that hold an API code, a param name, an ISO date or binary."""
    texts: list[str] = page.evaluate("window.__shownTexts || []")
    return [text for text in texts if API_WORDS.search(text)]


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


REFUSED = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
"""What Chromium logs for a request the service refused (bad input): the page shows why."""


def _is_error(text: str, kind: str) -> bool:
    return kind == "error" and text != REFUSED


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """The dashboard, signed in as the seeded admin; a script error fails the test, and so
    does an API word (code, param name, ISO date) in any dialog, alert or status text."""
    context = browser.new_context(
        base_url=server.base_url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_TEXTS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda msg: errors.append(msg.text) if _is_error(msg.text, msg.type) else None
    )
    page.goto(f"/admin/#token={server.token}")
    page.locator("#learners tbody tr").first.wait_for()
    yield page
    raw = raw_api_words(page)
    context.close()
    assert errors == [], f"the page logged errors: {errors}"
    assert raw == [], f"API words reached the administrator: {raw}"
