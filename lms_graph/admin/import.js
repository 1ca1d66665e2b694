// Assign Course (pick users, Required/Optional, due date, message) and the CSV import
// with its Import Status pop-up (CONTRACT section 6): message, failures, Download List.

import { gql, uploadAssignments } from "./api.js";
import { h, clear, count, download, focusByKey, plural, today } from "./dom.js";
import { inform, openDialog, scrollTable, showError, whileBusy } from "./dialogs.js";
import { errorText, humanText } from "./wording.js";

function assignmentFields() {
  const type = h("select", { name: "assignment" },
    h("option", { value: "" }, "Required with a due date, else optional"),
    h("option", { value: "REQUIRED" }, "Required"), h("option", { value: "OPTIONAL" }, "Optional"));
  const due = h("input", { type: "date", name: "dueDate", min: today() });
  const message = h("textarea", { name: "message", rows: 2, placeholder: "Sent to each learner as a notification" });
  return {
    elements: [
      h("div", { class: "row" },
        h("label", { class: "field" }, h("span", {}, "Assignment"), type),
        h("label", { class: "field" }, h("span", {}, "Due date (optional)"), due)),
      h("label", { class: "field" }, h("span", {}, "Message (optional)"), message),
    ],
    read: () => ({ assignment: type.value || null, dueDate: due.value || null, message: message.value.trim() || null }),
  };
}

const USERS = `query Users($search: String, $course: ID!, $filter: LearnerFilter) {
  users(first: 20, search: $search) { edges { node { id name email employeeId active } } }
  course(id: $course) { learners(first: 100, filter: $filter) { totalCount edges { node { user { id } } } } }
}`;
/** Asked only when more than 100 learners match the search: each user's own enrollments. */
const ENROLLED = `query Enrolled($search: String) {
  users(first: 20, search: $search) { edges { node { id enrollments(first: 100) { edges { node { course { id } } } } } } }
}`;

/** Which of the users found are in the course already (shown before anyone submits). */
async function assignedAmong(course, search, data) {
  const learners = data.course ? data.course.learners : { totalCount: 0, edges: [] };
  const assigned = new Set(learners.edges.map(({ node }) => node.user.id));
  if (learners.totalCount <= learners.edges.length) return assigned;
  const more = await gql(ENROLLED, { search });
  for (const { node } of more.users.edges) {
    if (node.enrollments.edges.some((e) => e.node.course.id === course.id)) assigned.add(node.id);
  }
  return assigned;
}

/** Assign the course to users found by search; the CSV import is one link away. */
export function assignDialog(course, onDone) {
  const chosen = new Map(); // user ID -> name
  const search = h("input", { type: "search", id: "user-search", placeholder: "Name, email or employee ID", autocomplete: "off" });
  const results = h("ul", { class: "user-results", "aria-label": "Users found" });
  const picked = h("ul", { class: "picked", "aria-label": "Chosen users" });
  const pickedCount = h("p", { class: "picked-count", "aria-live": "polite" }, "Nobody chosen yet.");
  const fields = assignmentFields();
  const submit = h("button", { type: "submit", class: "primary" }, "Assign");
  const cancel = h("button", { type: "button" }, "Cancel");
  const importLink = h("button", { type: "button", class: "link", id: "open-import" }, "Import a CSV file instead");
  const form = h("form", { class: "assign-form" },
    h("p", { class: "subject" }, course.title),
    h("label", { class: "field" }, h("span", {}, "Find users"), search),
    results, pickedCount, picked, fields.elements,
    h("p", {}, importLink),
    h("div", { class: "buttons" }, cancel, submit));
  const dialog = openDialog("Assign Course", form, { wide: true });

  function choose(id, name, on) {
    on ? chosen.set(id, name) : chosen.delete(id);
    const box = results.querySelector(`input[data-user="${CSS.escape(id)}"]`);
    if (box) box.checked = on;
    showPicked();
  }
  function showPicked() {
    pickedCount.textContent = chosen.size ? `${plural(chosen.size, "user")} chosen:` : "Nobody chosen yet.";
    clear(picked, [...chosen].map(([id, name]) => h("li", { class: "chip user-chip" },
      h("span", {}, name),
      h("button", { type: "button", class: "icon", "aria-label": `Remove ${name}`, dataset: { focus: `picked:${id}` }, onclick: () => {
        const ids = [...chosen.keys()];
        const next = ids[ids.indexOf(id) + 1] || ids[ids.indexOf(id) - 1];
        choose(id, name, false);
        focusByKey(`picked:${next}`, picked) || search.focus();
      } }, "×"))));
  }
  let timer;
  let latest = 0;
  async function find() {
    const request = ++latest;
    const text = search.value.trim() || null;
    results.setAttribute("aria-busy", "true");
    try {
      const data = await gql(USERS, { search: text, course: course.id, filter: text ? { search: text } : null });
      const assigned = await assignedAmong(course, text, data);
      if (request !== latest) return; // a newer search is on its way
      const found = data.users.edges.map(({ node }) => node);
      clear(results, found.length ? found.map((node) => {
        const already = assigned.has(node.id);
        const note = already ? "already assigned" : node.active ? null : "deactivated";
        return h("li", { class: already ? "assigned" : "" }, h("label", { class: "check" },
          h("input", {
            type: "checkbox", disabled: Boolean(note), checked: !note && chosen.has(node.id), dataset: { user: node.id },
            onchange: (e) => choose(node.id, node.name, e.target.checked),
          }),
          ` ${node.name}`, h("span", { class: "muted small" }, ` ${node.email || node.employeeId || ""}`),
          note ? h("span", { class: `tag ${already ? "assigned" : "inactive"}` }, note === "deactivated" ? "Deactivated" : "Already assigned") : null));
      }) : h("li", { class: "muted" }, "No user matches this search."));
    } catch (error) {
      if (request === latest) clear(results, h("li", { class: "error" }, errorText(error)));
    } finally {
      if (request === latest) results.removeAttribute("aria-busy");
    }
  }
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
  find();
  search.focus();
  cancel.addEventListener("click", () => dialog.close());
  importLink.addEventListener("click", () => { dialog.close(); importDialog(course, onDone); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen.size) {
      pickedCount.textContent = "Choose at least one user.";
      search.focus();
      return;
    }
    const done = await whileBusy(dialog, `Assigning the course to ${plural(chosen.size, "user")}…`, () => gql(
      `mutation Assign($input: AssignCourseInput!) { assignCourse(input: $input) {
        enrollments { id } skipped { user { name } reason } } }`,
      { input: { courseId: course.id, userIds: [...chosen.keys()], ...fields.read() } }));
    if (!done.ok) return;
    dialog.close();
    const { enrollments, skipped } = done.result.assignCourse;
    const said = `${plural(enrollments.length, "user")} assigned${skipped.length ? `, ${count(skipped.length)} skipped` : ""}.`;
    onDone(`Assign Course: ${said}`);
    await inform("Assign Course",
      h("p", {}, said),
      skipped.length ? h("ul", {}, skipped.map((s) => h("li", {}, `${s.user.name}: ${humanText(s.reason)}`))) : null);
  });
}

/** Upload a CSV (Email ID, Employee ID) and show the Import Status pop-up. */
export function importDialog(course, onDone) {
  const file = h("input", { type: "file", name: "file", id: "import-file", accept: ".csv,text/csv", required: true });
  const fields = assignmentFields();
  const sample = h("button", { type: "button", class: "link", onclick: async () => {
    try { download((await gql("{ importSampleUrl }")).importSampleUrl); } catch (error) { showError(error); }
  } }, "Download the sample file");
  const submit = h("button", { type: "submit", class: "primary" }, "Import");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "import-form" },
    h("p", { class: "subject" }, course.title),
    h("p", {}, "A CSV file with the headings ", h("code", {}, "Email ID,Employee ID"), ", one user a row. ", sample),
    h("label", { class: "field" }, h("span", {}, "CSV file"), file),
    fields.elements,
    h("div", { class: "buttons" }, cancel, submit));
  const dialog = openDialog("Import CSV", form);
  file.focus();
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    const done = await whileBusy(dialog, `Importing ${chosen.name}…`, () => uploadAssignments(course.id, chosen, fields.read()));
    if (!done.ok) return;
    dialog.close();
    onDone(`Import CSV: ${humanText(done.result.message)}`);
    await importStatus(done.result);
  });
}

/** The Import Status pop-up: the report's message, the failures (under 50), Download List. */
export function importStatus(report) {
  const listed = report.failures && report.failures.length;
  const content = [
    h("p", { id: "import-message", class: report.failedCount ? "notice" : "success" }, report.message),
    listed ? scrollTable(h("table", { class: "failures", id: "import-failures" },
      h("thead", {}, h("tr", {}, ["Row", "Email ID", "Employee ID", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, report.failures.map((f) => h("tr", {},
        h("td", {}, String(f.row)), h("td", {}, f.email || ""), h("td", {}, f.employeeId || ""), h("td", {}, f.reason)))))) : null,
    report.failedCount && !listed ? h("p", {}, `${plural(report.failedCount, "row")} failed: download the list to see each one.`) : null,
  ];
  const footer = [];
  if (report.downloadUrl) {
    // The link in the report lives five minutes: ask for a fresh one on each click.
    footer.push(h("button", { type: "button", id: "download-list", onclick: async () => {
      try {
        const data = await gql("query Report($id: ID!) { importReport(id: $id) { downloadUrl } }", { id: report.id });
        download((data.importReport && data.importReport.downloadUrl) || report.downloadUrl);
      } catch (error) { showError(error); }
    } }, "Download List"));
  }
  const ok = h("button", { type: "button", class: "primary" }, "OK");
  footer.push(ok);
  const dialog = openDialog("Import Status", content, { wide: Boolean(listed), footer });
  ok.addEventListener("click", () => dialog.close());
  ok.focus();
  return dialog.done;
}
