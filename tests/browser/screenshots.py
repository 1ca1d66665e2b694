"""``python -m tests.browser.screenshots``: the dashboard's main screens as PNGs in
``docs/screenshots/``, taken from a freshly seeded server in Debian's Chromium, at
1366x768 (``name.png``) and on a 390px-wide phone (``name-390.png``)."""

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
SIZES = ((1366, 768, ""), (390, 844, "-390"))
"""Width, height and the file name's suffix of each set of screenshots."""
FAILING_CSV = (
    "Email ID,Employee ID\r\n"
    "learner006@example.com,\r\n"
    "learner001@example.com,E0001\r\n"
    "nobody@example.com,\r\n"
    ",E0030\r\n"
    "learner007@example.com,E0008\r\n"
)


def _shot(page: Page, name: str, suffix: str) -> None:
    page.wait_for_timeout(150)  # let the focus ring and fonts settle
    page.screenshot(path=OUT / f"{name}{suffix}.png")
    print(f"docs/screenshots/{name}{suffix}.png")


def _close(page: Page) -> None:
    page.locator("dialog[open]").get_by_role("button", name="Close").click()


def take(page: Page, suffix: str) -> None:
    page.locator("#learners tbody tr").first.wait_for()
    _shot(page, "learners", suffix)

    page.get_by_role("button", name="Actions for Alice Jensen").click()
    _shot(page, "row-menu", suffix)
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Actions for Bruno Baptiste").click()
    page.get_by_role("menuitem", name="Update/Add Course Due Date").click()
    _shot(page, "action-form", suffix)
    _close(page)

    page.get_by_label("Assignment").select_option("REQUIRED")
    expect(page.locator("#page-info")).to_have_text("1\N{EN DASH}14 of 14")
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Reset Progress"
    ).click()
    page.get_by_role("dialog", name="Reset Progress").get_by_role("button", name="Preview").click()
    page.get_by_role("dialog", name="Preview: Reset Progress").wait_for()
    _shot(page, "mass-action-preview", suffix)
    _close(page)
    page.get_by_role("button", name="Clear selection").click()

    page.get_by_label("Course").select_option(label=OTHER_COURSE)
    expect(page.locator("#course-title")).to_have_text(OTHER_COURSE)
    page.get_by_role("button", name="Assign Course").click()
    dialog = page.get_by_role("dialog", name="Assign Course")
    dialog.get_by_label("Find users").fill("anderson")
    dialog.get_by_role("checkbox", name="Liam Anderson").check()
    dialog.get_by_role("checkbox", name="Chloe Anderson").check()
    expect(dialog.locator(".tag", has_text="Already assigned").first).to_be_visible()
    _shot(page, "assign-course", suffix)
    _close(page)

    page.get_by_role("button", name="Import CSV").click()
    upload: FilePayload = {
        "name": "team.csv",
        "mimeType": "text/csv",
        "buffer": FAILING_CSV.encode(),
    }
    page.get_by_label("CSV file").set_input_files(files=[upload])
    page.get_by_role("dialog", name="Import CSV").get_by_role("button", name="Import").click()
    page.get_by_role("dialog", name="Import Status").wait_for()
    _shot(page, "import-status", suffix)
    page.get_by_role("dialog", name="Import Status").get_by_role("button", name="OK").click()


def take_ilt(page: Page, server: Server, suffix: str) -> None:
    """The session column (a seat, a waitlist place), the session picker and Remove
    User's scopes in an ILT course."""
    [ilt] = [
        e["node"]["id"]
        for e in server.graphql("{ courses(first: 10) { edges { node { id title } } } }")[
            "courses"
        ]["edges"]
        if e["node"]["title"] == ILT_COURSE
    ]
    starts = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    ids = []
    for number, (title, capacity) in enumerate((("Morning class", 1), ("Evening class", 12))):
        begin = starts + dt.timedelta(days=10 + number, hours=8 * number)
        data = server.graphql(
            "mutation S($input: CreateSessionInput!) { createSession(input: $input) { id } }",
            {
                "input": {
                    "courseId": ilt,
                    "title": title,
                    "startsAt": begin.isoformat(),
                    "endsAt": (begin + dt.timedelta(hours=3)).isoformat(),
                    "location": "Room 4",
                    "capacity": capacity,
                    "waitlist": True,
                }
            },
        )
        ids.append(data["createSession"]["id"])
    # Alice holds the morning's only seat; Chloe waits for it.
    learners = server.graphql(
        "query L($id: ID!) { course(id: $id) { learners(first: 10) { edges { node {"
        " id user { id name } } } } } }",
        {"id": ilt},
    )["course"]["learners"]["edges"]
    by_name = {edge["node"]["user"]["name"]: edge["node"] for edge in learners}
    for name in ("Alice Anderson", "Chloe Costa"):
        server.graphql(
            "mutation E($id: ID!) { enrollInSession(sessionId: $id) { id } }",
            {"id": ids[0]},
            token=server.token_for(by_name[name]["user"]["id"]),
        )
    page.get_by_label("Course").select_option(label=ILT_COURSE)
    expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
    expect(page.locator("td.session", has_text="Waitlisted")).to_be_visible()
    _shot(page, "ilt-learners", suffix)
    page.get_by_role("button", name="Actions for Bruno Baptiste").click()
    page.get_by_role("menuitem", name="Change/Add to Session").click()
    picker = page.locator("select[name=param-sessionId]")
    picker.select_option(index=2)
    _shot(page, "ilt-session", suffix)
    _close(page)
    page.get_by_role("button", name="Actions for Alice Anderson").click()
    page.get_by_role("menuitem", name="Remove User").click()
    page.get_by_role("radio", name="From their session only", exact=False).check()
    _shot(page, "remove-user", suffix)
    _close(page)


def main() -> int:
    reason = browser_missing()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for width, height, suffix in SIZES:
        # A fresh server for each width: the same data in every picture.
        with (
            tempfile.TemporaryDirectory() as folder,
            running_server(Path(folder)) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(
                base_url=server.base_url, viewport={"width": width, "height": height}
            )
            page = context.new_page()
            page.goto(f"/admin/#token={server.token}")
            take(page, suffix)
            if "ilt" in PLUGINS:
                take_ilt(page, server, suffix)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
