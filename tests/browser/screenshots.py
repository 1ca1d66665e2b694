"""``python -m tests.browser.screenshots``: the dashboard's main screens as PNGs in
``docs/screenshots/``, taken from a freshly seeded server in Debian's Chromium."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import FilePayload, Page, expect, sync_playwright

from tests.browser.seed import ILT_COURSE, OTHER_COURSE
from tests.browser.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PLUGINS,
    Server,
    browser_missing,
    running_server,
)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FAILING_CSV = (
    "Email ID,Employee ID\r\n"
    "learner006@example.com,\r\n"
    "learner001@example.com,E0001\r\n"
    "nobody@example.com,\r\n"
    ",E0030\r\n"
    "learner007@example.com,E0008\r\n"
)


def _shot(page: Page, name: str) -> None:
    page.wait_for_timeout(150)  # let the focus ring and fonts settle
    page.screenshot(path=OUT / f"{name}.png")
    print(f"docs/screenshots/{name}.png")


def take(page: Page) -> None:
    page.locator("#learners tbody tr").first.wait_for()
    _shot(page, "learners")

    page.get_by_role("button", name="Actions for Alice Jensen").click()
    _shot(page, "row-menu")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Actions for Alice Anderson").click()
    page.get_by_role("menuitem", name="Update/Add Course Due Date").click()
    _shot(page, "action-form")
    page.keyboard.press("Escape")

    page.get_by_label("Assignment").select_option("REQUIRED")
    expect(page.locator("#page-info")).to_have_text("1\N{EN DASH}14 of 14")
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Reset Progress"
    ).click()
    page.get_by_role("dialog", name="Reset Progress").get_by_role("button", name="Preview").click()
    page.get_by_role("dialog", name="Preview: Reset Progress").wait_for()
    _shot(page, "mass-action-preview")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Assign Course").click()
    dialog = page.get_by_role("dialog", name="Assign Course")
    dialog.get_by_label("Find users").fill("kowalski")
    dialog.get_by_role("checkbox", name="Kemi Kowalski").check()
    _shot(page, "assign-course")
    page.keyboard.press("Escape")

    page.get_by_label("Course").select_option(label=OTHER_COURSE)
    expect(page.locator("#course-title")).to_have_text(OTHER_COURSE)
    page.get_by_role("button", name="Import CSV").click()
    upload: FilePayload = {
        "name": "team.csv",
        "mimeType": "text/csv",
        "buffer": FAILING_CSV.encode(),
    }
    page.get_by_label("CSV file").set_input_files(files=[upload])
    page.get_by_role("dialog", name="Import CSV").get_by_role("button", name="Import").click()
    page.get_by_role("dialog", name="Import Status").wait_for()
    _shot(page, "import-status")


def take_ilt(page: Page, server: Server) -> None:
    """The session column and the session picker of an ILT course."""
    [ilt] = [
        e["node"]["id"]
        for e in server.graphql("{ courses(first: 10) { edges { node { id title } } } }")[
            "courses"
        ]["edges"]
        if e["node"]["title"] == ILT_COURSE
    ]
    starts = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for number, title in enumerate(("Morning class", "Evening class")):
        begin = starts + dt.timedelta(days=10 + number, hours=8 * number)
        server.graphql(
            "mutation S($input: CreateSessionInput!) { createSession(input: $input) { id } }",
            {
                "input": {
                    "courseId": ilt,
                    "title": title,
                    "startsAt": begin.isoformat(),
                    "endsAt": (begin + dt.timedelta(hours=3)).isoformat(),
                    "location": "Room 4",
                    "capacity": 12,
                }
            },
        )
    page.keyboard.press("Escape")
    page.get_by_label("Course").select_option(label=ILT_COURSE)
    expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
    page.get_by_role("button", name="Actions for Alice Anderson").click()
    page.get_by_role("menuitem", name="Change/Add to Session").click()
    picker = page.locator("select[name=param-sessionId]")
    picker.select_option(index=1)
    _shot(page, "ilt-session")


def main() -> int:
    reason = browser_missing()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        running_server(Path(folder)) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=server.base_url, viewport={"width": 1280, "height": 760}
        )
        page = context.new_page()
        page.goto(f"/admin/#token={server.token}")
        take(page)
        if "ilt" in PLUGINS:
            take_ilt(page, server)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
