// The only way the dashboard talks to the service: /graphql with a bearer token, the
// import upload and signed download links. Errors carry the server's extensions.code.

const TOKEN_KEY = "lms-graph.token";

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || "ERROR";
  }
}

/** The token from `#token=...` (then removed from the address bar) or this tab's storage. */
export function loadToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromHash = params.get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim().replace(/^Bearer\s+/i, ""));
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

let onUnauthenticated = () => {};
export function whenSignedOut(callback) {
  onUnauthenticated = callback;
}

function fail(message, code) {
  const error = new ApiError(message, code);
  if (code === "UNAUTHENTICATED") onUnauthenticated(error);
  throw error;
}

/** Run a GraphQL operation; resolves to `data`, rejects with the first error. */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    fail("The service cannot be reached. Check that it is running.", "NETWORK");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    fail(`The service answered ${response.status} without JSON.`, `HTTP_${response.status}`);
  }
  if (body.errors && body.errors.length) {
    const [first] = body.errors;
    fail(first.message, first.extensions && first.extensions.code);
  }
  if (!response.ok) fail(`The service answered ${response.status}.`, `HTTP_${response.status}`);
  return body.data;
}

/** POST /imports/assignments?courseId=: the CSV as a form upload; resolves to the report. */
export async function uploadAssignments(courseId, file, fields) {
  const form = new FormData();
  form.append("file", file);
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined && value !== "") form.append(name, value);
  }
  let response;
  try {
    response = await fetch(`/imports/assignments?courseId=${encodeURIComponent(courseId)}`, {
      method: "POST",
      headers: headers({ Accept: "application/json" }),
      body: form,
    });
  } catch {
    fail("The service cannot be reached. Check that it is running.", "NETWORK");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) fail(body.error || `The upload failed (${response.status}).`, body.code);
  return body;
}
