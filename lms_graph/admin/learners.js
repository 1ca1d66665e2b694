// The learners table of one course: state chips with counts, search and filters,
// keyset pages, each row's menu, selection and the mass-action bar with its preview.
// Every redraw keeps the keyboard focus on the control that had it (or its nearest
// stand-in); every request that may take a while shows it, and every result is
// announced in the status line.

import { gql } from "./api.js";
import {
  h, clear, count, download, focusByKey, formatDate, newKey, ordinal, plural, stateChip, stateLabel, STATES, today,
} from "./dom.js";
import { actionForm, inform, openDialog, outcomesTable, showError, whileBusy } from "./dialogs.js";
import { actionMenu } from "./menu.js";
import { openView } from "./views.js";
import { doneText, errorText, outcomeText, summary } from "./wording.js";

const PAGE_SIZES = [10, 25, 50, 100];
const ACTION = "key label description kind destructive confirm params { name type required label choices }";
const OUTCOMES = "action dryRun succeeded skipped failed outcomes { enrollmentId status code message enrollment { id user { name } } }";
/** Where focus goes when the control that had it is gone or disabled after a redraw. */
const STAND_INS = { "pager:next": ["pager:prev"], "pager:prev": ["pager:next"] };

export function runAction(input) {
  return gql(`mutation Run($input: RunActionInput!) { runAction(input: $input) { ${OUTCOMES} } }`, { input }).then((d) => d.runAction);
}

function learnersQuery(course) {
  const ilt = course.courseType === "ilt";
  return `query Learners($id: ID!, $first: Int, $after: String, $filter: LearnerFilter, $orderBy: LearnerOrder) {
    course(id: $id) {
      id hasQuiz
      instructors { id }
      learnerCounts { state count }
      massActions { ${ACTION} }
      ${ilt ? "sessions { id title startsAt endsAt location capacity seatsTaken }" : ""}
      learners(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node {
          id assignment dueDate state progress assignedAt
          user { id name email employeeId }
          ${ilt ? "session { id title startsAt } waitlistedSession { id title } waitlistPosition" : ""}
          availableActions { ${ACTION} }
        } }
      }
    }
  }`;
}

/** The course screen below the header; `course` is {id title courseType kind}. */
export class LearnersView {
  constructor(root, course, { onAssign, onImport }) {
    this.root = root;
    this.course = course;
    this.filter = { states: null, search: "", assignment: null, overdue: false };
    this.order = { field: "NAME", direction: "ASC" };
    this.cursors = [null];
    this.pageSize = 25;
    this.selected = new Map(); // enrollment ID -> learner name
    this.allMatching = false;
    this.names = new Map();
    this.data = null;
    this.requests = 0;
    this.working = false;
    this.lastFocus = null;
    this.build(onAssign, onImport);
    this.load();
  }

  build(onAssign, onImport) {
    const search = h("input", { type: "search", id: "learner-search", placeholder: "Name, email or employee ID" });
    let timer;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.setFilter({ search: search.value.trim() }), 250);
    });
    const assignment = h("select", { id: "assignment-filter", onchange: (e) => this.setFilter({ assignment: e.target.value || null }) },
      h("option", { value: "" }, "Required and optional"), h("option", { value: "REQUIRED" }, "Required"), h("option", { value: "OPTIONAL" }, "Optional"));
    const overdue = h("input", { type: "checkbox", id: "overdue-filter", onchange: (e) => this.setFilter({ overdue: e.target.checked }) });
    const sort = h("select", { id: "sort", onchange: (e) => {
      const [field, direction] = e.target.value.split(" ");
      this.order = { field, direction };
      this.reload();
    } },
    h("option", { value: "NAME ASC" }, "Name (A–Z)"), h("option", { value: "NAME DESC" }, "Name (Z–A)"),
    h("option", { value: "DUE_DATE ASC" }, "Due date (soonest)"), h("option", { value: "PROGRESS DESC" }, "Progress (most)"),
    h("option", { value: "PROGRESS ASC" }, "Progress (least)"), h("option", { value: "ASSIGNED_AT DESC" }, "Assigned (newest)"));

    this.chips = h("div", { class: "chips", role: "group", "aria-label": "Filter by state" });
    this.massBar = h("div", { class: "mass-bar", role: "region", "aria-label": "Selected learners", hidden: true });
    this.status = h("p", { class: "status", id: "status", role: "status", "aria-live": "polite" });
    this.table = h("table", { class: "learners", id: "learners" });
    this.tableWrap = h("div", {
      class: "table-wrap", role: "region", tabindex: "0", "aria-label": `Learners of ${this.course.title}`, dataset: { focus: "table" },
    }, this.table);
    this.pager = h("nav", { class: "pager", "aria-label": "Pages" });
    this.exportButton = h("button", { type: "button", id: "quiz-export", hidden: true, onclick: () => this.exportQuiz() }, "Quiz results (.xlsx)");
    this.headButtons = [
      this.exportButton,
      h("button", { type: "button", id: "import-csv", onclick: onImport }, "Import CSV"),
      h("button", { type: "button", class: "primary", id: "assign-course", onclick: onAssign }, "Assign Course"),
    ];
    this.view = h("div", { class: "course-view" },
      h("div", { class: "course-head" },
        h("div", {}, h("h2", { id: "course-title" }, this.course.title),
          h("p", { class: "muted" }, `${this.course.kind === "CURRICULUM" ? "Curriculum" : "Course"} · ${this.course.courseTypeLabel || this.course.courseType}`)),
        h("div", { class: "buttons" }, this.headButtons)),
      this.chips,
      h("div", { class: "filters" },
        h("label", { class: "field inline search" }, h("span", {}, "Search"), search),
        h("label", { class: "field inline" }, h("span", {}, "Assignment"), assignment),
        h("label", { class: "check" }, overdue, " Overdue only"),
        h("label", { class: "field inline" }, h("span", {}, "Sort"), sort)),
      this.massBar, this.status,
      this.tableWrap,
      this.pager);
    clear(this.root, this.view);
    // The last control of the view that had focus: what a redraw gives focus back to.
    this.view.addEventListener("focusin", (event) => {
      if (event.target.dataset && event.target.dataset.focus) this.lastFocus = event.target.dataset.focus;
    });
  }

  setFilter(changes) {
    Object.assign(this.filter, changes);
    this.allMatching = false;
    this.reload();
  }

  reload() {
    this.cursors = [null];
    return this.load();
  }

  gqlFilter() {
    const f = this.filter;
    const filter = {};
    if (f.states) filter.states = f.states;
    if (f.search) filter.search = f.search;
    if (f.assignment) filter.assignment = f.assignment;
    if (f.overdue) filter.overdue = true;
    return Object.keys(filter).length ? filter : null;
  }

  async load() {
    const request = ++this.requests;
    this.tableWrap.setAttribute("aria-busy", "true");
    try {
      const data = await gql(learnersQuery(this.course), {
        id: this.course.id, first: this.pageSize, after: this.cursors[this.cursors.length - 1],
        filter: this.gqlFilter(), orderBy: this.order,
      });
      if (request !== this.requests) return;
      if (!data.course) throw new Error("This course is no longer there.");
      this.data = data.course;
      this.instructors = new Set(data.course.instructors.map((user) => user.id));
      for (const { node } of data.course.learners.edges) this.names.set(node.id, node.user.name);
      this.render();
    } catch (error) {
      if (request === this.requests) this.setStatus(errorText(error), true);
    } finally {
      if (request === this.requests) this.tableWrap.removeAttribute("aria-busy");
    }
  }

  /** Announce a result (role="status", polite). */
  setStatus(text, isError = false) {
    this.status.className = isError ? "status error" : "status";
    this.status.textContent = text;
  }

  announce(text) {
    this.setStatus(text);
  }

  /** While a long request runs: the view is aria-busy and its actions are disabled. */
  setWorking(on) {
    this.working = on;
    if (on) {
      this.view.setAttribute("aria-busy", "true");
      const buttons = [...this.headButtons, ...this.view.querySelectorAll(".mass-bar button, .menu-button")];
      for (const button of buttons.filter((b) => !b.disabled)) {
        button.disabled = true;
        button.dataset.working = "";
      }
    } else {
      this.view.removeAttribute("aria-busy");
      for (const button of this.view.querySelectorAll("[data-working]")) {
        button.disabled = false;
        delete button.dataset.working;
      }
    }
  }

  /** The key of the control to give focus back to after a redraw, or null to leave it be. */
  focusToKeep() {
    if (document.querySelector("dialog[open]")) return null; // the dialog has it; it gives it back on closing
    const active = document.activeElement;
    if (!active || active === document.body) return this.lastFocus;
    const redrawn = [this.chips, this.table, this.pager, this.massBar].some((part) => part.contains(active));
    return redrawn ? active.dataset.focus || this.lastFocus : null;
  }

  render(focus) {
    const key = focus || this.focusToKeep();
    this.renderChips();
    this.renderTable();
    this.renderPager();
    this.renderMassBar();
    this.exportButton.hidden = !this.data.hasQuiz;
    if (this.working) this.setWorking(true);
    if (key) [key, ...(STAND_INS[key] || []), "table"].some((k) => focusByKey(k, this.view));
  }

  renderChips() {
    const counts = new Map(this.data.learnerCounts.map((c) => [c.state, c.count]));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const chip = (label, states, n, cls) => h("button", {
      type: "button", class: `chip filter-chip ${cls}`, "aria-pressed": String(JSON.stringify(states) === JSON.stringify(this.filter.states)),
      dataset: { focus: `chip:${states ? states.join(",") : "all"}` },
      onclick: () => this.setFilter({ states }),
    }, label, h("span", { class: "count" }, count(n)));
    const shown = STATES.filter((s) => counts.get(s) || s !== "ENROLLED_IN_SESSION" || this.course.courseType === "ilt");
    clear(this.chips, chip("All", null, total, "state-all"), shown.map((s) => chip(stateLabel(s), [s], counts.get(s) || 0, `state-${s.toLowerCase()}`)));
  }

  renderTable() {
    const ilt = this.course.courseType === "ilt";
    const rows = this.data.learners.edges.map((e) => e.node);
    const pageIds = rows.map((r) => r.id);
    const allOnPage = pageIds.length > 0 && pageIds.every((id) => this.allMatching || this.selected.has(id));
    const headCheck = h("input", {
      type: "checkbox", "aria-label": "Select every learner on this page", checked: allOnPage, dataset: { focus: "select:page" },
      onchange: (e) => {
        this.allMatching = false;
        for (const row of rows) e.target.checked ? this.selected.set(row.id, row.user.name) : this.selected.delete(row.id);
        this.render();
      },
    });
    const sessions = this.data.sessions || [];
    clear(this.table,
      h("caption", { class: "visually-hidden" }, `Learners of ${this.course.title}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", class: "select" }, headCheck),
        h("th", { scope: "col" }, "Learner"),
        h("th", { scope: "col" }, "State"),
        h("th", { scope: "col" }, "Assignment"),
        h("th", { scope: "col" }, "Due date"),
        ilt ? h("th", { scope: "col" }, "Session") : null,
        h("th", { scope: "col", title: "The mean of the chapters' progress: answered questions count toward their quiz" }, "Progress"),
        h("th", { scope: "col", class: "actions" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows.length ? rows.map((row) => this.renderRow(row, ilt, sessions))
        : h("tr", {}, h("td", { colspan: ilt ? 8 : 7, class: "empty" }, "No learner matches these filters."))));
  }

  renderRow(row, ilt, sessions) {
    const overdue = row.dueDate && row.dueDate < today() && row.state !== "COMPLETED";
    const check = h("input", {
      type: "checkbox", "aria-label": `Select ${row.user.name}`, checked: this.allMatching || this.selected.has(row.id),
      dataset: { focus: `select:${row.id}` },
      onchange: (e) => {
        if (this.allMatching) {
          this.allMatching = false;
          for (const { node } of this.data.learners.edges) this.selected.set(node.id, node.user.name);
        }
        e.target.checked ? this.selected.set(row.id, row.user.name) : this.selected.delete(row.id);
        this.render();
      },
    });
    const teaches = this.instructors.has(row.user.id);
    return h("tr", { dataset: { id: row.id }, class: overdue ? "overdue" : "" },
      h("td", { class: "select" }, check),
      h("td", {}, h("div", { class: "who" }, h("span", { class: "name" }, row.user.name), teaches ? h("span", { class: "tag instructor" }, "Instructor") : null),
        h("div", { class: "muted small" }, [row.user.email, row.user.employeeId].filter(Boolean).join(" · "))),
      h("td", {}, stateChip(row.state)),
      h("td", {}, h("span", { class: `tag ${row.assignment.toLowerCase()}` }, row.assignment === "REQUIRED" ? "Required" : "Optional")),
      h("td", { class: "due" }, row.dueDate ? formatDate(row.dueDate) : h("span", { class: "muted" }, "—"),
        overdue ? h("span", { class: "overdue-tag" }, "Overdue") : null),
      ilt ? h("td", { class: "session" }, sessionCell(row)) : null,
      h("td", {}, h("div", { class: "progress" },
        h("progress", { max: 100, value: row.progress, "aria-label": `Progress of ${row.user.name}` }),
        h("span", {}, `${row.progress}%`))),
      h("td", { class: "actions" }, actionMenu(row.availableActions, row.user.name, (action) => this.rowAction(action, row, sessions),
        { focusKey: `menu:${row.id}` })));
  }

  renderPager() {
    const { totalCount, pageInfo, edges } = this.data.learners;
    const start = (this.cursors.length - 1) * this.pageSize;
    const size = h("select", { id: "page-size", dataset: { focus: "pager:size" }, onchange: (e) => { this.pageSize = Number(e.target.value); this.reload(); } },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.pageSize }, String(n))));
    clear(this.pager,
      h("span", { id: "page-info" }, edges.length ? `${count(start + 1)}–${count(start + edges.length)} of ${count(totalCount)}` : `0 of ${count(totalCount)}`),
      h("label", { class: "field inline" }, h("span", {}, "Rows per page"), size),
      h("button", { type: "button", disabled: this.cursors.length === 1, dataset: { focus: "pager:prev" }, onclick: () => { this.cursors.pop(); this.load(); } }, "Previous"),
      h("button", { type: "button", disabled: !pageInfo.hasNextPage, dataset: { focus: "pager:next" }, onclick: () => { this.cursors.push(pageInfo.endCursor); this.load(); } }, "Next"));
  }

  selectionCount() {
    return this.allMatching ? this.data.learners.totalCount : this.selected.size;
  }

  renderMassBar() {
    const n = this.selectionCount();
    const { totalCount, edges } = this.data.learners;
    this.massBar.hidden = n === 0;
    if (!n) return clear(this.massBar);
    const pageSelected = edges.length > 0 && edges.every((e) => this.selected.has(e.node.id));
    clear(this.massBar,
      h("strong", { id: "selection-count", tabindex: "-1", dataset: { focus: "selection" } },
        this.allMatching ? `All ${plural(n, "learner")} matching the filter selected` : `${plural(n, "learner")} selected`),
      !this.allMatching && pageSelected && totalCount > n
        ? h("button", { type: "button", class: "link", dataset: { focus: "mass:all" }, onclick: () => {
          this.allMatching = true;
          this.selected.clear();
          this.render("selection");
        } }, `Select all ${count(totalCount)} matching the filter`)
        : null,
      h("span", { class: "mass-actions" }, this.data.massActions.map((action) => h("button", {
        type: "button", class: action.destructive ? "danger" : "", dataset: { key: action.key, focus: `mass:${action.key}` },
        onclick: () => this.massAction(action),
      }, action.label))),
      h("button", { type: "button", class: "link", dataset: { focus: "mass:clear" }, onclick: () => this.clearSelection() }, "Clear selection"));
  }

  clearSelection() {
    this.selected.clear();
    this.allMatching = false;
    this.render("select:page");
  }

  async rowAction(action, row, sessions) {
    if (action.kind === "VIEW") return openView(action, row);
    const subject = { name: row.user.name, count: 1, courseType: this.course.courseType, text: `Learner: ${row.user.name}` };
    const keys = new Map(); // the same request sent again (after an error) replays, never runs twice
    const keyFor = (input) => {
      const text = JSON.stringify(input);
      if (!keys.has(text)) keys.set(text, newKey());
      return keys.get(text);
    };
    let sent = null;
    const run = await actionForm(action, subject, {
      sessions,
      current: { dueDate: row.dueDate, sessionId: row.session ? row.session.id : null },
      busyLabel: `${action.label}: working for ${row.user.name}…`,
      onSubmit: async (form) => {
        const input = { action: action.key, enrollmentIds: [row.id], params: action.params.length ? form.params : null, note: form.note };
        sent = input.params;
        const result = await runAction({ ...input, idempotencyKey: keyFor(input) });
        await this.load(); // the row and its menu as they are now, before the form closes
        return result;
      },
    });
    if (!run) return;
    const outcome = run.outcomes[0];
    const said = outcome.message ? ` ${outcomeText(outcome)}` : doneText(action, sent) ? ` ${doneText(action, sent)}` : "";
    this.setStatus(outcome.status === "OK" ? `${action.label}: done for ${row.user.name}.${said}`
      : `${action.label} was not done for ${row.user.name}: ${outcomeText(outcome)}`, outcome.status === "FAILED");
  }

  async massAction(action) {
    const n = this.selectionCount();
    const target = this.allMatching
      ? { courseId: this.course.id, filter: this.gqlFilter() }
      : { enrollmentIds: [...this.selected.keys()] };
    const subject = { count: n, courseType: this.course.courseType, text: `${plural(n, "learner")} selected` };
    let input;
    const preview = await actionForm(action, subject, {
      sessions: this.data.sessions || [],
      submitLabel: "Preview",
      busyLabel: `Preparing the preview for ${plural(n, "learner")}…`,
      onSubmit: (form) => {
        input = { action: action.key, ...target, params: action.params.length ? form.params : null, note: form.note };
        return runAction({ ...input, dryRun: true });
      },
    });
    if (!preview) return;
    const session = (this.data.sessions || []).find((s) => input.params && s.id === input.params.sessionId);
    const context = { sessionTitle: session && session.title };
    const run = h("button", { type: "button", class: action.destructive ? "danger" : "primary", disabled: preview.succeeded === 0 },
      `${action.label}: run for ${plural(preview.succeeded, "learner")}`);
    const cancel = h("button", { type: "button" }, "Cancel");
    const dialog = openDialog(`Preview: ${action.label}`, [
      h("p", { class: "preview-text", id: "preview-text" }, summary(action, preview, true, input.params, context)),
      h("p", { class: "muted" }, "Nothing has changed yet."),
      preview.skipped + preview.failed ? h("details", {}, h("summary", {}, "Every learner"), outcomesTable(preview.outcomes, this.names)) : null,
    ], { footer: [cancel, run] });
    cancel.addEventListener("click", () => dialog.close());
    const key = newKey(); // a retry after an error replays the run instead of running it twice
    run.addEventListener("click", async () => {
      this.setWorking(true);
      this.setStatus(`${action.label}: running for ${plural(preview.succeeded, "learner")}…`);
      const done = await whileBusy(dialog, `${action.label}: running for ${plural(preview.succeeded, "learner")}… This may take a few seconds.`, async () => {
        const result = await runAction({ ...input, idempotencyKey: key });
        this.selected.clear();
        this.allMatching = false;
        await this.load();
        return result;
      });
      this.setWorking(false);
      if (!done.ok) return this.setStatus(`${action.label} was not run.`, true);
      const said = summary(action, done.result, false, input.params, context);
      this.setStatus(`${action.label}: ${said}.`);
      dialog.close();
      await inform(`Done: ${action.label}`, h("p", { id: "run-summary" }, said), outcomesTable(done.result.outcomes, this.names));
    });
    (preview.succeeded ? run : cancel).focus();
    await dialog.done;
  }

  async exportQuiz() {
    const button = this.exportButton;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const data = await gql(`query Export($id: ID!) { course(id: $id) { quizExportUrl } }`, { id: this.course.id });
      if (data.course.quizExportUrl) download(data.course.quizExportUrl);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = this.working;
      button.removeAttribute("aria-busy");
    }
  }
}

/** An ILT learner's session: the seat held, the waitlist place, or none. */
function sessionCell(row) {
  if (row.session) return row.session.title;
  if (row.waitlistedSession) {
    return h("span", { class: "waitlisted" }, h("span", { class: "tag waitlist" }, "Waitlisted"),
      ` ${row.waitlistedSession.title}`, row.waitlistPosition ? ` (${ordinal(row.waitlistPosition)} in line)` : "");
  }
  return h("span", { class: "muted" }, "No session");
}
