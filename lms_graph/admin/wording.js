// The one place where the API's words (outcome and error codes, param names, enum
// values, ISO dates) become sentences for people. Codes stay for the API: no other
// module shows one, and this one never shows one either.

import { count, formatDate, plural } from "./dom.js";

/** What an outcome's status reads as. */
export const STATUS_TEXT = { OK: "Done", SKIPPED: "Skipped", FAILED: "Failed" };

/** Param names as they read inside a sentence ("`dueDate` cannot be..."). */
const PARAM_WORDS = {
  dueDate: "the due date",
  sessionId: "the session",
  allowClash: "overlapping sessions",
  scope: "what to remove",
  message: "the message",
  note: "the note",
  search: "the search",
  assignment: "the assignment",
  userIds: "the users",
  courseId: "the course",
  enrollmentIds: "the learners",
};

/** Labels of params whose API label speaks to programs ("empty removes it"). */
const PARAM_LABELS = { dueDate: "Due date" };

/** The explicit choice that clears a required date (sent as null). */
const CLEAR_LABELS = { dueDate: "Remove the due date (the course becomes Optional)" };

/** Remove User's scopes, per what each does. SESSION and BOTH exist for ILT courses only. */
export const REMOVE_SCOPES = {
  COURSE: "From the course: the learner and everything they did in it",
  SESSION: "From their session only: they stay in the course, Not started, without a session",
  BOTH: "From the course and their session",
};
const SCOPE_SHORT = { COURSE: "from the course", SESSION: "from the session only", BOTH: "from the course and the session" };

/** Outcome codes whose API sentence is for programs: the words shown instead. */
const OUTCOME_TEXT = {
  SCHEDULE_CLASH: "The session overlaps another session this learner has a seat in. Tick “Allow overlapping sessions” to place them anyway.",
  STALE: "This learner changed while the action ran. Look again and retry.",
  NOT_FOUND: "This learner is no longer in the course.",
  BAD_SESSION_ID: "The session chosen does not exist.",
};

/** Error codes whose API sentence is not for people (or that have none). */
const ERROR_TEXT = {
  NETWORK: "The service cannot be reached. Check your connection, then try again.",
  TIMEOUT: "The service took too long to answer, and nothing was changed. Try again in a moment.",
  TRY_AGAIN: "The service was busy, and nothing was changed. Try again.",
  INTERNAL_SERVER_ERROR: "Something went wrong on the service, and nothing was changed. Try again in a moment.",
  GRAPHQL_VALIDATION_FAILED: "The service did not understand this page's request. Reload the page and try again.",
  GRAPHQL_PARSE_FAILED: "The service did not understand this page's request. Reload the page and try again.",
};

const ERROR_TITLES = {
  BAD_USER_INPUT: "Please check what you entered",
  FORBIDDEN: "Not allowed",
  NOT_FOUND: "Not found",
  CONFLICT: "Already done",
};

/** Bytes no text file has, or the marks a decoder leaves for them. */
const BINARY = /[\u0000-\u0008\u000e-\u001f\ufffd]/;
const BINARY_TEXT = "The file holds binary data, not text: it is not a CSV file. Save it as “CSV UTF-8” and upload it again.";

function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/**
 * A sentence from the service made fit for people: param names in words, enum values
 * and code names out, ISO dates in the page's one format, no control characters.
 */
export function humanText(text) {
  if (!text) return "";
  let out = String(text);
  if (BINARY.test(out)) return BINARY_TEXT;
  out = out
    .replace(/\s*\(\s*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\s*\)/g, "")
    .replace(/send allowClash: true/g, "allow overlapping sessions")
    .replace(/unless allowClash is true/g, "unless overlapping sessions are allowed")
    .replace(/with scope (COURSE|SESSION|BOTH)/g, (_, scope) => `“${SCOPE_SHORT[scope]}”`)
    .replace(/use scope (COURSE|SESSION|BOTH)/g, (_, scope) => `use “${SCOPE_SHORT[scope]}”`)
    .replace(/`(\w+)`/g, (_, name, at, whole) => {
      const words = PARAM_WORDS[name] || name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
      return at === 0 || /[.!?]\s+$/.test(whole.slice(0, at)) ? capitalize(words) : words;
    })
    .replace(/\b(\d{4}-\d{2}-\d{2})(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b/g, (_, iso) => formatDate(iso));
  return out.length > 400 ? `${out.slice(0, 397)}…` : out;
}

/** An outcome's sentence (never its code). */
export function outcomeText(outcome) {
  if (outcome.status === "OK") return humanText(outcome.message) || "Done.";
  return OUTCOME_TEXT[outcome.code] || humanText(outcome.message) || "Not done.";
}

/** What went wrong, for people; the code picks the words, it is never shown. */
export function errorText(error) {
  if (ERROR_TEXT[error.code]) return ERROR_TEXT[error.code];
  if (/^HTTP_5/.test(error.code || "")) return ERROR_TEXT.INTERNAL_SERVER_ERROR;
  return humanText(error.message) || "That did not work.";
}

export function errorTitle(error, fallback = "That did not work") {
  return ERROR_TITLES[error.code] || fallback;
}

/** A param's label and, for a required date, the words of the explicit choice to clear it. */
export function paramLabel(param) {
  return PARAM_LABELS[param.name] || param.label;
}

export function clearLabel(param) {
  return CLEAR_LABELS[param.name] || `No ${paramLabel(param).toLowerCase()}`;
}

/** An enum value as a choice ("SOME_VALUE" reads "Some value"). */
export function choiceLabel(param, value) {
  if (param.name === "scope" && REMOVE_SCOPES[value]) return REMOVE_SCOPES[value];
  const text = value.replaceAll("_", " ").toLowerCase();
  return capitalize(text);
}

/** "Alice Anderson" (one, named), "these 6 learners" (several). */
function who(subject) {
  return subject.count > 1 ? `these ${plural(subject.count, "learner")}` : subject.name || "this learner";
}

/** Remove User's confirmation, for the scope chosen: what happens, in those words. */
function removeConfirm(scope, subject) {
  const many = subject.count > 1;
  if (scope === "SESSION") {
    return {
      text: `${capitalize(who(subject))} will leave ${many ? "their sessions" : "their session"} (or waitlist) and stay in this course, Not started, without a session. ` +
        `Their progress and history are kept; ${many ? "each seat goes" : "the seat goes"} to the next learner on the waitlist.`,
      destructive: false,
      button: "Remove from Session",
    };
  }
  const seat = subject.courseType === "ilt" ? " Their session seat goes to the next learner on the waitlist." : "";
  return {
    text: `Remove ${who(subject)} from this course for good? Everything ${many ? "they" : "the learner"} did in it is deleted: ` +
      `progress, answers, certificates and history (an audit entry of the removal stays). This cannot be undone.${seat}`,
    destructive: true,
    button: "Remove User",
  };
}

/** The core's confirmations for several learners at once (the API's are about one). */
const CONFIRM_MANY = {
  reset_progress: (n) => `Reset the progress of ${n}? Their current attempt's work is cleared.`,
  mark_incomplete: (n) => `Take back the completion of ${n}, with their certificates and credits?`,
  unassign: (n) => `Unassign ${n}? Their current attempts and their progress are dropped.`,
  remove_instructor: (n) => `Remove the instructor rights of ${n} on this course?`,
  mark_no_show: (n) => `Mark ${n} as no-shows? Their seats go to other learners.`,
};

/**
 * What the form says before the button: { text, destructive, button } for the values
 * chosen so far. `subject` is { name, count, courseType }.
 */
export function confirmation(action, values, subject) {
  if (action.key === "remove") return removeConfirm(values.scope || "COURSE", subject);
  let text = action.confirm || (action.destructive ? "This cannot be undone." : null);
  if (text && subject.count > 1) {
    const n = `these ${plural(subject.count, "learner")}`;
    text = CONFIRM_MANY[action.key] ? CONFIRM_MANY[action.key](n)
      : text.replace(/\bthis learner's\b/g, `${n}'`).replace(/\bthis learner\b/g, n);
  }
  return { text: text && humanText(text), destructive: action.destructive, button: null };
}

/** The action's description, unless the form says it better (Remove: per scope). */
export function description(action) {
  return action.key === "remove" ? null : humanText(action.description);
}

/** What a run did, when its outcome has no sentence of its own (the status line says it). */
const DONE = {
  update_due_date: (params) => (params.dueDate
    ? `Due date: ${formatDate(params.dueDate)}.`
    : "Due date removed: the course is now Optional."),
};

export function doneText(action, params) {
  return DONE[action.key] ? DONE[action.key](params || {}) : "";
}

/** How a preview names what happens to the learners it fits ("37 will be reset"). */
const WILL_BE = {
  reset_progress: () => "will be reset",
  mark_complete: () => "will be marked as complete",
  mark_incomplete: () => "will be marked as incomplete",
  remove: (params) => (params.scope === "SESSION"
    ? "will leave their session and stay in the course, Not started"
    : "will be removed from the course for good"),
  unassign: () => "will be unassigned",
  update_due_date: (params) => (params.dueDate
    ? `will get the due date ${formatDate(params.dueDate)}`
    : "will have their due date removed (the course becomes Optional)"),
  change_session: (params, context) => `will be moved to ${context.sessionTitle || "the session"}`,
  mark_no_show: () => "will be marked as no-shows",
  make_instructor: () => "will be made instructors",
  remove_instructor: () => "will lose their instructor rights",
  generate_certificate: () => "will get a certificate",
  remove_certificate: () => "will lose their certificate",
};

/** "37 will be reset, 3 skipped: <reason>" (a preview) or "37 done, 3 skipped: <reason>". */
export function summary(action, run, future, params = {}, context = {}) {
  const effect = WILL_BE[action.key] ? WILL_BE[action.key](params || {}, context) : `will get ${action.label}`;
  const parts = [future ? `${count(run.succeeded)} ${effect}` : `${count(run.succeeded)} done`];
  for (const status of ["SKIPPED", "FAILED"]) {
    const reasons = new Map();
    for (const o of run.outcomes.filter((x) => x.status === status)) {
      const reason = outcomeText(o);
      reasons.set(reason, (reasons.get(reason) || 0) + 1);
    }
    for (const [reason, n] of reasons) parts.push(`${count(n)} ${status === "SKIPPED" ? "skipped" : "failed"}: ${reason}`);
  }
  return parts.join(", ");
}
