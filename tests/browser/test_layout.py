"""Every width, every keyboard, every wait: no sideways page scroll at 390px and every
dialog field inside its dialog at 390 and 1366 wide; focus where it was after each
redraw; a slow mass action shows that it is under way and announces its result."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.browser.seed import ILT_COURSE, MAIN_COURSE
from tests.browser.server import PLUGINS
from tests.browser.test_dashboard import course, names, row, search

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Route

    from tests.browser.server import Server


expect.set_options(timeout=10_000)

OUTSIDE = """dialog => {
  const box = dialog.getBoundingClientRect();
  const found = [];
  const out = (r, around) => r.left < around.left - 0.5 || r.right > around.right + 0.5;
  const viewport = { left: 0, right: innerWidth };
  if (out(box, viewport) || box.top < 0 || box.bottom > innerHeight + 0.5) {
    found.push(`the dialog ${Math.round(box.width)}x${Math.round(box.height)} leaves the viewport`);
  }
  for (const part of dialog.querySelectorAll(".dialog-body, footer, .scroll-x")) {
    if (part.classList.contains("scroll-x")) {
      if (out(part.getBoundingClientRect(), box)) found.push("a table's box");
    } else if (part.scrollWidth > part.clientWidth + 1) {
      found.push(`${part.tagName} scrolls sideways`);
    }
  }
  const fields = dialog.querySelectorAll("input, select, textarea, button, label, legend");
  for (const el of fields) {
    if (el.closest(".scroll-x")) continue; // tables scroll in their own box
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (out(r, box)) {
      const name = el.getAttribute("aria-label") || el.name || el.textContent.trim().slice(0, 40);
      found.push(`${el.tagName} "${name}" at ${Math.round(r.left)}..${Math.round(r.right)}, ` +
        `the dialog ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return found;
}"""
"""What of an open dialog lies outside it (or outside the viewport)."""

SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


def fits(page: Page, dialog: Locator) -> None:
    expect(dialog).to_be_visible()
    page.wait_for_timeout(50)  # the dialog's layout, once its content is in
    assert dialog.evaluate(OUTSIDE) == []
    assert page.evaluate(SIDEWAYS) <= 0


def close(page: Page, dialog: Locator) -> None:
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)


def menu_dialog(page: Page, name: str, label: str) -> Locator:
    row(page, name).get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name=label).click()
    return page.locator("dialog[open]")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
def test_every_dialog_fits_and_the_page_never_scrolls_sideways(
    page: Page, server: Server, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    expect(page.locator(ROWS_FIRST)).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    # The table scrolls in its own box when it is wider than the page.
    wrap = page.get_by_role("region", name=f"Learners of {MAIN_COURSE}")
    sizes = wrap.evaluate("el => [el.scrollWidth, el.clientWidth, getComputedStyle(el).overflowX]")
    assert sizes[2] == "auto"
    if width == 390:
        assert sizes[0] > sizes[1]

    for name, label in (
        ("Alice Anderson", "Update/Add Course Due Date"),  # overdue: a hint under the date
        ("Alice Anderson", "Remove User"),
        ("Chloe Anderson", "View History"),
        ("Chloe Anderson", "View Quiz Insights"),
    ):
        dialog = menu_dialog(page, name, label)
        fits(page, dialog)
        close(page, dialog)

    page.get_by_role("checkbox", name="Select every learner on this page").check()
    bar = page.get_by_role("region", name="Selected learners")
    bar.get_by_role("button", name="Update/Add Course Due Date").click()
    form = page.get_by_role("dialog", name="Update/Add Course Due Date")
    fits(page, form)
    form.get_by_label("Remove the due date (the course becomes Optional)").check()
    form.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog", name="Preview: Update/Add Course Due Date")
    fits(page, preview)
    close(page, preview)
    bar.get_by_role("button", name="Clear selection").click()

    page.get_by_role("button", name="Assign Course").click()
    dialog = page.get_by_role("dialog", name="Assign Course")
    dialog.get_by_label("Find users").fill("anderson")
    dialog.get_by_role("checkbox", name="Liam Anderson").wait_for()
    fits(page, dialog)
    close(page, dialog)

    page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog", name="Import CSV")
    fits(page, dialog)
    labels = dialog.locator(".field > label, .field > span")
    for index in range(labels.count()):  # no label cut short ("Due date (optio")
        heading = labels.nth(index)
        assert heading.evaluate("el => el.scrollWidth <= el.clientWidth"), heading.inner_text()
    close(page, dialog)

    if "ilt" in PLUGINS:
        page.get_by_label("Course").select_option(label=ILT_COURSE)
        expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
        assert page.evaluate(SIDEWAYS) <= 0
        for label in ("Change/Add to Session", "Remove User"):
            dialog = menu_dialog(page, "Bruno Baptiste", label)
            fits(page, dialog)
            close(page, dialog)


ROWS_FIRST = "#learners tbody tr[data-id] >> nth=0"


def test_focus_stays_where_it_was_after_each_redraw(page: Page, server: Server) -> None:
    # A row's checkbox, by keyboard: still focused, and Tab goes on to that row's menu.
    box = page.get_by_role("checkbox", name="Select Bruno Baptiste")
    box.focus()
    page.keyboard.press("Space")
    expect(page.locator("#selection-count")).to_have_text("1 learner selected")
    expect(page.get_by_role("checkbox", name="Select Bruno Baptiste")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Actions for Bruno Baptiste")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    expect(page.get_by_role("region", name="Selected learners")).to_be_hidden()
    expect(page.get_by_role("checkbox", name="Select Bruno Baptiste")).to_be_focused()

    # "Select all matching", then "Clear selection".
    page.get_by_role("checkbox", name="Select every learner on this page").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="Select every learner on this page")).to_be_focused()
    page.get_by_role("button", name=re.compile(r"^Select all \d+ matching")).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#selection-count")).to_be_focused()
    page.get_by_role("button", name="Clear selection").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("checkbox", name="Select every learner on this page")).to_be_focused()

    # A state chip, by keyboard and with the mouse.
    chips = page.get_by_role("group", name="Filter by state").get_by_role("button")
    completed = chips.filter(has_text="Completed")
    completed.focus()
    page.keyboard.press("Enter")
    expect(completed).to_have_attribute("aria-pressed", "true")
    expect(completed).to_be_focused()
    chips.filter(has_text="All").click()
    expect(chips.filter(has_text="All")).to_have_attribute("aria-pressed", "true")
    expect(chips.filter(has_text="All")).to_be_focused()

    # Next, then Previous: on the last page Next is disabled, so Previous has the focus.
    total = course(server, MAIN_COURSE)["learners"]["totalCount"]
    page.get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#page-info")).to_have_text(f"26\N{EN DASH}{total} of {total}")
    expect(page.get_by_role("button", name="Previous")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#page-info")).to_have_text(f"1\N{EN DASH}25 of {total}")
    expect(page.get_by_role("button", name="Next")).to_be_focused()

    # After a row's action: its menu button, drawn again with the row.
    search(page, "learner002", ["Bruno Baptiste"])
    menu = page.get_by_role("button", name="Actions for Bruno Baptiste")
    menu.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the first item: Update/Add Course Due Date
    expect(page.get_by_role("dialog", name="Update/Add Course Due Date")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("done for Bruno Baptiste")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Actions for Bruno Baptiste")).to_be_focused()


def _is_run(route: Route, dry_run: bool) -> bool:
    body: dict[str, Any] = route.request.post_data_json or {}
    values = (body.get("variables") or {}).get("input") or {}
    return "runAction" in body.get("query", "") and bool(values.get("dryRun")) is dry_run


def _wait_for(held: list[Route], page: Page) -> Route:
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "the request was never sent"
        page.wait_for_timeout(20)
    return held.pop()


def test_a_slow_mass_action_shows_it_is_under_way(page: Page, server: Server) -> None:
    """The preview and the run are held back as a slow server would: meanwhile the dialog
    is busy (aria-busy, a progress bar and its words, its buttons disabled, Escape does
    not close it) and the page's actions are disabled; the result is announced."""
    held: list[Route] = []
    waiting = {"dry": True}

    def hold(route: Route) -> None:
        if _is_run(route, waiting["dry"]):
            held.append(route)
        else:
            route.continue_()

    page.route("**/graphql", hold)
    not_completed = names(course(server, MAIN_COURSE, {"assignment": "REQUIRED"}))
    page.get_by_label("Assignment").select_option("REQUIRED")
    expect(page.locator("#learners .name")).to_have_text(not_completed)
    page.get_by_role("checkbox", name="Select every learner on this page").check()
    bar = page.get_by_role("region", name="Selected learners")
    bar.get_by_role("button", name="Mark as Complete").click()
    form = page.get_by_role("dialog", name="Mark as Complete")
    form.get_by_role("button", name="Preview").click()

    expect(form).to_have_attribute("aria-busy", "true")
    expect(form.get_by_role("progressbar")).to_be_visible()
    expect(form.get_by_role("status")).to_have_text(
        f"Preparing the preview for {len(not_completed)} learners…"
    )
    expect(form.get_by_role("button", name="Preview")).to_be_disabled()
    expect(form.get_by_role("button", name="Cancel")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(form).to_be_visible()
    waiting["dry"] = False
    _wait_for(held, page).continue_()

    preview = page.get_by_role("dialog", name="Preview: Mark as Complete")
    run = preview.get_by_role("button", name=re.compile(r"^Mark as Complete: run for \d+"))
    run.click()
    expect(preview).to_have_attribute("aria-busy", "true")
    expect(preview.get_by_role("progressbar")).to_be_visible()
    expect(preview.get_by_role("status")).to_contain_text("Mark as Complete: running for")
    expect(run).to_be_disabled()
    expect(preview.get_by_role("button", name="Cancel")).to_be_disabled()
    expect(page.locator(".course-view")).to_have_attribute("aria-busy", "true")
    for button in bar.get_by_role("button").all():
        expect(button).to_be_disabled()
    expect(page.get_by_role("button", name="Assign Course")).to_be_disabled()
    expect(page.get_by_role("button", name=re.compile("^Actions for ")).first).to_be_disabled()
    page.keyboard.press("Escape")
    expect(preview).to_be_visible()
    _wait_for(held, page).continue_()

    done = page.get_by_role("dialog", name="Done: Mark as Complete")
    expect(done.locator("#run-summary")).to_have_text(f"{len(not_completed)} done")
    expect(page.locator("#status")).to_have_text(f"Mark as Complete: {len(not_completed)} done.")
    expect(page.locator(".course-view")).not_to_have_attribute("aria-busy", "true")
    done.get_by_role("button", name="OK").click()
    expect(page.get_by_role("region", name=f"Learners of {MAIN_COURSE}")).to_be_focused()
    expect(page.get_by_role("button", name="Assign Course")).to_be_enabled()
    page.unroute("**/graphql")
