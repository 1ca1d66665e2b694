// Modal dialogs (native <dialog>: focus stays inside, Escape closes) and the forms
// built from an action's declared params, so a plugin's action needs no dashboard change.
// A dialog shows the requests it waits for: aria-busy, its controls disabled, a
// progress indication and its words in a status region; the page's focus comes back
// to where it was, or to its replacement once the page has been drawn again.

import { h, append, busyIndicator, clear, focusByKey, formatDate, formatDateTime, today } from "./dom.js";
import {
  STATUS_TEXT, choiceLabel, clearLabel, confirmation, description, errorText, errorTitle, outcomeText, paramLabel,
} from "./wording.js";

let counter = 0;

/** Where focus goes when what had it is gone: the same control drawn again, else the learners. */
function returnFocus(opener) {
  if (opener && opener.isConnected) {
    if (document.activeElement !== opener) opener.focus();
    return;
  }
  if (opener && opener.dataset && focusByKey(opener.dataset.focus)) return;
  focusByKey("table") || (document.getElementById("main") && document.getElementById("main").focus());
}

/**
 * Open a modal; `done` resolves with the value given to close() (undefined when
 * dismissed). `busy(label)` shows a request under way and returns the function that
 * ends it; `fail(message)` shows what went wrong inside the dialog.
 */
export function openDialog(title, content, { wide = false, footer = [] } = {}) {
  const id = `dialog-title-${++counter}`;
  const opener = document.activeElement;
  const alert = h("p", { class: "error dialog-alert", role: "alert", hidden: true });
  const status = h("div", { class: "dialog-status", role: "status", "aria-live": "polite" });
  const body = h("div", { class: "dialog-body" }, content, alert);
  const el = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": id, tabindex: "-1" },
    h("header", {},
      h("h2", { id }, title),
      h("button", { type: "button", class: "icon", "aria-label": "Close", onclick: () => close() }, "×")),
    body,
    h("footer", { hidden: footer.length === 0 }, status, footer));
  let resolve;
  const done = new Promise((r) => (resolve = r));
  let value;
  let working = false;
  function close(result) {
    value = result;
    el.close();
  }
  el.addEventListener("cancel", (event) => {
    if (working) event.preventDefault(); // the request goes on: wait for its answer
  });
  el.addEventListener("close", () => {
    el.remove();
    returnFocus(opener);
    resolve(value);
  });
  function busy(label) {
    working = true;
    const focused = el.contains(document.activeElement) ? document.activeElement : null;
    const controls = [...el.querySelectorAll("button, input, select, textarea")].filter((c) => !c.disabled);
    for (const control of controls) control.disabled = true;
    el.setAttribute("aria-busy", "true");
    alert.hidden = true;
    el.querySelector("footer").hidden = false;
    clear(status, busyIndicator(label));
    el.focus(); // the focused button is disabled: keep focus inside the dialog
    return () => {
      working = false;
      el.removeAttribute("aria-busy");
      for (const control of controls) control.disabled = false;
      clear(status);
      el.querySelector("footer").hidden = footer.length === 0;
      if (el.open && focused && document.activeElement === el) focused.focus();
    };
  }
  function fail(message) {
    alert.textContent = message;
    alert.hidden = false;
    alert.scrollIntoView({ block: "nearest" });
  }
  document.body.append(el);
  el.showModal();
  return { el, body, close, done, busy, fail };
}

/**
 * Run `work` with the dialog busy (label: what is under way); resolves to its result,
 * or to undefined after showing the error inside the dialog (its controls back).
 */
export async function whileBusy(dialog, label, work) {
  const end = dialog.busy(label);
  try {
    const result = await work();
    end();
    return { ok: true, result };
  } catch (error) {
    end();
    dialog.fail(errorText(error));
    return { ok: false, error };
  }
}

/** A message with one OK button. */
export function inform(title, ...content) {
  const ok = h("button", { type: "button", class: "primary" }, "OK");
  const dialog = openDialog(title, content, { footer: [ok] });
  ok.addEventListener("click", () => dialog.close(true));
  ok.focus();
  return dialog.done;
}

let fields = 0;

/** A labelled input; its hint describes it (aria-describedby) without joining its name. */
function field(label, input, hint) {
  input.id = input.id || `field-${++fields}`;
  const small = hint ? h("small", { id: `${input.id}-hint` }, hint) : null;
  if (small) input.setAttribute("aria-describedby", small.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, small);
}

/**
 * One input per declared param: Date, String, ID (sessionId: a session picker),
 * Boolean, Enum. `current` pre-fills them (a learner's due date). A required Date is
 * never cleared by leaving it empty: clearing is its own choice, a checkbox that
 * sends null.
 */
export function paramInputs(params, { sessions = [], current = {}, onChange = () => {} } = {}) {
  const inputs = params.map((param) => {
    const name = `param-${param.name}`;
    const label = paramLabel(param);
    const value = current[param.name];
    let input;
    let element;
    let read = () => (input.value === "" ? null : input.value);
    if (param.choices && param.choices.length) {
      if (param.choices.length === 1 && !param.required) {
        // Only one thing it can be (Remove User on a self-paced course): nothing to choose.
        read = () => null;
        element = null;
      } else {
        const options = param.choices.map((choice, index) => h("label", { class: "check option" },
          h("input", { type: "radio", name, value: choice, checked: value ? value === choice : index === 0, onchange: onChange }),
          ` ${choiceLabel(param, choice)}`));
        input = options[0].querySelector("input");
        read = () => {
          const chosen = options.map((o) => o.querySelector("input")).find((radio) => radio.checked);
          return chosen ? chosen.value : null;
        };
        element = h("fieldset", { class: "choices" }, h("legend", {}, label), options);
      }
    } else if (param.type === "Date") {
      const past = value && value < today();
      input = h("input", { type: "date", name, min: today(), value: value || "", required: param.required, oninput: onChange });
      const hint = past ? `The current due date, ${formatDate(value)}, has passed: choose a new one${param.required ? ", or remove it" : ""}.`
        : value ? `Now ${formatDate(value)}.` : param.required ? null : "Optional";
      if (param.required) {
        // Required but nullable (update_due_date): null only through this explicit choice.
        const clearBox = h("input", { type: "checkbox", name: `${name}-clear`, onchange: () => {
          input.disabled = clearBox.checked;
          input.required = !clearBox.checked;
          onChange();
        } });
        read = () => (clearBox.checked ? null : input.value || null);
        element = h("div", { class: "date-choice" }, field(label, input, hint),
          h("label", { class: "check option" }, clearBox, ` ${clearLabel(param)}`));
      } else {
        element = field(label, input, hint);
      }
    } else if (param.type === "Boolean") {
      input = h("input", { type: "checkbox", name, checked: Boolean(value), onchange: onChange });
      read = () => input.checked;
      element = h("label", { class: "check option" }, input, ` ${label}`);
    } else if (param.type === "ID" && param.name === "sessionId") {
      input = h("select", { name, required: param.required, onchange: onChange },
        h("option", { value: "" }, sessions.length ? "Choose a session" : "No sessions yet"),
        sessions.map((s) => h("option", { value: s.id, selected: s.id === value, disabled: s.capacity != null && s.seatsTaken >= s.capacity },
          `${s.title} — ${formatDateTime(s.startsAt)}${s.location ? `, ${s.location}` : ""}` +
          (s.capacity != null ? ` (${s.seatsTaken} of ${s.capacity} seats taken)` : ""))));
      element = field(label, input);
    } else if (param.type === "String" && /message|note|reason|comment/i.test(param.name)) {
      input = h("textarea", { name, rows: 3, required: param.required, oninput: onChange }, value || "");
      element = field(label, input);
    } else {
      input = h("input", { type: "text", name, required: param.required, value: value || "", oninput: onChange });
      element = field(label, input);
    }
    return { param, element, read };
  });
  return {
    elements: inputs.map((i) => i.element),
    read() {
      const values = {};
      for (const { param, read } of inputs) values[param.name] = read();
      return values;
    },
  };
}

/**
 * The form of a mutation: its params (pre-filled with `current`), a note for the
 * history, and what will happen for the values chosen (Remove: per scope; several
 * learners: in the plural). `subject` is { name, count, courseType, text }. On submit
 * the dialog stays open, busy, while `onSubmit({params, note})` runs; resolves to its
 * result, or undefined when cancelled. Errors show inside the form.
 */
export function actionForm(action, subject, { sessions = [], current = {}, submitLabel, busyLabel, onSubmit } = {}) {
  const warning = h("p", { role: "note", class: "notice" });
  const submit = h("button", { type: "submit", class: "primary" });
  const inputs = paramInputs(action.params, { sessions, current, onChange: () => update() });
  const note = h("textarea", { name: "note", rows: 2 });
  const cancel = h("button", { type: "button" }, "Cancel");
  const info = description(action);
  const form = h("form", { class: "action-form" },
    h("p", { class: "subject" }, subject.text),
    info ? h("p", { class: "muted" }, info) : null,
    inputs.elements,
    field("Note for the history (optional)", note),
    warning,
    h("div", { class: "buttons" }, cancel, submit));
  function update() {
    const said = confirmation(action, inputs.read(), subject);
    warning.hidden = !said.text;
    warning.textContent = said.text || "";
    warning.className = said.destructive ? "warning" : "notice";
    submit.className = said.destructive ? "danger" : "primary";
    submit.textContent = submitLabel || said.button || action.label;
  }
  update();
  const dialog = openDialog(action.label, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = { params: inputs.read(), note: note.value.trim() || null };
    const run = await whileBusy(dialog, busyLabel || `${action.label}: working…`, () => onSubmit(values));
    if (run.ok) dialog.close(run.result);
  });
  (form.querySelector("input:not([type=radio]), select, textarea") || submit).focus();
  return dialog.done;
}

/** A table that scrolls sideways in its own box when the dialog is narrow. */
export function scrollTable(table) {
  return h("div", { class: "scroll-x" }, table);
}

/** Per-learner outcomes of a run, as a table: words, never codes. */
export function outcomesTable(outcomes, names) {
  return scrollTable(h("table", { class: "outcomes" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Learner"), h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col" }, "Details"))),
    h("tbody", {}, outcomes.map((o) => h("tr", {},
      h("td", {}, (o.enrollment && o.enrollment.user.name) || names.get(o.enrollmentId) || "A learner no longer listed"),
      h("td", {}, h("span", { class: `chip outcome-${o.status.toLowerCase()}` }, STATUS_TEXT[o.status] || o.status)),
      h("td", {}, outcomeText(o)))))));
}

/** Shows an error from the service in a dialog, in words for people. */
export function showError(error, title) {
  return inform(errorTitle(error, title), h("p", { role: "alert" }, errorText(error)));
}

export { append };
