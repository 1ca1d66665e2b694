// Small DOM and formatting helpers shared by the dashboard's modules.

/** h("button", {class: "x", onclick: fn}, "text", child): build an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const STATES = ["NOT_STARTED", "STARTED", "IN_PROGRESS", "ENROLLED_IN_SESSION", "COMPLETED"];

export function stateLabel(state) {
  const text = state.replaceAll("_", " ").toLowerCase();
  return text[0].toUpperCase() + text.slice(1);
}

/** A status chip: colour and text, never colour alone. */
export function stateChip(state) {
  return h("span", { class: `chip state-${state.toLowerCase()}` }, stateLabel(state));
}

export function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** One date format everywhere ("Dec 20, 2026"); times add the hour to the same. */
const DATE = { year: "numeric", month: "short", day: "numeric" };

export function formatDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, DATE);
}

export function formatDateTime(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { ...DATE, hour: "numeric", minute: "2-digit" }) : "";
}

/** "1,234": counts people read. */
export function count(n) {
  return Number(n).toLocaleString();
}

export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** "1st", "2nd", "3rd", "4th"... */
export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

/** A progress indication for a request under way: an indeterminate bar and its words. */
export function busyIndicator(label) {
  return h("span", { class: "busy" }, h("progress", { "aria-label": label }), h("span", {}, label));
}

/** Focus the element marked data-focus=key (when it can take focus); true when done. */
export function focusByKey(key, root = document) {
  if (!key) return false;
  const el = root.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (!el || el.disabled || el.closest("[hidden]") || !el.isConnected) return false;
  el.focus();
  return document.activeElement === el;
}

/** Start a download of a same-origin link (signed URLs carry their own token). */
export function download(url) {
  const link = h("a", { href: url, download: "" });
  document.body.append(link);
  link.click();
  link.remove();
}

/** A key that makes a real run safe to send twice (the server replays the first result). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
