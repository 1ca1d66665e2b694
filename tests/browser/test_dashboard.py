"""The reference dashboard in a real headless Chromium, against a real server.

Each test clicks through the page as an administrator would, then checks what the
page shows against what the API says, and what the API holds afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import FilePayload, expect

from lms_graph.services.imports import report_message
from tests.browser.seed import ADMIN_EMAIL, ILT_COURSE, MAIN_COURSE, OTHER_COURSE
from tests.browser.server import PLUGINS

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.server import Server


expect.set_options(timeout=10_000)

ROWS = "#learners tbody tr[data-id]"
LEARNERS = """query Learners($title: String!, $filter: LearnerFilter, $after: String) {
  courses(first: 10, search: $title) { edges { node {
    id title
    learnerCounts { state count }
    learners(first: 25, after: $after, filter: $filter) {
      totalCount pageInfo { endCursor }
      edges { node { id state dueDate assignment user { name }
        availableActions { label } } }
    }
  } } }
}"""


def course(
    server: Server, title: str, filter: dict[str, Any] | None = None, after: str | None = None
) -> dict[str, Any]:
    data = server.graphql(LEARNERS, {"title": title, "filter": filter, "after": after})
    [node] = [e["node"] for e in data["courses"]["edges"] if e["node"]["title"] == title]
    return node  # type: ignore[no-any-return]


def names(found: dict[str, Any]) -> list[str]:
    return [edge["node"]["user"]["name"] for edge in found["learners"]["edges"]]


def row_names(page: Page) -> Locator:
    return page.locator(f"{ROWS} .name")


def row(page: Page, name: str) -> Locator:
    return page.locator(ROWS).filter(has=page.locator(".name", has_text=name))


def search(page: Page, text: str, expected: list[str]) -> None:
    page.get_by_label("Search").fill(text)
    expect(row_names(page)).to_have_text(expected)


def enrollment(server: Server, enrollment_id: str) -> dict[str, Any]:
    data = server.graphql(
        """query E($id: ID!) { enrollment(id: $id) {
          state dueDate assignment history { action note } } }""",
        {"id": enrollment_id},
    )
    return data["enrollment"]  # type: ignore[no-any-return]


def test_state_chips_search_and_pages(page: Page, server: Server) -> None:
    found = course(server, MAIN_COURSE)
    counts = {c["state"]: c["count"] for c in found["learnerCounts"]}
    chips = page.get_by_role("group", name="Filter by state").get_by_role("button")
    expect(chips.filter(has_text="Completed").locator(".count")).to_have_text(
        str(counts["COMPLETED"])
    )
    expect(chips.filter(has_text="All").locator(".count")).to_have_text(str(sum(counts.values())))

    chips.filter(has_text="Completed").click()
    expect(chips.filter(has_text="Completed")).to_have_attribute("aria-pressed", "true")
    completed = names(course(server, MAIN_COURSE, {"states": ["COMPLETED"]}))
    expect(row_names(page)).to_have_text(completed)
    expect(page.locator(f"{ROWS} .chip")).to_have_text(["Completed"] * len(completed))

    chips.filter(has_text="All").click()
    search(page, "kowalski", names(course(server, MAIN_COURSE, {"search": "kowalski"})))
    search(page, "E0011", ["Kemi Kowalski"])
    expect(row(page, "Kemi Kowalski").locator(".overdue-tag")).to_have_text("Overdue")

    # Keyset pages: the second page is the API's second page.
    search(page, "", names(found))
    total = found["learners"]["totalCount"]
    expect(page.locator("#page-info")).to_have_text(f"1\N{EN DASH}25 of {total}")
    page.get_by_role("button", name="Next").click()
    second = course(server, MAIN_COURSE, after=found["learners"]["pageInfo"]["endCursor"])
    expect(row_names(page)).to_have_text(names(second))
    expect(page.locator("#page-info")).to_have_text(f"26\N{EN DASH}{total} of {total}")
    page.get_by_role("button", name="Previous").click()
    expect(row_names(page)).to_have_text(names(found))


def test_row_menu_is_the_learners_available_actions(page: Page, server: Server) -> None:
    found = course(server, MAIN_COURSE)
    by_name = {e["node"]["user"]["name"]: e["node"] for e in found["learners"]["edges"]}
    for name in ("Alice Anderson", "Chloe Anderson"):  # not started, completed
        labels = [action["label"] for action in by_name[name]["availableActions"]]
        page.get_by_role("button", name=f"Actions for {name}").click()
        menu = page.get_by_role("menu", name=f"Actions for {name}")
        expect(menu.get_by_role("menuitem")).to_have_text(labels)
        page.keyboard.press("Escape")
        expect(menu).to_have_count(0)
    assert "View Quiz Insights" in labels  # the course has a quiz

    # By keyboard: arrows open and move, Escape closes and gives focus back.
    button = page.get_by_role("button", name="Actions for Alice Anderson")
    button.focus()
    page.keyboard.press("ArrowDown")
    items = page.get_by_role("menu").get_by_role("menuitem")
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()


def test_update_due_date_through_its_form(page: Page, server: Server) -> None:
    due = dt.date.today() + dt.timedelta(days=45)
    search(page, "learner002", ["Bruno Baptiste"])
    target = row(page, "Bruno Baptiste")
    enrollment_id = target.get_attribute("data-id")
    assert enrollment_id is not None
    target.get_by_role("button", name="Actions for Bruno Baptiste").click()
    page.get_by_role("menuitem", name="Update/Add Course Due Date").click()

    dialog = page.get_by_role("dialog", name="Update/Add Course Due Date")
    dialog.get_by_label("Due date", exact=True).fill(due.isoformat())
    dialog.get_by_label("Note for the history (optional)").fill("Extended after leave")
    dialog.get_by_role("button", name="Update/Add Course Due Date").click()

    shown = page.evaluate(
        "iso => new Date(iso).toLocaleDateString(undefined, "
        "{year: 'numeric', month: 'short', day: 'numeric'})",
        f"{due.isoformat()}T00:00:00",
    )
    expect(page.locator("#status")).to_have_text(
        f"Update/Add Course Due Date: done for Bruno Baptiste. Due date: {shown}."
    )
    expect(target.locator("td").nth(4)).to_have_text(shown)
    after = enrollment(server, enrollment_id)
    assert after["dueDate"] == due.isoformat()
    assert after["assignment"] == "REQUIRED"
    assert after["history"][-1] == {"action": "update_due_date", "note": "Extended after leave"}


def test_mass_reset_previews_then_runs(page: Page, server: Server) -> None:
    required = course(server, MAIN_COURSE, {"assignment": "REQUIRED"})
    learners = [edge["node"] for edge in required["learners"]["edges"]]
    fits = [learner for learner in learners if learner["state"] != "NOT_STARTED"]
    not_started = len(learners) - len(fits)
    assert fits
    assert not_started

    page.get_by_label("Assignment").select_option("REQUIRED")
    expect(row_names(page)).to_have_text(names(required))
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    expect(page.locator("#selection-count")).to_have_text(f"{len(learners)} learners selected")
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Reset Progress"
    ).click()
    page.get_by_role("dialog", name="Reset Progress").get_by_role("button", name="Preview").click()

    reason = "Reset Progress does not apply to a learner who is not started."
    preview = page.get_by_role("dialog", name="Preview: Reset Progress")
    expect(preview.locator("#preview-text")).to_have_text(
        f"{len(fits)} will be reset, {not_started} skipped: {reason}"
    )
    # A dry run: nothing changed yet.
    states = [
        e["node"]["state"]
        for e in course(server, MAIN_COURSE, {"assignment": "REQUIRED"})["learners"]["edges"]
    ]
    assert states == [learner["state"] for learner in learners]

    preview.get_by_role("button", name=f"Reset Progress: run for {len(fits)} learners").click()
    done = page.get_by_role("dialog", name="Done: Reset Progress")
    expect(done.locator("#run-summary")).to_have_text(
        f"{len(fits)} done, {not_started} skipped: {reason}"
    )
    expect(done.locator("table.outcomes tbody tr")).to_have_count(len(learners))
    expect(done.locator("table.outcomes tbody tr", has_text="Skipped")).to_have_count(not_started)
    done.get_by_role("button", name="OK").click()

    after = course(server, MAIN_COURSE, {"assignment": "REQUIRED"})
    assert {e["node"]["state"] for e in after["learners"]["edges"]} == {"NOT_STARTED"}
    expect(page.locator(f"{ROWS} .chip")).to_have_text(["Not started"] * len(learners))
    expect(page.get_by_role("region", name="Selected learners")).to_be_hidden()


def test_mass_action_on_every_learner_matching_the_filter(page: Page, server: Server) -> None:
    optional = course(server, MAIN_COURSE, {"assignment": "OPTIONAL"})
    learners = [edge["node"] for edge in optional["learners"]["edges"]]
    completed = sum(learner["state"] == "COMPLETED" for learner in learners)
    assert len(learners) > 10
    assert completed

    page.get_by_label("Rows per page").select_option("10")
    page.get_by_label("Assignment").select_option("OPTIONAL")
    expect(page.locator("#page-info")).to_have_text(f"1\N{EN DASH}10 of {len(learners)}")
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    expect(page.locator("#selection-count")).to_have_text("10 learners selected")
    page.get_by_role("button", name=f"Select all {len(learners)} matching the filter").click()
    expect(page.locator("#selection-count")).to_have_text(
        f"All {len(learners)} learners matching the filter selected"
    )
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Mark as Complete"
    ).click()
    page.get_by_role("dialog", name="Mark as Complete").get_by_role(
        "button", name="Preview"
    ).click()
    reason = "Mark as Complete does not apply to a learner who is completed."
    preview = page.get_by_role("dialog", name="Preview: Mark as Complete")
    fits = len(learners) - completed
    expect(preview.locator("#preview-text")).to_have_text(
        f"{fits} will be marked as complete, {completed} skipped: {reason}"
    )
    preview.get_by_role("button", name=f"Mark as Complete: run for {fits} learners").click()
    done = page.get_by_role("dialog", name="Done: Mark as Complete")
    expect(done.locator("#run-summary")).to_have_text(f"{fits} done, {completed} skipped: {reason}")
    done.get_by_role("button", name="OK").click()

    after = course(server, MAIN_COURSE, {"assignment": "OPTIONAL"})
    assert {e["node"]["state"] for e in after["learners"]["edges"]} == {"COMPLETED"}
    required = course(server, MAIN_COURSE, {"assignment": "REQUIRED"})
    assert "COMPLETED" not in {e["node"]["state"] for e in required["learners"]["edges"]}


def test_import_with_failures_then_download_the_list(page: Page, server: Server) -> None:
    page.get_by_label("Course").select_option(label=OTHER_COURSE)
    expect(page.locator("#course-title")).to_have_text(OTHER_COURSE)
    rows = [
        ("learner006@example.com", ""),  # imported
        ("learner001@example.com", "E0001"),  # already assigned
        ("=nobody@example.com", ""),  # unknown (and a formula, neutralised in the list)
        ("", "E0030"),  # deactivated
        ("learner007@example.com", "E0008"),  # two different users
    ]
    text = "Email ID,Employee ID\r\n" + "".join(f"{e},{i}\r\n" for e, i in rows)
    _import(page, "team.csv", text)

    status = page.get_by_role("dialog", name="Import Status")
    expect(status.locator("#import-message")).to_have_text(report_message(1, 4, False))
    expected = [
        ["3", "learner001@example.com", "E0001", "User is already assigned to this course"],
        ["4", "=nobody@example.com", "", "Employee ID or Email ID not found"],
        ["5", "", "E0030", "User with the given Email ID or Employee ID is deactivated"],
        [
            "6",
            "learner007@example.com",
            "E0008",
            "Email ID and Employee ID belong to different users",
        ],
    ]
    cells = status.locator("#import-failures tbody tr")
    expect(cells).to_have_count(len(expected))
    for index, cells_text in enumerate(expected):
        expect(cells.nth(index).locator("td")).to_have_text(cells_text)

    with page.expect_download() as info:
        status.get_by_role("button", name="Download List").click()
    download = info.value
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert download.suggested_filename == f"Non_Imported_List_{today}.csv"
    path = download.path()
    content = path.read_bytes().decode("utf-8")
    assert list(csv.reader(io.StringIO(content))) == [
        ["Email ID", "Employee ID", "Reason"],
        *[
            [email if not email.startswith("=") else "'" + email, employee, reason]
            for _, email, employee, reason in expected
        ],
    ]
    status.get_by_role("button", name="OK").click()
    expect(row(page, "Farid Fischer")).to_have_count(1)  # learner006, now in the list

    # All imported: the contract's exact message, and nothing to download.
    _import(page, "two.csv", "Email ID,Employee ID\nlearner009@example.com,\n,E0010\n")
    status = page.get_by_role("dialog", name="Import Status")
    expect(status.locator("#import-message")).to_have_text(
        "Import process completed and 2 users imported successfully."
    )
    expect(status.get_by_role("button", name="Download List")).to_have_count(0)
    expect(status.locator("#import-failures")).to_have_count(0)


def _import(page: Page, name: str, text: str) -> None:
    page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog", name="Import CSV")
    upload: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    dialog.get_by_label("CSV file").set_input_files(files=[upload])
    dialog.get_by_role("button", name="Import").click()


def test_assign_course_dialog(page: Page, server: Server) -> None:
    due = dt.date.today() + dt.timedelta(days=20)
    page.get_by_label("Course").select_option(label=OTHER_COURSE)
    expect(page.locator("#course-title")).to_have_text(OTHER_COURSE)
    page.get_by_role("button", name="Assign Course").click()
    dialog = page.get_by_role("dialog", name="Assign Course")
    expect(dialog.get_by_role("link", name="Import a CSV file instead")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Import a CSV file instead")).to_be_visible()
    dialog.get_by_label("Find users").fill("learner012")
    dialog.get_by_role("checkbox", name="Liam Anderson").check()
    dialog.get_by_label("Assignment").select_option("REQUIRED")
    dialog.get_by_label("Due date (optional)").fill(due.isoformat())
    dialog.get_by_label("Message (optional)").fill("Please finish before the review.")
    dialog.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("dialog", name="Assign Course").locator("p").first).to_have_text(
        "1 user assigned."
    )
    page.get_by_role("button", name="OK").click()
    found = course(server, OTHER_COURSE, {"search": "learner012"})
    [node] = [e["node"] for e in found["learners"]["edges"]]
    assert (node["assignment"], node["dueDate"]) == ("REQUIRED", due.isoformat())
    expect(row(page, "Liam Anderson").locator(".tag")).to_have_text("Required")


def test_quiz_insights_view_and_its_workbook(page: Page, server: Server) -> None:
    search(page, "learner023", ["Chloe Anderson"])
    page.get_by_role("button", name="Actions for Chloe Anderson").click()
    page.get_by_role("menuitem", name="View Quiz Insights").click()
    dialog = page.get_by_role("dialog", name="View Quiz Insights: Chloe Anderson")
    expect(dialog.get_by_role("heading", name="Check your knowledge: 2 of 2")).to_be_visible()
    expect(dialog.locator("tbody td")).to_have_text(
        [
            *("Who may report a hazard?", "Anyone", "Correct"),
            *("Where is a near miss written down?", "The log", "Correct"),
        ]
    )
    with page.expect_download() as info:
        dialog.get_by_role("button", name="Download quiz insights (.xlsx)").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    assert info.value.path().read_bytes()[:2] == b"PK"  # a zip: the workbook


@pytest.mark.skipif("ilt" not in PLUGINS, reason="the ILT plugin is not installed")
def test_ilt_session_picker_and_no_show_message(page: Page, server: Server) -> None:
    ilt = course(server, ILT_COURSE)
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
    for number, title in enumerate(("Morning class", "Evening class")):
        begin = starts + dt.timedelta(days=number)
        server.graphql(
            "mutation S($input: CreateSessionInput!) { createSession(input: $input) { id } }",
            {
                "input": {
                    "courseId": ilt["id"],
                    "title": title,
                    "startsAt": begin.isoformat(),
                    "endsAt": (begin + dt.timedelta(hours=3)).isoformat(),
                    "location": "Room 4",
                    "capacity": 5,
                }
            },
        )
    page.get_by_label("Course").select_option(label=ILT_COURSE)
    expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
    expect(page.get_by_role("columnheader", name="Session")).to_be_visible()
    target = row(page, "Alice Anderson")
    expect(target.locator("td").nth(5)).to_have_text("No session")

    target.get_by_role("button", name="Actions for Alice Anderson").click()
    page.get_by_role("menuitem", name="Change/Add to Session").click()
    dialog = page.get_by_role("dialog", name="Change/Add to Session")
    picker = dialog.locator("select[name=param-sessionId]")
    expect(picker.locator("option")).to_have_count(3)  # a prompt and the two sessions
    picker.select_option(label=picker.locator("option", has_text="Evening class").inner_text())
    dialog.get_by_role("button", name="Change/Add to Session").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(r"^Change/Add to Session: done for Alice Anderson\. Added to Evening class \(")
    )
    expect(target.locator("td").nth(5)).to_have_text("Evening class")

    target.get_by_role("button", name="Actions for Alice Anderson").click()
    page.get_by_role("menuitem", name="Mark as No Show").click()
    dialog = page.get_by_role("dialog", name="Mark as No Show")
    dialog.locator("textarea[name=param-message]").fill("Please book another class.")
    dialog.get_by_role("button", name="Mark as No Show").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(
            r"^Mark as No Show: done for Alice Anderson\. "
            r"No-show in Evening class \(.*seat freed\.$"
        )
    )
    expect(target.locator("td").nth(5)).to_have_text("No session")
    enrollment_id = target.get_attribute("data-id")
    data = server.graphql(
        "query N($id: ID!) { enrollment(id: $id) { user { notifications { body } } } }",
        {"id": enrollment_id},
    )
    bodies = [note["body"] for note in data["enrollment"]["user"]["notifications"]]
    assert "Please book another class." in bodies


def test_sign_in_with_a_pasted_token(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url)
    try:
        page = context.new_page()
        page.goto("/admin")  # redirected to /admin/
        page.get_by_label("Bearer token").fill("not-a-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.get_by_label("Bearer token").fill(f"Bearer {server.token}")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#course-title")).to_have_text(MAIN_COURSE)
        expect(page.locator("#viewer")).to_have_text("Ada Admin (admin)")
        assert ADMIN_EMAIL
    finally:
        context.close()
