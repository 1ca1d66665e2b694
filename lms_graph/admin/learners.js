// The learners table of one course: state chips with counts, search and filters,
// keyset pages, each row's menu, selection and the mass-action bar with its preview.

import { gql } from "./api.js";
import { h, clear, download, formatDate, newKey, plural, stateChip, stateLabel, STATES, today } from "./dom.js";
import { actionForm, inform, openDialog, outcomesTable, showError } from "./dialogs.js";
import { actionMenu } from "./menu.js";
import { openView } from "./views.js";

const PAGE_SIZES = [10, 25, 50, 100];
const ACTION = "key label description kind destructive confirm params { name type required label choices }";
const OUTCOMES = "action dryRun succeeded skipped failed outcomes { enrollmentId status code message enrollment { id user { name } } }";
/** How a preview names what happens to the OK learners, for the core's actions. */
const WILL_BE = {
  reset_progress: "will be reset",
  mark_complete: "will be marked as complete",
  mark_incomplete: "will be marked as incomplete",
  remove: "will be removed",
  unassign: "will be unassigned",
  update_due_date: "will get the new due date",
  change_session: "will be moved to the session",
  mark_no_show: "will be marked as no-show",
  make_instructor: "will be made instructors",
  remove_instructor: "will lose their instructor rights",
  generate_certificate: "will get a certificate",
  remove_certificate: "will lose their certificate",
};

export function runAction(input) {
  return gql(`mutation Run($input: RunActionInput!) { runAction(input: $input) { ${OUTCOMES} } }`, { input }).then((d) => d.runAction);
}

function learnersQuery(course) {
  const ilt = course.courseType === "ilt";
  return `query Learners($id: ID!, $first: Int, $after: String, $filter: LearnerFilter, $orderBy: LearnerOrder) {
    course(id: $id) {
      id hasQuiz
      learnerCounts { state count }
      massActions { ${ACTION} }
      ${ilt ? "sessions { id title startsAt endsAt location capacity seatsTaken }" : ""}
      learners(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node {
          id assignment dueDate state progress assignedAt
          user { id name email employeeId }
          ${ilt ? "session { id title startsAt }" : ""}
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
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.table = h("table", { class: "learners", id: "learners" });
    this.pager = h("nav", { class: "pager", "aria-label": "Pages" });
    this.exportButton = h("button", { type: "button", id: "quiz-export", hidden: true, onclick: () => this.exportQuiz() }, "Quiz results (.xlsx)");
    clear(this.root,
      h("div", { class: "course-head" },
        h("div", {}, h("h2", { id: "course-title" }, this.course.title),
          h("p", { class: "muted" }, `${this.course.kind === "CURRICULUM" ? "Curriculum" : "Course"} · ${this.course.courseTypeLabel || this.course.courseType}`)),
        h("div", { class: "buttons" },
          this.exportButton,
          h("button", { type: "button", onclick: onImport }, "Import CSV"),
          h("button", { type: "button", class: "primary", id: "assign-course", onclick: onAssign }, "Assign Course"))),
      this.chips,
      h("div", { class: "filters" },
        h("label", { class: "field inline" }, h("span", {}, "Search"), search),
        h("label", { class: "field inline" }, h("span", {}, "Assignment"), assignment),
        h("label", { class: "check" }, overdue, " Overdue only"),
        h("label", { class: "field inline" }, h("span", {}, "Sort"), sort)),
      this.massBar, this.status,
      h("div", { class: "table-wrap" }, this.table),
      this.pager);
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
    this.table.setAttribute("aria-busy", "true");
    try {
      const data = await gql(learnersQuery(this.course), {
        id: this.course.id, first: this.pageSize, after: this.cursors[this.cursors.length - 1],
        filter: this.gqlFilter(), orderBy: this.order,
      });
      if (request !== this.requests) return;
      if (!data.course) throw new Error("This course is no longer there.");
      this.data = data.course;
      for (const { node } of data.course.learners.edges) this.names.set(node.id, node.user.name);
      this.render();
    } catch (error) {
      if (request === this.requests) this.setStatus(error.message, true);
    } finally {
      if (request === this.requests) this.table.removeAttribute("aria-busy");
    }
  }

  setStatus(text, isError = false) {
    this.status.className = isError ? "status error" : "status";
    this.status.textContent = text;
  }

  render() {
    this.renderChips();
    this.renderTable();
    this.renderPager();
    this.renderMassBar();
    this.exportButton.hidden = !this.data.hasQuiz;
  }

  renderChips() {
    const counts = new Map(this.data.learnerCounts.map((c) => [c.state, c.count]));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const chip = (label, states, count, cls) => h("button", {
      type: "button", class: `chip filter-chip ${cls}`, "aria-pressed": String(JSON.stringify(states) === JSON.stringify(this.filter.states)),
      onclick: () => this.setFilter({ states }),
    }, label, h("span", { class: "count" }, String(count)));
    const shown = STATES.filter((s) => counts.get(s) || s !== "ENROLLED_IN_SESSION" || this.course.courseType === "ilt");
    clear(this.chips, chip("All", null, total, "state-all"), shown.map((s) => chip(stateLabel(s), [s], counts.get(s) || 0, `state-${s.toLowerCase()}`)));
  }

  renderTable() {
    const ilt = this.course.courseType === "ilt";
    const rows = this.data.learners.edges.map((e) => e.node);
    const pageIds = rows.map((r) => r.id);
    const allOnPage = pageIds.length > 0 && pageIds.every((id) => this.allMatching || this.selected.has(id));
    const headCheck = h("input", { type: "checkbox", "aria-label": "Select every learner on this page", checked: allOnPage, onchange: (e) => {
      this.allMatching = false;
      for (const row of rows) e.target.checked ? this.selected.set(row.id, row.user.name) : this.selected.delete(row.id);
      this.render();
    } });
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
        h("th", { scope: "col" }, "Progress"),
        h("th", { scope: "col", class: "actions" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows.length ? rows.map((row) => this.renderRow(row, ilt, sessions))
        : h("tr", {}, h("td", { colspan: ilt ? 8 : 7, class: "empty" }, "No learner matches these filters."))));
  }

  renderRow(row, ilt, sessions) {
    const overdue = row.dueDate && row.dueDate < today() && row.state !== "COMPLETED";
    const check = h("input", { type: "checkbox", "aria-label": `Select ${row.user.name}`, checked: this.allMatching || this.selected.has(row.id), onchange: (e) => {
      if (this.allMatching) {
        this.allMatching = false;
        for (const { node } of this.data.learners.edges) this.selected.set(node.id, node.user.name);
      }
      e.target.checked ? this.selected.set(row.id, row.user.name) : this.selected.delete(row.id);
      this.render();
    } });
    return h("tr", { dataset: { id: row.id }, class: overdue ? "overdue" : "" },
      h("td", { class: "select" }, check),
      h("td", {}, h("div", { class: "name" }, row.user.name),
        h("div", { class: "muted small" }, [row.user.email, row.user.employeeId].filter(Boolean).join(" · "))),
      h("td", {}, stateChip(row.state)),
      h("td", {}, h("span", { class: `tag ${row.assignment.toLowerCase()}` }, row.assignment === "REQUIRED" ? "Required" : "Optional")),
      h("td", {}, row.dueDate ? formatDate(row.dueDate) : h("span", { class: "muted" }, "—"),
        overdue ? h("span", { class: "overdue-tag" }, "Overdue") : null),
      ilt ? h("td", {}, row.session ? row.session.title : h("span", { class: "muted" }, "None")) : null,
      h("td", {}, h("div", { class: "progress" },
        h("progress", { max: 100, value: row.progress, "aria-label": `Progress of ${row.user.name}` }),
        h("span", {}, `${row.progress}%`))),
      h("td", { class: "actions" }, actionMenu(row.availableActions, row.user.name, (action) => this.rowAction(action, row, sessions))));
  }

  renderPager() {
    const { totalCount, pageInfo, edges } = this.data.learners;
    const start = (this.cursors.length - 1) * this.pageSize;
    const size = h("select", { id: "page-size", onchange: (e) => { this.pageSize = Number(e.target.value); this.reload(); } },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.pageSize }, String(n))));
    clear(this.pager,
      h("span", { id: "page-info" }, edges.length ? `${start + 1}–${start + edges.length} of ${totalCount}` : `0 of ${totalCount}`),
      h("label", { class: "field inline" }, h("span", {}, "Rows per page"), size),
      h("button", { type: "button", disabled: this.cursors.length === 1, onclick: () => { this.cursors.pop(); this.load(); } }, "Previous"),
      h("button", { type: "button", disabled: !pageInfo.hasNextPage, onclick: () => { this.cursors.push(pageInfo.endCursor); this.load(); } }, "Next"));
  }

  selectionCount() {
    return this.allMatching ? this.data.learners.totalCount : this.selected.size;
  }

  renderMassBar() {
    const count = this.selectionCount();
    const { totalCount, edges } = this.data.learners;
    this.massBar.hidden = count === 0;
    if (!count) return;
    const pageSelected = edges.length > 0 && edges.every((e) => this.selected.has(e.node.id));
    clear(this.massBar,
      h("strong", { id: "selection-count" }, this.allMatching ? `All ${plural(count, "learner")} matching the filter selected` : `${plural(count, "learner")} selected`),
      !this.allMatching && pageSelected && totalCount > count
        ? h("button", { type: "button", class: "link", onclick: () => { this.allMatching = true; this.selected.clear(); this.render(); } }, `Select all ${totalCount} matching the filter`)
        : null,
      h("span", { class: "mass-actions" }, this.data.massActions.map((action) => h("button", {
        type: "button", class: action.destructive ? "danger" : "", dataset: { key: action.key },
        onclick: () => this.massAction(action),
      }, action.label))),
      h("button", { type: "button", class: "link", onclick: () => this.clearSelection() }, "Clear selection"));
  }

  clearSelection() {
    this.selected.clear();
    this.allMatching = false;
    this.render();
  }

  async rowAction(action, row, sessions) {
    if (action.kind === "VIEW") return openView(action, row);
    const form = await actionForm(action, `Learner: ${row.user.name}`, { sessions });
    if (!form) return;
    try {
      const run = await runAction({
        action: action.key, enrollmentIds: [row.id], params: action.params.length ? form.params : null,
        note: form.note, idempotencyKey: newKey(),
      });
      const outcome = run.outcomes[0];
      this.setStatus(outcome.status === "OK" ? `${action.label}: done for ${row.user.name}.` : `${action.label} was not done for ${row.user.name}: ${outcome.message}`, outcome.status === "FAILED");
      await this.load();
    } catch (error) {
      showError(error);
    }
  }

  async massAction(action) {
    const count = this.selectionCount();
    const target = this.allMatching
      ? { courseId: this.course.id, filter: this.gqlFilter() }
      : { enrollmentIds: [...this.selected.keys()] };
    const form = await actionForm(action, `${plural(count, "learner")} selected`, { sessions: this.data.sessions || [], submitLabel: "Preview" });
    if (!form) return;
    const input = { action: action.key, ...target, params: action.params.length ? form.params : null, note: form.note };
    let preview;
    try {
      preview = await runAction({ ...input, dryRun: true });
    } catch (error) {
      return showError(error);
    }
    const run = h("button", { type: "submit", class: action.destructive ? "danger" : "primary", disabled: preview.succeeded === 0 },
      `${action.label}: run for ${plural(preview.succeeded, "learner")}`);
    const cancel = h("button", { type: "button" }, "Cancel");
    const dialog = openDialog(`Preview: ${action.label}`, [
      h("p", { class: "preview-text", id: "preview-text" }, summary(action, preview, true)),
      h("p", { class: "muted" }, "Nothing has changed yet."),
      preview.skipped + preview.failed ? h("details", {}, h("summary", {}, "Every learner"), outcomesTable(preview.outcomes, this.names)) : null,
    ], { footer: [cancel, run] });
    cancel.addEventListener("click", () => dialog.close(false));
    run.addEventListener("click", () => dialog.close(true));
    (preview.succeeded ? run : cancel).focus();
    if (!(await dialog.done)) return;
    let result;
    try {
      result = await runAction({ ...input, idempotencyKey: newKey() });
    } catch (error) {
      return showError(error);
    }
    this.selected.clear();
    this.allMatching = false;
    await this.load();
    inform(`Done: ${action.label}`, h("p", { id: "run-summary" }, summary(action, result, false)), outcomesTable(result.outcomes, this.names));
  }

  async exportQuiz() {
    try {
      const data = await gql(`query Export($id: ID!) { course(id: $id) { quizExportUrl } }`, { id: this.course.id });
      if (data.course.quizExportUrl) download(data.course.quizExportUrl);
    } catch (error) {
      showError(error);
    }
  }
}

/** "37 will be reset, 3 skipped: <reason>" (a preview) or "37 done, 3 skipped: <reason>". */
export function summary(action, run, future) {
  const parts = [future ? `${run.succeeded} ${WILL_BE[action.key] || `will get ${action.label}`}` : `${run.succeeded} done`];
  for (const status of ["SKIPPED", "FAILED"]) {
    const reasons = new Map();
    for (const o of run.outcomes.filter((x) => x.status === status)) reasons.set(o.message || o.code, (reasons.get(o.message || o.code) || 0) + 1);
    for (const [reason, n] of reasons) parts.push(`${n} ${status === "SKIPPED" ? "skipped" : "failed"}: ${reason}`);
  }
  return parts.join(", ");
}
