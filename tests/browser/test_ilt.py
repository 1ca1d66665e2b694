"""An instructor-led course in the dashboard: waitlisted learners shown as such, seat
changes that name everyone they moved (the waitlist's promotions too), Remove User per
scope in words, and Change/Add to Session's refusals without API words."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.browser.seed import ILT_COURSE
from tests.browser.server import PLUGINS
from tests.browser.test_dashboard import course, row

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.server import Server

pytestmark = pytest.mark.skipif("ilt" not in PLUGINS, reason="the ILT plugin is not installed")

expect.set_options(timeout=10_000)

START = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
WENT_TO = "The seat went to {}, next on the waitlist."
CREATE = "mutation S($input: CreateSessionInput!) { createSession(input: $input) { id } }"
LEARNER = """query L($id: ID!) { enrollment(id: $id) {
  state user { id } session { title } waitlistedSession { title } waitlistPosition } }"""


def session(
    server: Server, course_id: str, title: str, days: int, capacity: int, waitlist: bool = False
) -> str:
    begin = START + dt.timedelta(days=days)
    data = server.graphql(
        CREATE,
        {
            "input": {
                "courseId": course_id,
                "title": title,
                "startsAt": begin.isoformat(),
                "endsAt": (begin + dt.timedelta(hours=3)).isoformat(),
                "location": "Room 4",
                "capacity": capacity,
                "waitlist": waitlist,
            }
        },
    )
    session_id: str = data["createSession"]["id"]
    return session_id


def learners(server: Server) -> dict[str, str]:
    """The ILT course's learners: name -> enrollment ID."""
    found = course(server, ILT_COURSE)
    return {e["node"]["user"]["name"]: e["node"]["id"] for e in found["learners"]["edges"]}


def seen(server: Server, enrollment_id: str) -> dict[str, Any]:
    data: dict[str, Any] = server.graphql(LEARNER, {"id": enrollment_id})["enrollment"]
    return data


def open_action(page: Page, name: str, label: str) -> Locator:
    row(page, name).get_by_role("button", name=f"Actions for {name}").click()
    page.get_by_role("menuitem", name=label).click()
    return page.get_by_role("dialog", name=label)


def session_cell(page: Page, name: str) -> Locator:
    return row(page, name).locator("td.session")


def test_waitlist_seats_and_scopes(page: Page, server: Server) -> None:
    ilt = course(server, ILT_COURSE)
    small = session(server, ilt["id"], "Small class", 10, capacity=1, waitlist=True)
    session(server, ilt["id"], "Big class", 12, capacity=2)
    ids = learners(server)
    alice, bruno, chloe = "Alice Anderson", "Bruno Baptiste", "Chloe Costa"
    server.graphql(
        "mutation R($input: RunActionInput!) { runAction(input: $input) { succeeded } }",
        {
            "input": {
                "action": "change_session",
                "enrollmentIds": [ids[alice]],
                "params": {"sessionId": small},
            }
        },
    )
    for name in (bruno, chloe):  # the class is full: they join its waitlist themselves
        token = server.token_for(seen(server, ids[name])["user"]["id"])
        server.graphql(
            "mutation E($id: ID!) { enrollInSession(sessionId: $id) { id } }",
            {"id": small},
            token=token,
        )

    page.get_by_label("Course").select_option(label=ILT_COURSE)
    expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
    expect(session_cell(page, alice)).to_have_text("Small class")
    expect(session_cell(page, bruno)).to_have_text("Waitlisted Small class (1st in line)")
    expect(session_cell(page, chloe)).to_have_text("Waitlisted Small class (2nd in line)")

    # A no-show frees Alice's seat: the status names Bruno, who got it, and his row shows it.
    dialog = open_action(page, alice, "Mark as No Show")
    dialog.get_by_role("button", name="Mark as No Show").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(
            rf"^Mark as No Show: done for {alice}\. No-show in Small class \(.*\); "
            rf"seat freed\. {re.escape(WENT_TO.format(bruno))}$"
        )
    )
    expect(session_cell(page, bruno)).to_have_text("Small class")
    expect(session_cell(page, chloe)).to_have_text("Waitlisted Small class (1st in line)")
    expect(session_cell(page, alice)).to_have_text("No session")
    assert seen(server, ids[bruno])["session"] == {"title": "Small class"}

    # Moving Bruno on gives his seat to Chloe: named too.
    dialog = open_action(page, bruno, "Change/Add to Session")
    picker = dialog.get_by_label("Session", exact=True)
    picker.select_option(label=picker.locator("option", has_text="Big class").inner_text())
    dialog.get_by_role("button", name="Change/Add to Session").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(
            rf"^Change/Add to Session: done for {bruno}\. Moved to Big class \(.*\)\. "
            rf"{re.escape(WENT_TO.format(chloe))}$"
        )
    )
    expect(session_cell(page, chloe)).to_have_text("Small class")
    expect(session_cell(page, bruno)).to_have_text("Big class")

    # Remove User in an ILT course: its scopes in words; the warning follows the choice.
    dialog = open_action(page, chloe, "Remove User")
    scopes = dialog.get_by_role("radio")
    expect(scopes).to_have_count(3)
    expect(dialog.locator("fieldset label")).to_have_text(
        [
            "From the course: the learner and everything they did in it",
            "From their session only: they stay in the course, Not started, without a session",
            "From the course and their session",
        ]
    )
    note = dialog.get_by_role("note")
    expect(note).to_contain_text(f"Remove {chloe} from this course for good?")
    expect(note).to_contain_text("Their session seat goes to the next learner on the waitlist.")
    dialog.get_by_role("radio", name=re.compile("^From their session only")).check()
    expect(note).to_have_text(
        f"{chloe} will leave their session (or waitlist) and stay in this course, Not started, "
        "without a session. Their progress and history are kept; the seat goes to the next "
        "learner on the waitlist."
    )
    expect(note).not_to_contain_text("deleted")
    expect(dialog.get_by_role("button", name="Remove from Session")).to_have_class("primary")
    dialog.get_by_role("button", name="Remove from Session").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(rf"^Remove User: done for {chloe}\. Removed from Small class \(")
    )
    expect(row(page, chloe).locator(".chip")).to_have_text("Not started")
    expect(session_cell(page, chloe)).to_have_text("No session")
    left = seen(server, ids[chloe])
    assert (left["state"], left["session"], left["waitlistedSession"]) == (
        "NOT_STARTED",
        None,
        None,
    )

    # A full session: the preview says so in words (one seat left in Big class, two asked).
    for name in (alice, chloe):
        page.get_by_role("checkbox", name=f"Select {name}").check()
    page.get_by_role("region", name="Selected learners").get_by_role(
        "button", name="Change/Add to Session"
    ).click()
    form = page.get_by_role("dialog", name="Change/Add to Session")
    picker = form.get_by_label("Session", exact=True)
    picker.select_option(label=picker.locator("option", has_text="Big class").inner_text())
    form.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog", name="Preview: Change/Add to Session")
    expect(preview.locator("#preview-text")).to_have_text(
        re.compile(
            r"^1 will be moved to Big class, 1 skipped: Big class \(.*\) is full: "
            r"no seat left \(capacity 2\)\.$"
        )
    )
    preview.get_by_role("button", name="Cancel").click()


def test_an_overlapping_session_is_refused_in_words(page: Page, server: Server) -> None:
    """A seat in another course's session at the same time: the refusal says what to
    tick, not which API flag to send; ticking it places the learner."""
    other = server.graphql(
        """mutation C($input: CreateCourseInput!) { createCourse(input: $input) { id } }""",
        {"input": {"title": "Ladder safety (classroom)", "courseType": "ilt"}},
    )["createCourse"]["id"]
    ids = learners(server)
    name = "Bruno Baptiste"
    user_id = seen(server, ids[name])["user"]["id"]
    server.graphql(
        """mutation A($input: AssignCourseInput!) {
             assignCourse(input: $input) { enrollments { id } } }""",
        {"input": {"courseId": other, "userIds": [user_id]}},
    )
    elsewhere = session(server, other, "Ladder morning", 20, capacity=5)
    server.graphql(
        "mutation E($id: ID!) { enrollInSession(sessionId: $id) { id } }",
        {"id": elsewhere},
        token=server.token_for(user_id),
    )
    ilt = course(server, ILT_COURSE)
    session(server, ilt["id"], "Same morning", 20, capacity=5)

    page.get_by_label("Course").select_option(label=ILT_COURSE)
    expect(page.locator("#course-title")).to_have_text(ILT_COURSE)
    dialog = open_action(page, name, "Change/Add to Session")
    expect(dialog.locator(".muted").first).to_have_text(
        "Moves the learner to another session of this course, or adds one who has none. "
        "A full session refuses; so does one overlapping another of the learner's sessions, "
        "unless overlapping sessions are allowed."
    )
    picker = dialog.get_by_label("Session", exact=True)
    picker.select_option(label=picker.locator("option", has_text="Same morning").inner_text())
    dialog.get_by_role("button", name="Change/Add to Session").click()
    refused = (
        f"Change/Add to Session was not done for {name}: The session overlaps another session "
        "this learner has a seat in. Tick \N{LEFT DOUBLE QUOTATION MARK}Allow overlapping "
        "sessions\N{RIGHT DOUBLE QUOTATION MARK} to place them anyway."
    )
    expect(page.locator("#status")).to_have_text(refused)
    dialog = open_action(page, name, "Change/Add to Session")
    picker = dialog.get_by_label("Session", exact=True)
    picker.select_option(label=picker.locator("option", has_text="Same morning").inner_text())
    dialog.get_by_label("Allow overlapping sessions").check()
    dialog.get_by_role("button", name="Change/Add to Session").click()
    expect(page.locator("#status")).to_contain_text(f"done for {name}.")
    expect(session_cell(page, name)).to_have_text("Same morning")
