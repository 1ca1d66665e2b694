// What the VIEW items of a learner's menu open: history (with attempts and
// certificates), chapter insights, quiz insights (with the .xlsx), SCORM/xAPI activity.

import { gql } from "./api.js";
import { h, clear, download, formatDateTime, stateChip, stateLabel } from "./dom.js";
import { openDialog, scrollTable, showError, whileBusy } from "./dialogs.js";
import { humanText } from "./wording.js";

const VIEWS = {
  view_history: history,
  view_chapter_insights: chapterInsights,
  view_quiz_insights: quizInsights,
  view_activity: activity,
};

/** Open the view of a VIEW action (at once, busy until its data is there); an unknown
key (a plugin's) shows its description. */
export async function openView(action, row) {
  const view = VIEWS[action.key];
  const content = h("div", { class: "view-content" });
  const dialog = openDialog(`${action.label}: ${row.user.name}`, content, { wide: true });
  if (!view) return clear(content, h("p", {}, humanText(action.description) || "This view has no page in the dashboard yet."));
  const loaded = await whileBusy(dialog, `Loading ${action.label.replace(/^View /, "").toLowerCase()}…`, () => view(row));
  if (loaded.ok) clear(content, loaded.result);
}

function table(headings, rows, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return scrollTable(h("table", {},
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}

async function history(row) {
  const data = await gql(`query History($id: ID!) {
    enrollment(id: $id) {
      history { at action summary note actor { name } }
      attempts { number state progress startedAt completedAt }
    }
  }`, { id: row.id });
  const e = data.enrollment;
  return [
    table(["When", "What", "By", "Note"],
      e.history.map((event) => [formatDateTime(event.at), humanText(event.summary), event.actor ? event.actor.name : "", event.note || ""]),
      "Nothing has happened yet."),
    h("h3", {}, "Attempts"),
    table(["Attempt", "State", "Progress", "Started", "Completed"],
      e.attempts.map((a) => [String(a.number), stateChip(a.state), `${a.progress}%`, formatDateTime(a.startedAt), formatDateTime(a.completedAt)]),
      "No attempt yet."),
    h("h3", {}, "Certificates"),
    await certificates(row),
  ];
}

/** Certificates come from the certificates plugin: without it the section says so. */
async function certificates(row) {
  let data;
  try {
    data = await gql(`query Certificates($id: ID!) {
      enrollment(id: $id) { certificates { id code issuedAt attemptNumber expiresAt revokedAt valid downloadUrl } }
    }`, { id: row.id });
  } catch {
    return h("p", { class: "muted" }, "Certificates are not available on this service.");
  }
  return table(["Attempt", "Issued", "Code", "Status", ""],
    data.enrollment.certificates.map((c) => [
      String(c.attemptNumber), formatDateTime(c.issuedAt), h("code", {}, c.code),
      c.valid ? h("span", { class: "chip outcome-ok" }, "Valid") : h("span", { class: "chip outcome-skipped" }, c.revokedAt ? "Removed" : "Expired"),
      c.downloadUrl ? h("button", { type: "button", onclick: () => download(c.downloadUrl) }, "Download PDF") : "",
    ]),
    "No certificate yet.");
}

async function chapterInsights(row) {
  const data = await gql(`query Chapters($id: ID!) {
    enrollment(id: $id) { chapterInsights { chapter { title kind } status progress completedAt } }
  }`, { id: row.id });
  return table(["Chapter", "Kind", "Status", "Progress", "Completed"],
    data.enrollment.chapterInsights.map((c) => [c.chapter.title, c.chapter.kind.toLowerCase(), stateLabel(c.status),
      h("progress", { max: 100, value: c.progress, "aria-label": `${c.chapter.title} progress` }), formatDateTime(c.completedAt)]),
    "This course has no chapters.");
}

async function quizInsights(row) {
  const data = await gql(`query Quiz($id: ID!) {
    enrollment(id: $id) {
      quizExportUrl
      quizInsights { chapter { title } score maxScore answers { question { prompt choices } choice correct answeredAt } }
    }
  }`, { id: row.id });
  const e = data.enrollment;
  const exportButton = h("button", { type: "button", class: "primary", onclick: async () => {
    try {
      const fresh = await gql(`query QuizExport($id: ID!) { enrollment(id: $id) { quizExportUrl } }`, { id: row.id });
      download(fresh.enrollment.quizExportUrl);
    } catch (error) { showError(error); }
  } }, "Download quiz insights (.xlsx)");
  return [
    e.quizExportUrl ? h("p", {}, exportButton) : null,
    e.quizInsights.length ? e.quizInsights.map((quiz) => h("section", { class: "quiz" },
      h("h3", {}, `${quiz.chapter.title}: ${quiz.score} of ${quiz.maxScore}`),
      table(["Question", "Answer", "Result"], quiz.answers.map((a) => [
        a.question.prompt,
        a.choice === null ? "Not answered" : a.question.choices[a.choice],
        a.correct === null ? "" : h("span", { class: `chip outcome-${a.correct ? "ok" : "failed"}` }, a.correct ? "Correct" : "Wrong"),
      ]), "No questions."))) : h("p", { class: "muted" }, "This course has no quiz."),
  ];
}

/** SCORM/xAPI activity (admins only): statements and CMI commits, newest first. */
async function activity(row) {
  const data = await gql(`query Activity($id: ID!) {
    enrollment(id: $id) { activity(first: 100) { totalCount edges { node { kind at verb activityId data } } } }
  }`, { id: row.id });
  const list = data.enrollment.activity;
  const lastPart = (iri) => (iri ? iri.replace(/\/+$/, "").split(/[/#]/).pop() : "");
  const cmi = (values) => Object.entries(values || {}).map(([key, value]) => `${key} = ${JSON.stringify(value)}`).join("; ");
  return [
    h("p", { class: "muted" }, `${list.totalCount} entries${list.totalCount > 100 ? " (the latest 100 shown)" : ""}`),
    table(["When", "Source", "Verb", "Activity", "Data"],
      list.edges.map(({ node }) => [
        formatDateTime(node.at), node.kind === "CMI" ? "SCORM" : "xAPI",
        node.verb ? h("span", { title: node.verb }, lastPart(node.verb)) : "",
        node.activityId ? h("code", { title: node.activityId }, lastPart(node.activityId)) : "",
        node.kind === "CMI" ? cmi(node.data) : "",
      ]),
      "No activity yet."),
  ];
}

