// Modal dialogs (native <dialog>: focus stays inside, Escape closes) and the forms
// built from an action's declared params, so a plugin's action needs no dashboard change.

import { h, append, formatDateTime, today } from "./dom.js";

let counter = 0;

/** Open a modal; resolves with the value given to close() (undefined when dismissed). */
export function openDialog(title, content, { wide = false, footer = [] } = {}) {
  const id = `dialog-title-${++counter}`;
  const el = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": id },
    h("header", {},
      h("h2", { id }, title),
      h("button", { type: "button", class: "icon", "aria-label": "Close", onclick: () => close() }, "×")),
    h("div", { class: "dialog-body" }, content),
    footer.length ? h("footer", {}, footer) : null);
  let resolve;
  const done = new Promise((r) => (resolve = r));
  let value;
  function close(result) {
    value = result;
    el.close();
  }
  el.addEventListener("close", () => {
    el.remove();
    resolve(value);
  });
  document.body.append(el);
  el.showModal();
  return { el, close, done };
}

/** A message with one OK button. */
export function inform(title, ...content) {
  const ok = h("button", { type: "button", class: "primary" }, "OK");
  const dialog = openDialog(title, content, { footer: [ok] });
  ok.addEventListener("click", () => dialog.close(true));
  ok.focus();
  return dialog.done;
}

function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : null);
}

/** One input per declared param: Date, String, ID (sessionId: a session picker), Boolean, Enum. */
export function paramInputs(params, { sessions = [] } = {}) {
  const inputs = params.map((param) => {
    const name = `param-${param.name}`;
    // A required Date may be empty on purpose (update_due_date: empty removes it).
    const required = param.required && param.type !== "Date";
    let input;
    if (param.choices && param.choices.length) {
      input = h("select", { name, required },
        param.required ? null : h("option", { value: "" }, "(default)"),
        param.choices.map((choice) => h("option", { value: choice }, choice)));
    } else if (param.type === "Date") {
      input = h("input", { type: "date", name, min: today() });
    } else if (param.type === "Boolean") {
      input = h("input", { type: "checkbox", name });
    } else if (param.type === "ID" && param.name === "sessionId") {
      input = h("select", { name, required },
        h("option", { value: "" }, sessions.length ? "Choose a session" : "No sessions yet"),
        sessions.map((s) => h("option", { value: s.id, disabled: s.capacity != null && s.seatsTaken >= s.capacity },
          `${s.title} — ${formatDateTime(s.startsAt)}${s.location ? `, ${s.location}` : ""}` +
          (s.capacity != null ? ` (${s.seatsTaken}/${s.capacity} seats)` : ""))));
    } else if (param.type === "String" && /message|note|reason|comment/i.test(param.name)) {
      input = h("textarea", { name, rows: 3, required });
    } else {
      input = h("input", { type: "text", name, required });
    }
    return { param, input };
  });
  return {
    elements: inputs.map(({ param, input }) => (param.type === "Boolean"
      ? h("label", { class: "check option" }, input, ` ${param.label}`)
      : field(param.label, input, param.type === "Date" && !param.required ? "Optional" : null))),
    read() {
      const values = {};
      for (const { param, input } of inputs) {
        if (param.type === "Boolean") values[param.name] = input.checked;
        else values[param.name] = input.value === "" ? null : input.value;
      }
      return values;
    },
  };
}

/**
 * The form of a mutation: its params, a note for the history, and, for a destructive
 * action, its confirmation sentence. Resolves to {params, note} or undefined (cancelled).
 */
export function actionForm(action, subject, { sessions = [], submitLabel } = {}) {
  const inputs = paramInputs(action.params, { sessions });
  const note = h("textarea", { name: "note", rows: 2 });
  const submit = h("button", { type: "submit", class: action.destructive ? "danger" : "primary" }, submitLabel || action.label);
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "action-form", method: "dialog" },
    h("p", { class: "subject" }, subject),
    action.description ? h("p", { class: "muted" }, action.description) : null,
    inputs.elements,
    field("Note for the history (optional)", note),
    action.destructive || action.confirm
      ? h("p", { class: action.destructive ? "warning" : "notice", role: "note" }, action.confirm || "This cannot be undone.")
      : null,
    h("div", { class: "buttons" }, cancel, submit));
  const dialog = openDialog(action.label, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    dialog.close({ params: inputs.read(), note: note.value.trim() || null });
  });
  (form.querySelector("input, select, textarea") || submit).focus();
  return dialog.done;
}

/** Per-learner outcomes of a run, as a table. */
export function outcomesTable(outcomes, names) {
  return h("table", { class: "outcomes" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Learner"), h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col" }, "Details"))),
    h("tbody", {}, outcomes.map((o) => h("tr", {},
      h("td", {}, (o.enrollment && o.enrollment.user.name) || names.get(o.enrollmentId) || o.enrollmentId),
      h("td", {}, h("span", { class: `chip outcome-${o.status.toLowerCase()}` }, o.status)),
      h("td", {}, o.message || (o.status === "OK" ? "Done" : ""), o.code && o.status !== "OK" ? h("code", {}, ` ${o.code}`) : null)))));
}

/** Shows an error from the service in a dialog (the message is written for people). */
export function showError(error, title = "That did not work") {
  return inform(title, h("p", { role: "alert" }, error.message), error.code ? h("p", { class: "muted" }, h("code", {}, error.code)) : null);
}

export { append };
