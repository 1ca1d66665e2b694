// Assign Course (pick users, Required/Optional, due date, message) and the CSV import
// with its Import Status pop-up (CONTRACT section 6): message, failures, Download List.

import { gql, uploadAssignments } from "./api.js";
import { h, clear, download, plural, today } from "./dom.js";
import { inform, openDialog, showError } from "./dialogs.js";

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

/** Assign the course to users found by search; the CSV import is one link away. */
export function assignDialog(course, onDone) {
  const chosen = new Map(); // user ID -> name
  const search = h("input", { type: "search", id: "user-search", placeholder: "Name, email or employee ID", autocomplete: "off" });
  const results = h("ul", { class: "user-results", "aria-label": "Users found" });
  const picked = h("p", { class: "picked", "aria-live": "polite" }, "Nobody chosen yet.");
  const fields = assignmentFields();
  const submit = h("button", { type: "submit", class: "primary" }, "Assign");
  const cancel = h("button", { type: "button" }, "Cancel");
  const importLink = h("button", { type: "button", class: "link", id: "open-import" }, "Import a CSV file instead");
  const form = h("form", { class: "assign-form" },
    h("p", { class: "subject" }, course.title),
    h("label", { class: "field" }, h("span", {}, "Find users"), search),
    results, picked, fields.elements,
    h("p", {}, importLink),
    h("div", { class: "buttons" }, cancel, submit));
  const dialog = openDialog("Assign Course", form, { wide: true });

  function showPicked() {
    picked.textContent = chosen.size ? `Chosen: ${[...chosen.values()].join(", ")}` : "Nobody chosen yet.";
  }
  let timer;
  let latest = 0;
  async function find() {
    const request = ++latest;
    try {
      const data = await gql(`query Users($search: String) { users(first: 20, search: $search) {
        edges { node { id name email employeeId active } } } }`, { search: search.value.trim() || null });
      if (request !== latest) return; // a newer search is on its way
      clear(results, data.users.edges.map(({ node }) => h("li", {}, h("label", { class: "check" },
        h("input", { type: "checkbox", disabled: !node.active, checked: chosen.has(node.id), onchange: (e) => {
          e.target.checked ? chosen.set(node.id, node.name) : chosen.delete(node.id);
          showPicked();
        } }),
        ` ${node.name}`, h("span", { class: "muted small" }, ` ${node.email || node.employeeId || ""}${node.active ? "" : " (deactivated)"}`)))));
    } catch (error) {
      clear(results, h("li", { class: "error" }, error.message));
    }
  }
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
  find();
  search.focus();
  cancel.addEventListener("click", () => dialog.close());
  importLink.addEventListener("click", () => { dialog.close(); importDialog(course, onDone); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen.size) { picked.textContent = "Choose at least one user."; return; }
    submit.disabled = true;
    try {
      const data = await gql(`mutation Assign($input: AssignCourseInput!) { assignCourse(input: $input) {
        enrollments { id } skipped { user { name } reason } } }`,
      { input: { courseId: course.id, userIds: [...chosen.keys()], ...fields.read() } });
      dialog.close();
      const { enrollments, skipped } = data.assignCourse;
      await inform("Assign Course",
        h("p", {}, `${plural(enrollments.length, "user")} assigned${skipped.length ? `, ${skipped.length} skipped` : ""}.`),
        skipped.length ? h("ul", {}, skipped.map((s) => h("li", {}, `${s.user.name}: ${s.reason}`))) : null);
      onDone();
    } catch (error) {
      submit.disabled = false;
      showError(error);
    }
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
    submit.disabled = true;
    submit.textContent = "Importing…";
    try {
      const report = await uploadAssignments(course.id, file.files[0], fields.read());
      dialog.close();
      await importStatus(report);
      onDone();
    } catch (error) {
      submit.disabled = false;
      submit.textContent = "Import";
      showError(error, "The file was not imported");
    }
  });
}

/** The Import Status pop-up: the report's message, the failures (under 50), Download List. */
export function importStatus(report) {
  const listed = report.failures && report.failures.length;
  const content = [
    h("p", { id: "import-message", class: report.failedCount ? "notice" : "success" }, report.message),
    listed ? h("table", { class: "failures", id: "import-failures" },
      h("thead", {}, h("tr", {}, ["Row", "Email ID", "Employee ID", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, report.failures.map((f) => h("tr", {},
        h("td", {}, String(f.row)), h("td", {}, f.email || ""), h("td", {}, f.employeeId || ""), h("td", {}, f.reason))))) : null,
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
