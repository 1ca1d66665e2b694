// Start-up: the token (pasted, or #token= from `lms-graph demo`), the viewer, the
// course picker, then the learners view of the chosen course.

import { forgetToken, gql, loadToken, saveToken, whenSignedOut } from "./api.js";
import { h, clear } from "./dom.js";
import { assignDialog, importDialog } from "./import.js";
import { LearnersView } from "./learners.js";
import { errorText } from "./wording.js";

const main = document.getElementById("main");
const picker = document.getElementById("course-picker");
const viewerName = document.getElementById("viewer");
const signOut = document.getElementById("sign-out");
let courses = [];
let view = null;

function signIn(message) {
  viewerName.textContent = "";
  signOut.hidden = true;
  picker.disabled = true;
  const token = h("textarea", { id: "token", rows: 3, required: true, spellcheck: "false", autocomplete: "off" });
  const form = h("form", { class: "sign-in", id: "sign-in" },
    h("h2", {}, "Sign in"),
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    h("p", {}, "Paste a bearer token: ", h("code", {}, "lms-graph demo"), " prints one, and ",
      h("code", {}, "lms-graph token EMAIL"), " makes one for any user. It is kept in this tab only."),
    h("label", { class: "field" }, h("span", {}, "Bearer token"), token),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveToken(token.value);
    start();
  });
  clear(main, form);
  token.focus();
}

whenSignedOut((error) => {
  forgetToken();
  signIn(errorText(error));
});

signOut.addEventListener("click", () => {
  forgetToken();
  signIn();
});

picker.addEventListener("change", () => showCourse(picker.value));

function showCourse(id) {
  const course = courses.find((c) => c.id === id);
  if (!course) return;
  const params = new URLSearchParams(location.hash.slice(1));
  params.set("course", id);
  history.replaceState(null, "", `#${params}`);
  // After an assignment or an import: the result announced, the list as it is now.
  const reload = (message) => {
    if (!view) return;
    if (message) view.announce(message);
    view.load();
  };
  view = new LearnersView(main, course, {
    onAssign: () => assignDialog(course, reload),
    onImport: () => importDialog(course, reload),
  });
}

async function start() {
  if (!loadToken()) return signIn();
  let data;
  try {
    data = await gql(`{
      viewer { name isAdmin }
      courseTypes { key label }
      courses(first: 100) { edges { node { id title kind courseType } } }
    }`);
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED") clear(main, h("p", { class: "error", role: "alert" }, errorText(error)));
    return;
  }
  if (!data.viewer) return signIn("This token is not valid any more.");
  viewerName.textContent = `${data.viewer.name}${data.viewer.isAdmin ? " (admin)" : ""}`;
  signOut.hidden = false;
  const labels = new Map(data.courseTypes.map((t) => [t.key, t.label]));
  courses = data.courses.edges.map(({ node }) => ({ ...node, courseTypeLabel: labels.get(node.courseType) }));
  clear(picker, courses.map((c) => h("option", { value: c.id }, c.title)));
  picker.disabled = courses.length === 0;
  if (!courses.length) return clear(main, h("p", {}, "There is no course you may manage yet."));
  const wanted = new URLSearchParams(location.hash.slice(1)).get("course");
  const first = courses.find((c) => c.id === wanted) || courses[0];
  picker.value = first.id;
  showCourse(first.id);
}

start();
