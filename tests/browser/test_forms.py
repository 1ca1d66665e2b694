"""The dashboard's forms as an administrator meets them: the due date starts from the
current one and is removed only on purpose, Remove User says what it does, several
learners are spoken of in the plural, Make Instructor shows, Assign Course marks who is
assigned already, progress shows the work done, and no API word reaches a dialog (the
``page`` fixture fails any test whose dialogs, alerts or status line showed one).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from playwright.sync_api import FilePayload, expect

from tests.browser.seed import MAIN_COURSE, OTHER_COURSE
from tests.browser.test_dashboard import course, enrollment, row, search
from tests.browser.test_dashboard import names as names_of

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.server import Server


expect.set_options(timeout=10_000)

DUE = "Update/Add Course Due Date"
CLEAR = "Remove the due date (the course becomes Optional)"


def shown_date(page: Page, day: dt.date | str) -> str:
    """A date as the page writes it (the browser's locale, one format everywhere)."""
    iso = day if isinstance(day, str) else day.isoformat()
    shown: str = page.evaluate(
        "iso => new Date(iso).toLocaleDateString(undefined, "
        "{year: 'numeric', month: 'short', day: 'numeric'})",
        f"{iso}T00:00:00",
    )
    return shown


def open_row_action(page: Page, name: str, label: str) -> Locator:
    row(page, name).get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name=label).click()
    return page.get_by_role("dialog", name=label)


def history(server: Server, enrollment_id: str) -> list[dict[str, Any]]:
    data = server.graphql(
        "query H($id: ID!) { enrollment(id: $id) { history { action summary } } }",
        {"id": enrollment_id},
    )
    events: list[dict[str, Any]] = data["enrollment"]["history"]
    return events


def test_due_date_starts_from_the_current_one_and_is_removed_only_on_purpose(
    page: Page, server: Server
) -> None:
    search(page, "learner003", ["Chloe Costa"])
    enrollment_id = row(page, "Chloe Costa").get_attribute("data-id")
    assert enrollment_id is not None
    before = enrollment(server, enrollment_id)
    assert before["assignment"] == "REQUIRED"
    assert before["dueDate"] is not None

    # The form opens on the learner's due date: Enter keeps it (no accidental removal).
    dialog = open_row_action(page, "Chloe Costa", DUE)
    date = dialog.get_by_label("Due date", exact=True)
    expect(date).to_have_value(before["dueDate"])
    expect(date).to_be_focused()
    expect(dialog.get_by_label(CLEAR)).not_to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(
        f"{DUE}: done for Chloe Costa. Due date: {shown_date(page, before['dueDate'])}."
    )
    kept = enrollment(server, enrollment_id)
    assert (kept["dueDate"], kept["assignment"]) == (before["dueDate"], "REQUIRED")

    # An emptied date is refused by the form itself: nothing is sent, nothing changes.
    dialog = open_row_action(page, "Chloe Costa", DUE)
    dialog.get_by_label("Due date", exact=True).fill("")
    dialog.get_by_role("button", name=DUE).click()
    expect(dialog).to_be_visible()
    assert dialog.get_by_label("Due date", exact=True).evaluate(
        "input => input.validity.valueMissing"
    )
    assert len(history(server, enrollment_id)) == len(kept["history"])

    # Removing it is a choice of its own.
    dialog.get_by_label(CLEAR).check()
    expect(dialog.get_by_label("Due date", exact=True)).to_be_disabled()
    dialog.get_by_role("button", name=DUE).click()
    expect(page.locator("#status")).to_have_text(
        f"{DUE}: done for Chloe Costa. Due date removed: the course is now Optional."
    )
    removed = enrollment(server, enrollment_id)
    assert (removed["dueDate"], removed["assignment"]) == (None, "OPTIONAL")
    expect(row(page, "Chloe Costa").locator("td.due")).to_have_text("\N{EM DASH}")
    expect(row(page, "Chloe Costa").locator(".tag")).to_have_text("Optional")

    # A due date that has passed is shown, with what to do about it.
    search(page, "learner004", ["Dmitri Dubois"])
    overdue_id = row(page, "Dmitri Dubois").get_attribute("data-id") or ""
    overdue = enrollment(server, overdue_id)
    dialog = open_row_action(page, "Dmitri Dubois", DUE)
    expect(dialog.get_by_label("Due date", exact=True)).to_have_value(overdue["dueDate"])
    expect(dialog.locator(".field small")).to_have_text(
        f"The current due date, {shown_date(page, overdue['dueDate'])}, has passed: "
        "choose a new one, or remove it."
    )
    # Past dates the service refuses come back in words (the page would not send one).
    dialog.get_by_label("Due date", exact=True).evaluate("input => input.removeAttribute('min')")
    dialog.get_by_role("button", name=DUE).click()
    expect(dialog.get_by_role("alert")).to_have_text("The due date cannot be in the past.")
    expect(dialog.get_by_role("button", name=DUE)).to_be_enabled()
    assert enrollment(server, overdue_id)["dueDate"] == overdue["dueDate"]
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)


def test_mass_forms_speak_of_the_learners_selected(page: Page, server: Server) -> None:
    due = dt.date.today() + dt.timedelta(days=30)
    search(page, "baptiste", ["Bruno Baptiste", "Dmitri Baptiste", "Maya Baptiste"])
    for name in ("Bruno Baptiste", "Maya Baptiste"):
        page.get_by_role("checkbox", name=f"Select {name}").check()
    bar = page.get_by_role("region", name="Selected learners")
    expect(bar.locator("#selection-count")).to_have_text("2 learners selected")
    before = [
        e["node"]["dueDate"]
        for e in course(server, MAIN_COURSE, {"search": "baptiste"})["learners"]["edges"]
    ]

    # No date and no removal chosen: the preview is not even asked for.
    bar.get_by_role("button", name=DUE).click()
    form = page.get_by_role("dialog", name=DUE)
    expect(form.get_by_label("Due date", exact=True)).to_have_value("")
    form.get_by_role("button", name="Preview").click()
    expect(form).to_be_visible()
    form.get_by_label(CLEAR).check()
    form.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog", name=f"Preview: {DUE}")
    expect(preview.locator("#preview-text")).to_have_text(
        "2 will have their due date removed (the course becomes Optional)"
    )
    preview.get_by_role("button", name="Cancel").click()

    bar.get_by_role("button", name=DUE).click()
    form = page.get_by_role("dialog", name=DUE)
    form.get_by_label("Due date", exact=True).fill(due.isoformat())
    form.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog", name=f"Preview: {DUE}")
    expect(preview.locator("#preview-text")).to_have_text(
        f"2 will get the due date {shown_date(page, due)}"
    )
    preview.get_by_role("button", name="Cancel").click()
    after = [
        e["node"]["dueDate"]
        for e in course(server, MAIN_COURSE, {"search": "baptiste"})["learners"]["edges"]
    ]
    assert after == before

    # Confirmations name how many: "these 2 learners", never "this learner".
    bar.get_by_role("button", name="Reset Progress").click()
    form = page.get_by_role("dialog", name="Reset Progress")
    expect(form.get_by_role("note")).to_have_text(
        "Reset the progress of these 2 learners? Their current attempt's work is cleared."
    )
    form.get_by_role("button", name="Cancel").click()
    bar.get_by_role("button", name="Remove User").click()
    form = page.get_by_role("dialog", name="Remove User")
    expect(form.get_by_role("note")).to_contain_text("Remove these 2 learners from this course")
    form.get_by_role("button", name="Cancel").click()


def test_remove_user_on_a_self_paced_course_says_it_deletes_everything(
    page: Page, server: Server
) -> None:
    search(page, "learner005", ["Elena Eriksen"])
    dialog = open_row_action(page, "Elena Eriksen", "Remove User")
    # One thing it can do here: no list of raw scopes to choose from.
    expect(dialog.locator("select, input[type=radio]")).to_have_count(0)
    expect(dialog.get_by_role("note")).to_have_text(
        "Remove Elena Eriksen from this course for good? Everything the learner did in it is "
        "deleted: progress, answers, certificates and history (an audit entry of the removal "
        "stays). This cannot be undone."
    )
    expect(dialog.get_by_role("button", name="Remove User")).to_have_class("danger")
    dialog.get_by_role("button", name="Cancel").click()
    assert course(server, MAIN_COURSE, {"search": "learner005"})["learners"]["totalCount"] == 1


def test_make_instructor_shows_in_the_row_and_its_menu(page: Page, server: Server) -> None:
    search(page, "learner007", ["Greta Garcia"])
    target = row(page, "Greta Garcia")
    expect(target.locator(".tag.instructor")).to_have_count(0)
    dialog = open_row_action(page, "Greta Garcia", "Make Instructor")
    dialog.get_by_role("button", name="Make Instructor").click()
    expect(page.locator("#status")).to_have_text("Make Instructor: done for Greta Garcia.")
    expect(target.locator(".tag.instructor")).to_have_text("Instructor")
    found = course(server, MAIN_COURSE, {"search": "learner007"})
    labels = [a["label"] for a in found["learners"]["edges"][0]["node"]["availableActions"]]
    assert "Remove Instructor Rights" in labels
    assert "Make Instructor" not in labels
    target.get_by_role("button", name="Actions for Greta Garcia").click()
    expect(page.get_by_role("menu").get_by_role("menuitem")).to_have_text(labels)
    # Focus came back to the row's menu button after the run; the menu is closed again.
    page.keyboard.press("Escape")
    expect(target.get_by_role("button", name="Actions for Greta Garcia")).to_be_focused()

    dialog = open_row_action(page, "Greta Garcia", "Remove Instructor Rights")
    expect(dialog.get_by_role("note")).to_have_text(
        "Remove this learner's instructor rights on this course?"
    )
    dialog.get_by_role("button", name="Remove Instructor Rights").click()
    expect(page.locator("#status")).to_have_text("Remove Instructor Rights: done for Greta Garcia.")
    expect(target.locator(".tag.instructor")).to_have_count(0)
    target.get_by_role("button", name="Actions for Greta Garcia").click()
    expect(page.get_by_role("menuitem", name="Make Instructor")).to_be_visible()
    page.keyboard.press("Escape")


def test_assign_course_marks_assigned_users_and_shows_the_chosen_as_chips(
    page: Page, server: Server
) -> None:
    page.get_by_label("Course").select_option(label=OTHER_COURSE)
    expect(page.locator("#course-title")).to_have_text(OTHER_COURSE)
    page.get_by_role("button", name="Assign Course").click()
    dialog = page.get_by_role("dialog", name="Assign Course")
    dialog.get_by_label("Find users").fill("anderson")
    found = dialog.get_by_role("list", name="Users found")
    # learner001 is in the course already: marked before anyone submits, not choosable.
    alice = found.get_by_role("listitem").filter(has_text="Alice Anderson")
    expect(alice.locator(".tag")).to_have_text("Already assigned")
    expect(alice.get_by_role("checkbox")).to_be_disabled()
    expect(
        found.get_by_role("listitem").filter(has_text="Liam Anderson").locator(".tag")
    ).to_have_count(0)

    dialog.get_by_role("checkbox", name="Liam Anderson").check()
    dialog.get_by_role("checkbox", name="Chloe Anderson").check()
    chips = dialog.get_by_role("list", name="Chosen users").get_by_role("listitem")
    expect(chips).to_have_text(
        ["Liam Anderson\N{MULTIPLICATION SIGN}", "Chloe Anderson\N{MULTIPLICATION SIGN}"]
    )
    expect(dialog.locator(".picked-count")).to_have_text("2 users chosen:")
    dialog.get_by_role("button", name="Remove Liam Anderson").click()
    expect(chips).to_have_text(["Chloe Anderson\N{MULTIPLICATION SIGN}"])
    expect(dialog.get_by_role("checkbox", name="Liam Anderson")).not_to_be_checked()
    expect(dialog.get_by_role("button", name="Remove Chloe Anderson")).to_be_focused()

    dialog.get_by_role("button", name="Assign", exact=True).click()
    done = page.get_by_role("dialog", name="Assign Course")
    expect(done.locator("p").first).to_have_text("1 user assigned.")
    done.get_by_role("button", name="OK").click()
    expect(page.locator("#status")).to_have_text("Assign Course: 1 user assigned.")
    expect(row(page, "Chloe Anderson")).to_have_count(1)
    assert course(server, OTHER_COURSE, {"search": "learner012"})["learners"]["totalCount"] == 0


def test_in_progress_shows_the_work_done(page: Page, server: Server) -> None:
    found = course(server, MAIN_COURSE, {"states": ["IN_PROGRESS"]})
    data = server.graphql(
        """query P($id: ID!) { course(id: $id) { learners(first: 50,
             filter: {states: [IN_PROGRESS]}) { edges { node { progress user { name }
             chapterInsights { progress } } } } } }""",
        {"id": found["id"]},
    )
    learners = [edge["node"] for edge in data["course"]["learners"]["edges"]]
    # Those who only answered part of the quiz count too (the issue: 0% before).
    quiz_only = [
        learner
        for learner in learners
        if [c["progress"] for c in learner["chapterInsights"]] == [0, 0, 50]
    ]
    assert quiz_only
    for learner in learners:
        chapters = [c["progress"] for c in learner["chapterInsights"]]
        assert learner["progress"] == round(sum(chapters) / len(chapters)) > 0
    page.get_by_role("group", name="Filter by state").get_by_role(
        "button", name="In progress"
    ).click()
    for learner in quiz_only:
        name = learner["user"]["name"]
        cell = row(page, name).locator(".progress")
        expect(cell).to_have_text(f"{learner['progress']}%")
        expect(cell.get_by_role("progressbar")).to_have_attribute("value", str(learner["progress"]))


def test_errors_and_history_in_words(page: Page, server: Server) -> None:
    # History: the service's ISO dates in the page's one format.
    search(page, "learner002", ["Bruno Baptiste"])
    enrollment_id = row(page, "Bruno Baptiste").get_attribute("data-id") or ""
    due = enrollment(server, enrollment_id)["dueDate"]
    dialog = open_row_action(page, "Bruno Baptiste", "View History")
    expect(dialog.locator("tbody tr").first.locator("td").nth(1)).to_have_text(
        f"Assigned as required, due {shown_date(page, due)}."
    )
    dialog.get_by_role("button", name="Close").click()

    # A workbook renamed .csv: refused in words, its bytes never shown.
    page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog", name="Import CSV")
    upload: FilePayload = {
        "name": "people.csv",
        "mimeType": "text/csv",
        "buffer": b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00\xff\xfe binary",
    }
    dialog.get_by_label("CSV file").set_input_files(files=[upload])
    dialog.get_by_role("button", name="Import").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_be_visible()
    text = alert.inner_text()
    assert "UTF-8" in text or "binary" in text
    assert not any(ord(char) < 32 or char == "\ufffd" for char in text)
    expect(dialog.get_by_role("button", name="Import")).to_be_enabled()
    dialog.get_by_role("button", name="Cancel").click()

    # Learners an action does not fit: their outcome in words, never its code.
    not_started = names_of(course(server, MAIN_COURSE, {"search": "learner00"}))
    search(page, "learner00", not_started)
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Reset Progress"
    ).click()
    page.get_by_role("dialog", name="Reset Progress").get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog", name="Preview: Reset Progress")
    reason = "Reset Progress does not apply to a learner who is not started."
    expect(preview.locator("#preview-text")).to_have_text(
        f"0 will be reset, {len(not_started)} skipped: {reason}"
    )
    expect(
        preview.get_by_role("button", name="Reset Progress: run for 0 learners")
    ).to_be_disabled()
    preview.get_by_text("Every learner").click()
    expect(preview.locator("table.outcomes tbody tr").first.locator("td")).to_have_text(
        [not_started[0], "Skipped", reason]
    )
    preview.get_by_role("button", name="Cancel").click()
